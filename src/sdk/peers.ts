// FogPeers: what belongs to the page rather than to one video — the coordinator link and the
// node pool (one peer connection + data channel per fog node). Chunks are named by hash, so a
// connection is not tied to a content: clients created with `{ peers }` share one FogPeers and
// the next video on the page reuses the data channels the last one opened, instead of paying
// ICE + DTLS + SCTP again. A client created without `peers` opens its own and closes it with
// itself.
import { resolvePeersConfig, type PeersConfig, type PeersOptions } from "./config";
import { CoordinatorLink } from "./coordinator-link";
import { NodePool } from "./node-pool";
import { openApp, type AppChannel, type AppChannelOptions } from "./app-channel"; // apps

export class FogPeers {
  readonly config: PeersConfig;
  readonly coord: CoordinatorLink;
  readonly pool: NodePool;
  private readonly warned = new Set<(detail: string) => void>();
  private closed = false;

  constructor(opts: PeersOptions) {
    const cfg = resolvePeersConfig(opts);
    this.config = cfg;
    this.coord = new CoordinatorLink({
      url: cfg.coordinator,
      timeoutMs: cfg.coordinatorTimeoutMs,
      reconnectMinMs: cfg.reconnectMinMs,
      reconnectMaxMs: cfg.reconnectMaxMs,
      webSocket: cfg.webSocket ?? globalThis.WebSocket,
      onCandidate: (s, c, m) => this.pool.addCandidate(s, c, m),
      onWarning: (detail) => {
        for (const w of this.warned) w(detail);
      },
    });
    this.pool = new NodePool(this.coord, {
      peerConnection: cfg.peerConnection ?? globalThis.RTCPeerConnection,
      iceServers: cfg.iceServers,
      connectTimeoutMs: cfg.connectTimeoutMs,
      chunkTimeoutMs: cfg.chunkTimeoutMs,
      idleCloseMs: cfg.idleCloseMs,
      badNodeMs: cfg.badNodeMs,
      onRtt: (node, rttMs) =>
        this.coord.rtt([{ target: node, rttMs: Math.min(60_000, Math.max(0, rttMs)) }]),
    });
  }

  /** apps: a channel to edge-compute app `name` on the node running it (app-channel.ts). */
  app(name: string, o: AppChannelOptions = {}): Promise<AppChannel> {
    return openApp(this, name, o);
  }

  /** The coordinator link's warnings (reconnects, protocol errors); returns an unsubscribe. */
  onWarning(cb: (detail: string) => void): () => void {
    this.warned.add(cb);
    return () => this.warned.delete(cb);
  }

  /** Close every peer connection and the coordinator link. Clients using it stop working. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.warned.clear();
    this.pool.close();
    this.coord.close();
  }
}

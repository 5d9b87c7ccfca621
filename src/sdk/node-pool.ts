// One peer connection + data channel per fog node, reused across segments. Opening: the SDK is
// the offerer; createDataChannel("pear-fog-chunks") (ordered, reliable), createOffer, the offer
// goes to the node through the coordinator, the answer (pear-fogd runs full ICE, controlled:
// host + server-reflexive candidates inside) is applied, and candidates gathered later
// (srflx, TURN relay) trickle to the node through the coordinator. Idle connections are closed; a node that fails is skipped for a while.
import { ChunkClient, type DataChannelLike } from "./chunk-client";
import type { PeerConnectionCtor } from "./config";

/** Data channel label the node accepts. */
export const CHUNK_CHANNEL_LABEL = "pear-fog-chunks";

/** Relays an offer to a node and returns its answer (CoordinatorLink in production). */
export interface Signaller {
  offer(session: string, node: string, sdp: string): Promise<string>;
  dropSession(session: string): void;
  /** Trickle a local candidate to the node of `session` (RFC 8838); optional. */
  candidate?(session: string, candidate: string, mid: string | undefined): void;
  /** ICE servers the coordinator handed out (STUN, TURN with fresh credentials); optional. */
  iceServers?(): RTCIceServer[];
}

export interface NodePoolOptions {
  peerConnection: PeerConnectionCtor;
  iceServers: RTCIceServer[];
  connectTimeoutMs: number;
  chunkTimeoutMs: number;
  idleCloseMs: number;
  badNodeMs: number;
  now?: () => number;
  /** Measured RTT to a node after its channel opened, milliseconds. */
  onRtt?: (node: string, rttMs: number) => void;
}

/** Opening a connection to a node failed. */
export class NodeConnectError extends Error {
  constructor(
    readonly node: string,
    readonly detail: string,
  ) {
    super(`node ${node}: ${detail}`);
    this.name = "NodeConnectError";
  }
}

interface Conn {
  node: string;
  session: string;
  pc: RTCPeerConnection;
  client: Promise<ChunkClient>;
  lastUsed: number;
  /** apps: open app channels on it (app-channel.ts); not closed as idle while > 0. */
  holds: number;
}

let sessionCounter = 0;

function newSessionId(): string {
  const rnd = new Uint8Array(9);
  globalThis.crypto.getRandomValues(rnd);
  let s = "";
  for (const b of rnd) s += b.toString(16).padStart(2, "0");
  return `s${(++sessionCounter).toString(36)}-${s}`;
}

export class NodePool {
  private readonly conns = new Map<string, Conn>();
  private readonly badUntil = new Map<string, number>();
  private readonly sessions = new Map<string, Conn>();
  private readonly sweep: ReturnType<typeof setInterval>;
  private readonly now: () => number;

  constructor(
    private readonly coord: Signaller,
    private readonly opts: NodePoolOptions,
  ) {
    this.now = opts.now ?? (() => Date.now());
    this.sweep = setInterval(
      () => this.closeIdle(),
      Math.max(1000, Math.floor(opts.idleCloseMs / 2)),
    );
  }

  /** False while a node is marked bad. */
  usable(node: string): boolean {
    const until = this.badUntil.get(node);
    if (until === undefined) return true;
    if (this.now() >= until) {
      this.badUntil.delete(node);
      return true;
    }
    return false;
  }

  /** Stop using `node` for `ms` (default badNodeMs) and close its connection. */
  markBad(node: string, ms = this.opts.badNodeMs): void {
    this.badUntil.set(node, this.now() + ms);
    this.closeNode(node);
  }

  /** A ChunkClient on an open channel to `node`; opens the connection if needed. */
  client(node: string): Promise<ChunkClient> {
    let c = this.conns.get(node);
    if (!c) {
      c = this.open(node);
      this.conns.set(node, c);
    }
    c.lastUsed = this.now();
    return c.client;
  }

  /**
   * apps: a new data channel `label` (ordered, reliable) on the connection to `node`, opened
   * if needed; the connection is not closed as idle until `release()` (app-channel.ts).
   */
  async channel(node: string, label: string): Promise<{ dc: RTCDataChannel; release(): void }> {
    await this.client(node);
    const c = this.conns.get(node);
    if (!c) throw new NodeConnectError(node, "connection closed");
    const dc = c.pc.createDataChannel(label, { ordered: true });
    c.holds++;
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      c.holds--;
      c.lastUsed = this.now();
    };
    return { dc, release };
  }

  /** Candidate relayed from a node for one of our sessions. */
  addCandidate(session: string, candidate: string, mid: string | undefined): void {
    const c = this.sessions.get(session);
    if (!c) return;
    c.pc.addIceCandidate({ candidate, sdpMid: mid ?? "0" }).catch(() => undefined);
  }

  /** Nodes with an open or opening connection. */
  connected(): string[] {
    return [...this.conns.keys()];
  }

  close(): void {
    clearInterval(this.sweep);
    for (const node of [...this.conns.keys()]) this.closeNode(node);
  }

  private open(node: string): Conn {
    const session = newSessionId();
    const pc = new this.opts.peerConnection({
      iceServers: [...this.opts.iceServers, ...(this.coord.iceServers?.() ?? [])],
    });
    // Trickle ICE (RFC 8838): candidates found after the offer (server-reflexive, relayed)
    // go to the node through the coordinator once its answer shows the session exists there.
    let answered = false;
    const pending: { candidate: string; mid: string | undefined }[] = [];
    const trickle = (candidate: string, mid: string | undefined) =>
      this.coord.candidate?.(session, candidate, mid);
    pc.addEventListener("icecandidate", (ev: RTCPeerConnectionIceEvent) => {
      const c = ev.candidate;
      if (!c || !c.candidate) return;
      if (answered) trickle(c.candidate, c.sdpMid ?? undefined);
      else pending.push({ candidate: c.candidate, mid: c.sdpMid ?? undefined });
    });
    const started = this.now();
    // `conn` is only read from callbacks, which run after it is assigned below.
    // eslint-disable-next-line prefer-const
    let conn: Conn;
    const client = new Promise<ChunkClient>((resolve, reject) => {
      const dc = pc.createDataChannel(CHUNK_CHANNEL_LABEL, { ordered: true });
      dc.binaryType = "arraybuffer";
      const timer = setTimeout(
        () => fail(`no open data channel after ${this.opts.connectTimeoutMs} ms`),
        this.opts.connectTimeoutMs,
      );
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new NodeConnectError(node, why));
        if (this.conns.get(node) === conn) this.closeNode(node);
      };
      dc.addEventListener("open", () => {
        clearTimeout(timer);
        // RTCDataChannel.send is typed for ArrayBuffer-backed views only; the chunk protocol
        // encoders allocate fresh ArrayBuffers, so the structural cast is sound.
        const client = new ChunkClient(dc as unknown as DataChannelLike, {
          requestTimeoutMs: this.opts.chunkTimeoutMs,
        });
        dc.addEventListener("close", () => {
          if (this.conns.get(node) === conn) this.closeNode(node);
        });
        resolve(client);
        this.measureRtt(node, pc, this.now() - started);
      });
      dc.addEventListener("close", () => fail("data channel closed"));
      pc.addEventListener("connectionstatechange", () => {
        if (pc.connectionState === "failed") fail("ICE/DTLS failed");
      });
      (async () => {
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        const sdp = pc.localDescription?.sdp ?? offer.sdp ?? "";
        const answer = await this.coord.offer(session, node, sdp);
        await pc.setRemoteDescription({ type: "answer", sdp: answer });
        answered = true;
        for (const p of pending.splice(0)) trickle(p.candidate, p.mid);
      })().catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
    });
    conn = { node, session, pc, client, lastUsed: 0, holds: 0 };
    this.sessions.set(session, conn);
    // Rejections are handled by whoever awaits client(); this one only avoids an unhandled
    // rejection when nobody is waiting any more.
    client.catch(() => undefined);
    return conn;
  }

  private measureRtt(node: string, pc: RTCPeerConnection, fallbackMs: number): void {
    if (!this.opts.onRtt) return;
    pc.getStats()
      .then((report) => {
        let rtt: number | undefined;
        report.forEach((s: { type?: string; state?: string; currentRoundTripTime?: number }) => {
          if (
            s.type === "candidate-pair" &&
            s.state === "succeeded" &&
            typeof s.currentRoundTripTime === "number"
          ) {
            rtt = s.currentRoundTripTime * 1000;
          }
        });
        // Without a candidate-pair RTT, the connect time over ~3 round trips is an upper bound.
        this.opts.onRtt?.(node, rtt ?? fallbackMs / 3);
      })
      .catch(() => undefined);
  }

  private closeIdle(): void {
    const limit = this.now() - this.opts.idleCloseMs;
    for (const c of [...this.conns.values()]) {
      if (c.lastUsed >= limit || c.holds > 0) continue;
      // Only close when nothing is in flight on it.
      void c.client.then(
        (client) => {
          if (client.inflight === 0 && c.lastUsed < limit) this.closeNode(c.node);
        },
        () => undefined,
      );
    }
  }

  private closeNode(node: string): void {
    const c = this.conns.get(node);
    if (!c) return;
    this.conns.delete(node);
    this.sessions.delete(c.session);
    this.coord.dropSession(c.session);
    void c.client.then(
      (client) => client.close(),
      () => undefined,
    );
    try {
      c.pc.close();
    } catch {
      /* already closed */
    }
  }
}

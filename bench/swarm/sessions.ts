// The two delivery paths a viewer session can use: the SDK's FogClient on Node (@roamhq/wrtc
// peer connections, `ws` for the coordinator socket; the same injection as
// test/sdk/client-node.test.ts), and plain HTTP from the origin (the anchor). Both verify the
// bytes: the SDK per chunk against the signed manifest, the HTTP path by the SHA-256 of the
// whole segment.
import { createHash } from "node:crypto";
import wrtc from "@roamhq/wrtc";
import WebSocket from "ws";
import { FogClient } from "../../src/sdk/client";
import { FogPeers } from "../../src/sdk/peers";
import type { PeerConnectionCtor } from "../../src/sdk/config";
import type { StatsSnapshot } from "../../src/sdk/stats";
import type { Item } from "./catalogue";
import type { OpenSession, Session } from "./viewer";

/** Messages over the browsers' coordinator sockets (client side: sent + received). */
export const coordinatorMessages = { sent: 0, received: 0 };

/** RTCPeerConnections the fog sessions created (each one an ICE + DTLS + SCTP set-up). */
export const peerConnections = { created: 0 };

/** wrtc's RTCPeerConnection, counted. */
class CountingPeerConnection extends wrtc.RTCPeerConnection {
  constructor(...args: ConstructorParameters<typeof wrtc.RTCPeerConnection>) {
    super(...args);
    peerConnections.created++;
  }
}

/** Chunks that fell back to HTTP in fog sessions, by the SDK's reason. */
export const fallbackReasons: Record<string, number> = {};

/** `ws` WebSocket that counts the messages it carries. */
class CountingWebSocket extends WebSocket {
  constructor(address: string, protocols?: string | string[]) {
    super(address, protocols);
    this.on("message", () => coordinatorMessages.received++);
    const send = this.send.bind(this) as (data: unknown) => void;
    this.send = ((data: unknown) => {
      coordinatorMessages.sent++;
      send(data);
    }) as WebSocket["send"];
  }
}

export class SegmentMismatchError extends Error {
  constructor(readonly url: string) {
    super(`segment ${url}: SHA-256 mismatch`);
    this.name = "SegmentMismatchError";
  }
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** HTTP only: one GET per segment from the origin, whole-segment SHA-256 checked. */
export const openHttpSession: OpenSession = async (item: Item) => {
  const digest = new Map(item.segments.map((s) => [s.url, s.sha256]));
  const session: Session = {
    async fetch(url) {
      const r = await fetch(url);
      if (!r.ok) throw new Error(`GET ${url}: HTTP ${r.status}`);
      const bytes = new Uint8Array(await r.arrayBuffer());
      if (sha256(bytes) !== digest.get(url)) throw new SegmentMismatchError(url);
      return { bytesFog: 0, bytesHttp: bytes.length, fallbackChunks: 0, steals: 0 };
    },
    close() {},
  };
  return session;
};

const fallbackSum = (s: StatsSnapshot) => Object.values(s.fallbacks).reduce((a, b) => a + b, 0);

/**
 * Fog first via the SDK; the SDK falls back to HTTP per chunk. With `sharePeers`, each viewer
 * keeps one FogPeers across its items (as a page does); `close()` ends them after the phase.
 */
export function fogSessionOpener(
  coordinatorWs: string,
  publisher: string,
  sharePeers: boolean,
): OpenSession & { close(): void } {
  const connection = {
    coordinator: coordinatorWs,
    peerConnection: CountingPeerConnection as unknown as PeerConnectionCtor,
    webSocket: CountingWebSocket as unknown as typeof globalThis.WebSocket,
  };
  const perViewer = new Map<number, FogPeers>();
  const peersOf = (viewer: number) => {
    let p = perViewer.get(viewer);
    if (!p) perViewer.set(viewer, (p = new FogPeers(connection)));
    return p;
  };
  const open = async (item: Item, viewer: number) => {
    const client = new FogClient({
      ...(sharePeers ? { peers: peersOf(viewer) } : connection),
      manifestUrl: item.manifestUrl,
      publisher,
      statsIntervalMs: 0,
    });
    if (!(await client.ready())) {
      client.destroy();
      throw new Error(`manifest of v${item.index} not verified`);
    }
    const session: Session = {
      async fetch(url, bufferAheadS) {
        const before = client.stats();
        const bytes = await client.fetch(url, { deadlineMs: client.deadlineFor(bufferAheadS) });
        const after = client.stats();
        const bytesFog = after.bytesFog - before.bytesFog;
        const bytesHttp = after.bytesHttp - before.bytesHttp;
        if (bytesFog + bytesHttp !== bytes.length) {
          throw new Error(`${url}: stats say ${bytesFog + bytesHttp} bytes, got ${bytes.length}`);
        }
        for (const [k, n] of Object.entries(after.fallbacks)) {
          const d = n - (before.fallbacks[k as keyof typeof before.fallbacks] ?? 0);
          if (d) fallbackReasons[k] = (fallbackReasons[k] ?? 0) + d;
        }
        return {
          bytesFog,
          bytesHttp,
          fallbackChunks: fallbackSum(after) - fallbackSum(before),
          steals: after.steals - before.steals,
        };
      },
      close: () => client.destroy(),
    };
    return session;
  };
  return Object.assign(open, {
    close() {
      for (const p of perViewer.values()) p.close();
      perViewer.clear();
    },
  });
}

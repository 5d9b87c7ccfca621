// Browser side of app channels for test/apps/messages.test.ts and bench/edge.ts: a data channel
// "pear-fog-app:<name>" on a wrtc peer connection that records what arrives, and two apps (an
// echo, a pusher that sends as fast as its upload allowance lets it).
import type { WrtcDc, WrtcPeer } from "../support/wrtc-peer";

/** An app channel on a wrtc peer, recording what arrives and when it closes. */
export interface AppChan {
  dc: WrtcDc;
  got: { at: number; text: string }[];
  closed: Promise<void>;
  /** Resolves once `n` messages have arrived (no polling: for timing). */
  received(n: number): Promise<void>;
  isClosed(): boolean;
}

export async function openAppChannel(peer: WrtcPeer, label: string): Promise<AppChan> {
  const dc = peer.pc.createDataChannel(label, { ordered: true });
  const got: { at: number; text: string }[] = [];
  let isClosed = false;
  // libwebrtc (wrtc) fires no close event for a channel the node closed before its open event
  // reached JS (readyState goes "closed" silently), so the state is polled as well.
  const closed = new Promise<void>((r) => {
    const end = (): void => {
      clearInterval(poll);
      isClosed = true;
      r();
    };
    const poll = setInterval(() => {
      if (dc.readyState === "closed") end();
    }, 20);
    dc.onclose = end;
  });
  dc.onmessage = (e: { data: unknown }) => {
    got.push({ at: performance.now(), text: String(e.data) });
    for (const w of [...waiters]) {
      if (got.length >= w.n) {
        waiters.delete(w);
        w.resolve();
      }
    }
  };
  const waiters = new Set<{ n: number; resolve: () => void }>();
  const received = (n: number): Promise<void> =>
    got.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.add({ n, resolve }));
  // On a connected peer connection libwebrtc opens a new channel at once (readyState "open",
  // no open event) or a moment later (an open event); a channel the node refuses may close
  // before either (its {"close": …} notice still arrives first, then no event at all).
  await new Promise<void>((resolve, reject) => {
    if (dc.readyState === "open") return resolve();
    const t = setTimeout(() => reject(new Error(`${label} did not open`)), 10_000);
    const done = (): void => {
      clearTimeout(t);
      resolve();
    };
    dc.onopen = done;
    void closed.then(done);
  });
  return { dc, got, closed, received, isClosed: () => isClosed };
}

/** Echoes each browser message back: {"echo": data}. */
export const ECHO_APP = `
pear.onMessage((msg) => {
  const b = msg.browser;
  if (b && b.data !== undefined) pear.send(b.id, { echo: b.data });
});`;

// Pushes ~4 KB messages, as fast as its allowance lets it, to every browser that sent it a
// message (any): a browser can only send once its side of the channel is open. (Pushing from
// the open event on, @roamhq/wrtc once delivered the first pushes out of order, [2, 0, 3, 1, …]:
// messages that reach it while it is still setting the channel up take another path.)
export const PUSHER_APP = `
const peers = new Set();
const blob = "x".repeat(4000);
let seq = 0, scheduled = false;
function pump() {
  scheduled = false;
  while (peers.size > 0) {
    for (const id of peers) {
      try {
        pear.send(id, { seq: seq++, blob });
      } catch (e) {
        if (e.code === "over_allowance" || e.code === "over_total" || e.code === "busy") {
          scheduled = true;
          setTimeout(pump, e.retryMs || 5);
          return;
        }
        throw e;
      }
    }
  }
}
pear.onMessage((msg) => {
  const b = msg.browser;
  if (!b) return;
  if (b.data !== undefined) peers.add(b.id);
  if (b.close) peers.delete(b.id);
  if (!scheduled) pump();
});`;

// Anchor sender for bench/gateway.ts, one Node child process per anchor so its CPU and RSS can
// be read alone. argv[2] = "libwebrtc" (@roamhq/wrtc) or "libdatachannel" (node-datachannel).
// It is the answering peer: the bench's receiver (wrtc, parent process) creates the offer and the
// data channel; this process answers, relays ICE candidates over the IPC channel and, on "send",
// pushes the bytes in the same framing pear-fogd uses for chunk responses (DATA messages of at
// most 65536 bytes: 16-byte header + up to 65520 payload bytes per message).
//
// CPU: process.cpuUsage() delta from "send" to the parent's "done" (receiver got every byte).
// Nothing is subtracted: the Node runtime's own overhead (event loop, IPC) is included, which
// flatters pear-fogd slightly in the comparison.
import wrtc from "@roamhq/wrtc";
import nodeDataChannel from "node-datachannel";
import { readFileSync } from "node:fs";

export type Anchor = "libwebrtc" | "libdatachannel";

/** Parent → child. */
export type ToSender =
  | { t: "offer"; id: number; sdp: string }
  | { t: "cand"; id: number; cand: string; mid: string }
  | { t: "send"; id: number; chunks: number; chunkBytes: number }
  | { t: "done"; id: number }
  | { t: "close"; id: number }
  | { t: "warmup" }
  | { t: "rss" }
  | { t: "exit" };

/** Child → parent. */
export type FromSender =
  | { t: "answer"; id: number; sdp: string }
  | { t: "cand"; id: number; cand: string; mid: string }
  | { t: "sent"; id: number }
  | { t: "cpu"; id: number; cpuMs: number }
  | { t: "rss"; kib: number }
  | { t: "warm" }
  | { t: "error"; message: string };

export const SENDER_DEFAULTS = {
  /** Payload bytes per DATA message (pear-fogd's default frame 65536 − 16-byte header). */
  framePayload: 65_520,
  /** DATA header bytes, as in the chunk protocol. */
  frameHeader: 16,
  /** Sender keeps its data channel's bufferedAmount under this, bytes. */
  highWater: 1 << 20,
  /** bufferedAmount poll period when above highWater, milliseconds. */
  pollMs: 1,
} as const;

interface SendChannel {
  buffered(): number;
  send(b: Uint8Array): void;
}

interface Conn {
  close(): void;
  addCandidate(cand: string, mid: string): void;
  channel: Promise<SendChannel>;
}

const anchor = process.argv[2] as Anchor;
const conns = new Map<number, Conn>();
const sendStart = new Map<number, NodeJS.CpuUsage>();

function post(m: FromSender): void {
  process.send!(m);
}

function rssKib(): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

function wrtcAnswer(id: number, sdp: string): Conn {
  const pc = new wrtc.RTCPeerConnection();
  pc.onicecandidate = (ev) => {
    if (ev.candidate?.candidate)
      post({ t: "cand", id, cand: ev.candidate.candidate, mid: ev.candidate.sdpMid ?? "0" });
  };
  const channel = new Promise<SendChannel>((resolve) => {
    pc.ondatachannel = (ev) => {
      const dc = ev.channel;
      const ready = () =>
        resolve({ buffered: () => dc.bufferedAmount, send: (b) => dc.send(b as never) });
      if (dc.readyState === "open") ready();
      else dc.onopen = ready;
    };
  });
  void (async () => {
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    post({ t: "answer", id, sdp: pc.localDescription!.sdp });
  })().catch((e: unknown) => post({ t: "error", message: String(e) }));
  return {
    close: () => pc.close(),
    addCandidate: (cand, mid) =>
      void pc.addIceCandidate({ candidate: cand, sdpMid: mid }).catch(() => undefined),
    channel,
  };
}

function ndcAnswer(id: number, sdp: string): Conn {
  // ICE bound to loopback (README: bindAddress); the receiver's candidates come over IPC.
  const pc = new nodeDataChannel.PeerConnection(`s${id}`, {
    iceServers: [],
    bindAddress: "127.0.0.1",
  });
  pc.onLocalDescription((d, type) => {
    if (type.toLowerCase() === "answer") post({ t: "answer", id, sdp: d });
  });
  pc.onLocalCandidate((cand, mid) => post({ t: "cand", id, cand, mid }));
  const channel = new Promise<SendChannel>((resolve) => {
    pc.onDataChannel((dc) => {
      const ready = () =>
        resolve({ buffered: () => dc.bufferedAmount(), send: (b) => dc.sendMessageBinary(b) });
      if (dc.isOpen()) ready();
      else dc.onOpen(ready);
    });
  });
  pc.setRemoteDescription(sdp, "offer" as never);
  return {
    close: () => pc.close(),
    addCandidate: (cand, mid) => pc.addRemoteCandidate(cand, mid),
    channel,
  };
}

async function send(conn: Conn, chunks: number, chunkBytes: number): Promise<void> {
  const { framePayload, frameHeader, highWater, pollMs } = SENDER_DEFAULTS;
  const ch = await conn.channel;
  // One preallocated buffer per message size; the header's req_id/offset fields are written per
  // message so the sender does the same per-message work as a real chunk responder would.
  const full = new Uint8Array(frameHeader + framePayload);
  const tailLen = chunkBytes % framePayload;
  const tail = new Uint8Array(frameHeader + tailLen);
  for (let c = 0; c < chunks; c++) {
    for (let off = 0; off < chunkBytes; off += framePayload) {
      const n = Math.min(framePayload, chunkBytes - off);
      const msg = n === framePayload ? full : tail;
      const v = new DataView(msg.buffer);
      v.setUint8(0, 1);
      v.setUint8(1, 0x81);
      v.setUint8(2, off + n === chunkBytes ? 1 : 0);
      v.setUint32(4, c + 1);
      v.setUint32(8, off);
      v.setUint32(12, chunkBytes);
      while (ch.buffered() > highWater) await new Promise((r) => setTimeout(r, pollMs));
      ch.send(msg);
    }
  }
}

process.on("message", (m: ToSender) => {
  switch (m.t) {
    case "offer":
      conns.set(m.id, anchor === "libwebrtc" ? wrtcAnswer(m.id, m.sdp) : ndcAnswer(m.id, m.sdp));
      break;
    case "cand":
      conns.get(m.id)?.addCandidate(m.cand, m.mid);
      break;
    case "send": {
      const conn = conns.get(m.id)!;
      sendStart.set(m.id, process.cpuUsage());
      send(conn, m.chunks, m.chunkBytes).then(
        () => post({ t: "sent", id: m.id }),
        (e: unknown) => post({ t: "error", message: String(e) }),
      );
      break;
    }
    case "done": {
      const d = process.cpuUsage(sendStart.get(m.id));
      post({ t: "cpu", id: m.id, cpuMs: (d.user + d.system) / 1000 });
      break;
    }
    case "close":
      conns.get(m.id)?.close();
      conns.delete(m.id);
      break;
    case "warmup": {
      // Load the stack: one peer connection object created and closed.
      if (anchor === "libwebrtc") new wrtc.RTCPeerConnection().close();
      else new nodeDataChannel.PeerConnection("warm", { iceServers: [] }).close();
      post({ t: "warm" });
      break;
    }
    case "rss":
      post({ t: "rss", kib: rssKib() });
      break;
    case "exit":
      // No nodeDataChannel.cleanup(): in node-datachannel 0.33.4 it trips a N-API assertion
      // (napi_release_threadsafe_function on a null function) after peers were closed.
      for (const c of conns.values()) c.close();
      process.exit(0);
  }
});

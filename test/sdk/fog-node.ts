// A fog node played by Node for SDK tests: a real WebRTC peer (@roamhq/wrtc, libwebrtc) that
// registers with the coordinator like pear-fogd's agent (node.hello → challenge → auth,
// heartbeats with its inventory), answers relayed offers, and serves the chunk protocol
// (server side of src/sdk/chunk-protocol.ts) from an in-memory chunk map. It can be told to
// corrupt chunks, to be slow, or to refuse.
import wrtc from "@roamhq/wrtc";
import WebSocket from "ws";
import { base64urlEncode } from "../../src/coordinator/signature";
import { ed25519Sign, generateKeyPair, type KeyPair } from "../../src/protocol/ed25519";
import { hexEncode } from "../../src/protocol/hex";
import { nodeAuthPayload } from "../../src/protocol/messages";
import {
  CHUNK_PROTO_VERSION,
  ChunkErrorCode,
  type ChunkErrorName,
  DATA_HDR_LEN,
  ERROR_LEN,
  FLAG_LAST,
  GET_LEN,
  MSG_CANCEL,
  MSG_DATA,
  MSG_ERROR,
  MSG_GET,
  MAX_GET_BATCH,
} from "../../src/sdk/chunk-protocol";

/** DATA payload per message, bytes (well under every SCTP max-message-size). */
export const DATA_PIECE = 16 * 1024;
/** pear-fogd's DATA payload per message: its largest frame (CHUNK_PROTO_DEFAULT_MAX_FRAME,
 * 64 KiB) less the 16-byte header. Benches give libwebrtc nodes the same framing. */
export const PEARFOGD_DATA_PIECE = 65536 - DATA_HDR_LEN;

export interface ServeOptions {
  /** Chunk ids (hex) whose bytes are sent with one byte flipped. */
  corrupt?: Set<string>;
  /** Delay before answering each GET, milliseconds. */
  delayMs?: number;
  /** Answer every GET with this error instead. */
  refuse?: ChunkErrorName;
  /** Answer every GET with protocol garbage (a DATA frame claiming bytes outside the chunk). */
  garbage?: boolean;
  /**
   * Be a node from before GET batches: a batch is one malformed GET, answered with one
   * BAD_REQUEST for its first req_id (as pear-fogd did).
   */
  noBatches?: boolean;
  /** DATA payload per message, bytes. Default DATA_PIECE. */
  pieceBytes?: number;
}

export interface ServeLog {
  /** Chunk ids requested, in order. */
  gets: string[];
  /** Payload bytes sent. */
  bytes: number;
  /** When present: the GETs in each request message, in order (1 = a lone GET). */
  messages?: number[];
  /** CANCELs received, count (counted once the field is present). */
  cancels?: number;
}

export function encodeData(
  reqId: number,
  offset: number,
  total: number,
  payload: Uint8Array,
  last: boolean,
): Uint8Array {
  const out = new Uint8Array(DATA_HDR_LEN + payload.length);
  const dv = new DataView(out.buffer);
  out[0] = CHUNK_PROTO_VERSION;
  out[1] = MSG_DATA;
  out[2] = last ? FLAG_LAST : 0;
  dv.setUint32(4, reqId);
  dv.setUint32(8, offset);
  dv.setUint32(12, total);
  out.set(payload, DATA_HDR_LEN);
  return out;
}

export function encodeError(reqId: number, code: ChunkErrorName, retryAfterMs = 0): Uint8Array {
  const out = new Uint8Array(ERROR_LEN);
  const dv = new DataView(out.buffer);
  out[0] = CHUNK_PROTO_VERSION;
  out[1] = MSG_ERROR;
  out[2] = ChunkErrorCode[code];
  dv.setUint32(4, reqId);
  dv.setUint32(8, retryAfterMs);
  return out;
}

/** Serve the chunk protocol on `dc` (an RTCDataChannel from @roamhq/wrtc). */
export function serveChunks(
  dc: RTCDataChannel,
  chunks: ReadonlyMap<string, Uint8Array>,
  opts: ServeOptions,
  log: ServeLog,
): void {
  dc.binaryType = "arraybuffer";
  const cancelled = new Set<number>();
  // wrtc's readyState follows the native channel, which can close between two sends of one
  // answer (the SDK drops a node it just banned): what a gone peer would not get is dropped.
  const send = (b: Uint8Array) => {
    try {
      dc.send(b as Uint8Array<ArrayBuffer>);
    } catch (e) {
      if (dc.readyState === "open") throw e;
    }
  };
  dc.addEventListener("message", (ev: MessageEvent) => {
    const buf = new Uint8Array(ev.data as ArrayBuffer);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (buf[0] !== CHUNK_PROTO_VERSION) return;
    if (buf[1] === MSG_CANCEL) {
      cancelled.add(dv.getUint32(2));
      if (log.cancels !== undefined) log.cancels++;
      return;
    }
    if (buf[1] !== MSG_GET || buf.length < GET_LEN) return;
    const n = buf.length / GET_LEN;
    if (buf.length > GET_LEN && (opts.noBatches || !Number.isInteger(n) || n > MAX_GET_BATCH)) {
      return send(encodeError(dv.getUint32(2), "BAD_REQUEST"));
    }
    log.messages?.push(n);
    for (let i = 0; i < n; i++) get(buf.subarray(i * GET_LEN, (i + 1) * GET_LEN));
  });

  function get(buf: Uint8Array): void {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const reqId = dv.getUint32(2);
    const id = hexEncode(buf.subarray(6, 38));
    log.gets.push(id);
    const answer = () => {
      if (dc.readyState !== "open" || cancelled.has(reqId)) return;
      if (opts.refuse) return send(encodeError(reqId, opts.refuse, 100));
      if (opts.garbage) return send(encodeData(reqId, 10, 5, new Uint8Array(64), true));
      let data = chunks.get(id);
      if (!data) return send(encodeError(reqId, "NOT_FOUND"));
      if (opts.corrupt?.has(id)) {
        data = data.slice();
        data[data.length >> 1]! ^= 0x5a;
      }
      const size = opts.pieceBytes ?? DATA_PIECE;
      for (let off = 0; off < data.length || off === 0; off += size) {
        const piece = data.subarray(off, Math.min(off + size, data.length));
        const last = off + size >= data.length;
        send(encodeData(reqId, off, data.length, piece, last));
        log.bytes += piece.length;
        if (last) break;
      }
    };
    if (opts.delayMs) setTimeout(answer, opts.delayMs);
    else answer();
  }
}

/** Answer an SDP offer as a data-channel-only peer serving chunks; returns the answer SDP. */
export async function answerOffer(
  offerSdp: string,
  chunks: ReadonlyMap<string, Uint8Array>,
  opts: ServeOptions,
  log: ServeLog,
  peers: RTCPeerConnection[],
): Promise<string> {
  const pc = new wrtc.RTCPeerConnection() as RTCPeerConnection;
  peers.push(pc);
  pc.addEventListener("datachannel", (ev: RTCDataChannelEvent) => {
    if (ev.channel.label === "pear-fog-chunks") serveChunks(ev.channel, chunks, opts, log);
  });
  await pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
  await pc.setLocalDescription(await pc.createAnswer());
  // Like the ICE-lite pear-fogd, put every host candidate into the answer (no trickle).
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    const t = setTimeout(resolve, 2000);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(t);
        resolve();
      }
    });
  });
  return pc.localDescription!.sdp;
}

/** A fog node registered with a coordinator. */
export class WrtcFogNode {
  readonly key: KeyPair = generateKeyPair();
  readonly log: ServeLog = { gets: [], bytes: 0 };
  /** Offers answered, count. */
  offers = 0;
  private ws: WebSocket | undefined;
  private hb: ReturnType<typeof setInterval> | undefined;
  private seq = 0;
  private readonly peers: RTCPeerConnection[] = [];

  constructor(
    readonly chunks: ReadonlyMap<string, Uint8Array>,
    readonly opts: ServeOptions = {},
  ) {}

  get did(): string {
    return this.key.did;
  }

  /** Connect to `coordinatorUrl` (http://host:port), authenticate and announce the chunks. */
  async start(coordinatorUrl: string, coordinatorId = "pear-fog-coordinator"): Promise<void> {
    const ws = new WebSocket(coordinatorUrl.replace(/^http/, "ws") + "/ws/node");
    this.ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const welcome = new Promise<number>((resolve, reject) => {
      ws.on("message", (d) => {
        const m = JSON.parse(d.toString()) as Record<string, unknown> & { t: string };
        if (m.t === "node.challenge") {
          const payload = nodeAuthPayload(this.did, m.nonce as string, coordinatorId);
          const sig = base64urlEncode(ed25519Sign(payload, this.key.seed));
          ws.send(JSON.stringify({ t: "node.auth", sig }));
        } else if (m.t === "node.welcome") {
          resolve(m.heartbeatMs as number);
        } else if (m.t === "sig.offer") {
          void this.onOffer(m.session as string, m.sdp as string);
        } else if (m.t === "error" && m.code === "unauthorized") {
          reject(new Error(`node auth failed: ${String(m.detail)}`));
        }
      });
    });
    ws.send(JSON.stringify({ t: "node.hello", nodeId: this.did, version: "wrtc-test-node" }));
    const heartbeatMs = await welcome;
    // Inventory in heartbeats of at most 512 ids (LIMITS.inventory).
    const ids = [...this.chunks.keys()];
    for (let i = 0; i === 0 || i < ids.length; i += 512) {
      this.heartbeat(ids.slice(i, i + 512), i === 0);
    }
    this.hb = setInterval(() => this.heartbeat([], false), heartbeatMs);
  }

  /** The ICE candidate pairs in use, "local ⇄ remote (remote type)", one per peer connection. */
  async candidatePairs(): Promise<string[]> {
    const out: string[] = [];
    for (const pc of this.peers) {
      type S = {
        id: string;
        type: string;
        state?: string;
        nominated?: boolean;
        localCandidateId?: string;
        remoteCandidateId?: string;
        address?: string;
        ip?: string;
        port?: number;
        candidateType?: string;
      };
      const all = new Map<string, S>();
      (await pc.getStats()).forEach((st: S) => all.set(st.id, st));
      for (const st of all.values()) {
        if (st.type !== "candidate-pair" || st.state !== "succeeded" || !st.nominated) continue;
        const l = all.get(st.localCandidateId ?? "");
        const r = all.get(st.remoteCandidateId ?? "");
        const addr = (c: S | undefined) => `${c?.address ?? c?.ip}:${c?.port}`;
        out.push(`${addr(l)} ⇄ ${addr(r)} (${r?.candidateType})`);
      }
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.hb) clearInterval(this.hb);
    for (const pc of this.peers) pc.close();
    const ws = this.ws;
    if (ws && ws.readyState === ws.OPEN) {
      await new Promise<void>((resolve) => {
        ws.once("close", () => resolve());
        ws.close();
      });
    }
  }

  private heartbeat(add: string[], full: boolean): void {
    this.ws?.send(
      JSON.stringify({
        t: "node.heartbeat",
        seq: this.seq++,
        capacity: {
          uplinkCapBps: 10_000_000,
          uplinkUsedBps: 0,
          storeBytes: 0,
          storeCapBytes: 1 << 30,
          load: 0,
          reachability: "public",
        },
        inventory: { add, remove: [], ...(full ? { full: true } : {}) },
        bytesServed: 0,
      }),
    );
  }

  private async onOffer(session: string, sdp: string): Promise<void> {
    this.offers++;
    const answer = await answerOffer(sdp, this.chunks, this.opts, this.log, this.peers);
    this.ws?.send(JSON.stringify({ t: "sig.answer", session, sdp: answer }));
  }
}

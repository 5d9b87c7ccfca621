// Fetches chunks from one fog node over one data channel with the chunk protocol
// (./chunk-protocol). Works with a browser RTCDataChannel and with Node peers
// (@roamhq/wrtc) alike: it only needs send(), binaryType and message/close events.
import {
  type ChunkErrorName,
  ChunkProtocolError,
  decodeResponse,
  encodeCancel,
  encodeGet,
} from "./chunk-protocol";

/** The part of RTCDataChannel the client uses. */
export interface DataChannelLike {
  binaryType: string;
  readonly readyState: string;
  send(data: Uint8Array<ArrayBuffer>): void;
  addEventListener(type: "message", cb: (ev: { data: unknown }) => void): void;
  addEventListener(type: "close", cb: () => void): void;
}

export interface ChunkClientOptions {
  /** A request with no DATA for this long fails with code "TIMEOUT", milliseconds. */
  requestTimeoutMs?: number;
}

export const CHUNK_CLIENT_DEFAULTS: Required<ChunkClientOptions> = {
  requestTimeoutMs: 10_000,
};

/** Why a chunk request failed: a protocol error code from the node, or a local reason. */
export class ChunkRequestError extends Error {
  constructor(
    readonly code: ChunkErrorName | "TIMEOUT" | "CLOSED" | "PROTOCOL" | "CANCELLED",
    readonly retryAfterMs = 0,
  ) {
    super(
      `chunk request failed: ${code}${retryAfterMs ? ` (retry after ${retryAfterMs} ms)` : ""}`,
    );
    this.name = "ChunkRequestError";
  }
}

interface Pending {
  parts: Uint8Array[];
  received: number;
  expectOffset: number;
  resolve: (b: Uint8Array) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class ChunkClient {
  private nextReqId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly opts: Required<ChunkClientOptions>;
  private closed = false;

  constructor(
    private readonly dc: DataChannelLike,
    options: ChunkClientOptions = {},
  ) {
    this.opts = { ...CHUNK_CLIENT_DEFAULTS, ...options };
    dc.binaryType = "arraybuffer";
    dc.addEventListener("message", (ev) => this.onMessage(ev.data));
    dc.addEventListener("close", () => this.failAll(new ChunkRequestError("CLOSED")));
  }

  /** Requests currently in flight. */
  get inflight(): number {
    return this.pending.size;
  }

  /**
   * Fetch bytes [offset, offset+length) of a chunk (length 0: to its end). Aborting `signal`
   * sends CANCEL to the node and rejects with code "CANCELLED".
   */
  get(chunkId: Uint8Array, offset = 0, length = 0, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.closed || this.dc.readyState !== "open") {
      return Promise.reject(new ChunkRequestError("CLOSED"));
    }
    if (signal?.aborted) return Promise.reject(new ChunkRequestError("CANCELLED"));
    const reqId = this.nextReqId;
    this.nextReqId = (this.nextReqId % 0xffffffff) + 1;
    return new Promise<Uint8Array>((resolve, reject) => {
      const p: Pending = {
        parts: [],
        received: 0,
        expectOffset: offset,
        resolve,
        reject,
        timer: setTimeout(
          () => this.finish(reqId, new ChunkRequestError("TIMEOUT"), true),
          this.opts.requestTimeoutMs,
        ),
      };
      this.pending.set(reqId, p);
      signal?.addEventListener(
        "abort",
        () => this.finish(reqId, new ChunkRequestError("CANCELLED"), true),
        { once: true },
      );
      try {
        this.dc.send(encodeGet(reqId, chunkId, offset, length));
      } catch (err) {
        this.finish(reqId, err instanceof Error ? err : new Error(String(err)), false);
      }
    });
  }

  /** Fail every request and stop using the channel (the caller closes it). */
  close(): void {
    this.closed = true;
    this.failAll(new ChunkRequestError("CLOSED"));
  }

  private onMessage(data: unknown): void {
    const buf =
      data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
          : null;
    if (!buf) return; // text messages are not part of the protocol
    let r;
    try {
      r = decodeResponse(buf);
    } catch (err) {
      // A node speaking garbage: fail everything, it is not to be trusted.
      this.failAll(new ChunkRequestError("PROTOCOL"));
      if (!(err instanceof ChunkProtocolError)) throw err;
      return;
    }
    const p = this.pending.get(r.reqId);
    if (!p) return; // late frames of a cancelled or timed-out request
    if (r.type === "error") {
      this.finish(r.reqId, new ChunkRequestError(r.code, r.retryAfterMs), false);
      return;
    }
    if (r.offset !== p.expectOffset) {
      this.finish(r.reqId, new ChunkRequestError("PROTOCOL"), true);
      return;
    }
    p.parts.push(r.payload.slice()); // copy: the message buffer may be reused
    p.received += r.payload.length;
    p.expectOffset += r.payload.length;
    if (!r.last) return;
    const out = new Uint8Array(p.received);
    let at = 0;
    for (const part of p.parts) {
      out.set(part, at);
      at += part.length;
    }
    clearTimeout(p.timer);
    this.pending.delete(r.reqId);
    p.resolve(out);
  }

  private finish(reqId: number, err: Error, cancel: boolean): void {
    const p = this.pending.get(reqId);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(reqId);
    if (cancel && !this.closed && this.dc.readyState === "open") {
      try {
        this.dc.send(encodeCancel(reqId));
      } catch {
        /* channel already going away */
      }
    }
    p.reject(err);
  }

  private failAll(err: Error): void {
    for (const reqId of [...this.pending.keys()]) this.finish(reqId, err, false);
  }
}

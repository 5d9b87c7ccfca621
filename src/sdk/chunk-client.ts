// Fetches chunks from one fog node over one data channel with the chunk protocol
// (./chunk-protocol). Works with a browser RTCDataChannel and with Node peers
// (@roamhq/wrtc) alike: it only needs send(), binaryType and message/close events.
import {
  type ChunkErrorName,
  ChunkProtocolError,
  decodeResponse,
  encodeCancel,
  encodeGet,
  GET_LEN,
  type GetSpec,
  MAX_GET_BATCH,
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

/** One chunk (range) of a getMany. */
export interface ChunkWanted {
  chunkId: Uint8Array;
  /** First byte, default 0. */
  offset?: number;
  /** Bytes; 0 or absent = to the end of the chunk. */
  length?: number;
  /** Aborting it cancels this chunk alone (CANCEL to the node, code "CANCELLED"). */
  signal?: AbortSignal;
}

export class ChunkClient {
  private nextReqId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly opts: Required<ChunkClientOptions>;
  private closed = false;
  /**
   * Does the node take GET batches? "unknown" until it answers a request of a batch;
   * a node that predates them answers a batch with one BAD_REQUEST for its first GET.
   */
  private batches: "unknown" | "yes" | "no" = "unknown";
  /** While "unknown": each batch sent, by its first req_id, with its GETs. */
  private readonly batchesSent = new Map<number, GetSpec[]>();
  /** First req_ids of batches an old node has yet to refuse (after the GETs went again). */
  private readonly staleRefusals = new Set<number>();

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
    return this.getMany([{ chunkId, offset, length }], signal)[0]!;
  }

  /**
   * Fetch several chunks (ranges) in one message (a GET batch; one GET per message to a node
   * that does not take batches); the node answers them in order. One promise per chunk, as
   * get() gives; aborting `signal` cancels those still in flight, aborting a chunk's own
   * `signal` cancels that one.
   */
  getMany(wanted: readonly ChunkWanted[], signal?: AbortSignal): Promise<Uint8Array>[] {
    if (this.closed || this.dc.readyState !== "open") {
      return wanted.map(() => Promise.reject(new ChunkRequestError("CLOSED")));
    }
    if (signal?.aborted)
      return wanted.map(() => Promise.reject(new ChunkRequestError("CANCELLED")));
    const gets: GetSpec[] = [];
    const out = wanted.map(({ chunkId, offset, length, signal: own }) => {
      if (own?.aborted) return Promise.reject(new ChunkRequestError("CANCELLED"));
      const g: GetSpec = { chunkId, offset, length, reqId: this.newReqId() };
      gets.push(g);
      return this.track(g, signal, own);
    });
    for (let i = 0; i < gets.length; i += MAX_GET_BATCH) {
      this.sendGets(gets.slice(i, i + MAX_GET_BATCH));
    }
    return out;
  }

  private newReqId(): number {
    const reqId = this.nextReqId;
    this.nextReqId = (this.nextReqId % 0xffffffff) + 1;
    return reqId;
  }

  /** Sends `gets` as one batch when there are several and the node may take it. */
  private sendGets(gets: GetSpec[]): void {
    const ok: { g: GetSpec; wire: Uint8Array<ArrayBuffer> }[] = [];
    for (const g of gets) {
      try {
        ok.push({ g, wire: encodeGet(g.reqId, g.chunkId, g.offset, g.length) });
      } catch (err) {
        this.finish(g.reqId, err as Error, false); // a bad id or range: this request only
      }
    }
    if (ok.length < 2 || this.batches === "no") {
      for (const { g, wire } of ok) this.send([g.reqId], wire);
      return;
    }
    const batch = new Uint8Array(ok.length * GET_LEN);
    ok.forEach(({ wire }, i) => batch.set(wire, i * GET_LEN));
    const sent = ok.map(({ g }) => g);
    if (this.batches === "unknown") this.batchesSent.set(sent[0]!.reqId, sent);
    this.send(
      sent.map((g) => g.reqId),
      batch,
    );
  }

  /** dc.send of a request message; a failure fails the requests in it. */
  private send(reqIds: number[], wire: Uint8Array<ArrayBuffer>): void {
    try {
      this.dc.send(wire);
    } catch (err) {
      for (const reqId of reqIds) {
        this.finish(reqId, err instanceof Error ? err : new Error(String(err)), false);
      }
    }
  }

  private track(
    g: GetSpec,
    signal: AbortSignal | undefined,
    own: AbortSignal | undefined,
  ): Promise<Uint8Array> {
    const reqId = g.reqId;
    const offset = g.offset ?? 0;
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
      const cancel = () => this.finish(reqId, new ChunkRequestError("CANCELLED"), true);
      signal?.addEventListener("abort", cancel, { once: true });
      own?.addEventListener("abort", cancel, { once: true });
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
    if ((this.batchesSent.size > 0 || this.staleRefusals.size > 0) && this.learnBatches(r)) return;
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

  /**
   * The first answer to a batch says whether the node takes them: one BAD_REQUEST for a
   * batch's first GET is a node that read the batch as one malformed GET (nothing of it is
   * queued there), so its GETs go again one by one, and so will every later batch; any other
   * answer to a GET of a batch is a node that does. True when `r` was consumed here.
   */
  private learnBatches(r: ReturnType<typeof decodeResponse>): boolean {
    if (this.staleRefusals.delete(r.reqId) && r.type === "error") return true;
    if (this.batches !== "unknown") return false;
    const batch = this.batchesSent.get(r.reqId);
    if (batch && r.type === "error" && r.code === "BAD_REQUEST") {
      this.batches = "no";
      for (const [first, gets] of this.batchesSent) {
        // The node's refusal of the other batches is still to come: not for the resent GET.
        if (first !== r.reqId) this.staleRefusals.add(first);
        for (const g of gets) {
          if (this.pending.has(g.reqId)) {
            this.send([g.reqId], encodeGet(g.reqId, g.chunkId, g.offset, g.length));
          }
        }
      }
      this.batchesSent.clear();
      return true;
    }
    for (const gets of this.batchesSent.values()) {
      if (gets.some((g) => g.reqId === r.reqId)) {
        this.batches = "yes";
        this.batchesSent.clear();
        break;
      }
    }
    return false;
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

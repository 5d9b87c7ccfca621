// The chunk protocol spoken on a data channel between the SDK and pear-fogd.
// Mirror of libs/webrtc-native/src/chunk_proto.{h,c}: every message is one binary data channel
// message, big-endian, starting with a version byte and a type byte. Lengths are exact.
//
//   GET    SDK -> node   46 bytes  ver type req_id:u32 id[32] offset:u32 length:u32
//          (a GET batch: 2..16 GETs back to back in one message, n × 46 bytes)
//   CANCEL SDK -> node    6 bytes  ver type req_id:u32
//   DATA   node -> SDK   16 + n    ver type flags rsvd req_id:u32 offset:u32 total:u32 payload
//   ERROR  node -> SDK   12 bytes  ver type code rsvd req_id:u32 retry_after_ms:u32

export const CHUNK_PROTO_VERSION = 1;
export const MSG_GET = 0x01;
export const MSG_CANCEL = 0x02;
export const MSG_DATA = 0x81;
export const MSG_ERROR = 0x82;
export const GET_LEN = 46;
export const CANCEL_LEN = 6;
export const DATA_HDR_LEN = 16;
export const ERROR_LEN = 12;
export const FLAG_LAST = 0x01;
/** Largest chunk the protocol addresses, bytes (same as the store's cap). */
export const MAX_CHUNK_BYTES = 1 << 20;

/** ERROR codes on the wire. */
export const ChunkErrorCode = {
  NOT_FOUND: 1,
  BUSY: 2,
  RATE_LIMITED: 3,
  BAD_REQUEST: 4,
  RANGE: 5,
  INTERNAL: 6,
} as const;
export type ChunkErrorName = keyof typeof ChunkErrorCode;

const CODE_NAMES = new Map<number, ChunkErrorName>(
  Object.entries(ChunkErrorCode).map(([k, v]) => [v, k as ChunkErrorName]),
);

export type ChunkResponse =
  | {
      type: "data";
      reqId: number;
      flags: number;
      last: boolean;
      offset: number;
      total: number;
      payload: Uint8Array;
    }
  | { type: "error"; reqId: number; code: ChunkErrorName; retryAfterMs: number };

/** A response that breaks the protocol: the peer is misbehaving. */
export class ChunkProtocolError extends Error {
  constructor(readonly detail: string) {
    super(`chunk protocol: ${detail}`);
    this.name = "ChunkProtocolError";
  }
}

export function encodeGet(
  reqId: number,
  chunkId: Uint8Array,
  offset = 0,
  length = 0,
): Uint8Array<ArrayBuffer> {
  if (chunkId.length !== 32) throw new RangeError("chunk id must be 32 bytes");
  if (offset < 0 || length < 0 || offset + length > MAX_CHUNK_BYTES) {
    throw new RangeError("range outside the largest chunk");
  }
  const out = new Uint8Array(GET_LEN);
  const dv = new DataView(out.buffer);
  out[0] = CHUNK_PROTO_VERSION;
  out[1] = MSG_GET;
  dv.setUint32(2, reqId >>> 0);
  out.set(chunkId, 6);
  dv.setUint32(38, offset);
  dv.setUint32(42, length);
  return out;
}

/** GETs in one batch message at most (the node's requests in flight per channel). */
export const MAX_GET_BATCH = 16;

/** One GET of a batch. */
export interface GetSpec {
  reqId: number;
  chunkId: Uint8Array;
  offset?: number;
  length?: number;
}

export function encodeCancel(reqId: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(CANCEL_LEN);
  out[0] = CHUNK_PROTO_VERSION;
  out[1] = MSG_CANCEL;
  new DataView(out.buffer).setUint32(2, reqId >>> 0);
  return out;
}

/** Decode one node → SDK message; throws ChunkProtocolError on anything malformed. */
export function decodeResponse(buf: Uint8Array): ChunkResponse {
  if (buf.length < 4) throw new ChunkProtocolError(`short message (${buf.length} bytes)`);
  if (buf[0] !== CHUNK_PROTO_VERSION) throw new ChunkProtocolError(`version ${buf[0]}`);
  if (buf[3] !== 0) throw new ChunkProtocolError("reserved byte set");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf[1] === MSG_ERROR) {
    if (buf.length !== ERROR_LEN) throw new ChunkProtocolError(`ERROR of ${buf.length} bytes`);
    const code = CODE_NAMES.get(buf[2]!);
    if (!code) throw new ChunkProtocolError(`unknown error code ${buf[2]}`);
    return { type: "error", reqId: dv.getUint32(4), code, retryAfterMs: dv.getUint32(8) };
  }
  if (buf[1] !== MSG_DATA)
    throw new ChunkProtocolError(`unexpected type 0x${buf[1]!.toString(16)}`);
  if (buf.length < DATA_HDR_LEN) throw new ChunkProtocolError(`DATA of ${buf.length} bytes`);
  const flags = buf[2]!;
  const offset = dv.getUint32(8);
  const total = dv.getUint32(12);
  const payload = buf.subarray(DATA_HDR_LEN);
  if (flags & ~FLAG_LAST) throw new ChunkProtocolError(`unknown flags 0x${flags.toString(16)}`);
  if (total > MAX_CHUNK_BYTES || offset > total || payload.length > total - offset) {
    throw new ChunkProtocolError("DATA outside the chunk");
  }
  if (payload.length === 0 && !(flags & FLAG_LAST)) throw new ChunkProtocolError("empty DATA");
  return {
    type: "data",
    reqId: dv.getUint32(4),
    flags,
    last: (flags & FLAG_LAST) !== 0,
    offset,
    total,
    payload,
  };
}

// The coordinator's STUN server: a UDP Binding responder (RFC 8489 §6.3) so that browsers and
// nodes learn their server-reflexive addresses from the coordinator they already trust, and
// the ICE server list (STUN + TURN with time-limited credentials) handed to both.
//
// What the responder does with one datagram (RFC 8489 §6.3):
//   - not STUN (top two bits, magic cookie, length a multiple of 4 equal to the rest of the
//     datagram, attributes inside the message) → silently dropped;
//   - a FINGERPRINT that is present but wrong → dropped (§7.3);
//   - anything but a Binding request (indications, responses, other methods) → dropped
//     (§6.3.2: indications need no answer; a server sends no requests);
//   - unknown comprehension-required attributes (type < 0x8000) → 420 with
//     UNKNOWN-ATTRIBUTES (§6.3.1.1);
//   - otherwise a success response with XOR-MAPPED-ADDRESS (§14.2) of the source, SOFTWARE
//     and FINGERPRINT, sent from the socket the request came in on.
// No authentication (§9: a Binding request for one's own address needs none).
import { createHmac } from "node:crypto";
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIPv4 } from "node:net";
import { crc32 } from "node:zlib";

export const STUN_MAGIC = 0x2112a442;
const HEADER = 20;
const FINGERPRINT_XOR = 0x5354554e;
const ATTR = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  REALM: 0x0014,
  NONCE: 0x0015,
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  PASSWORD_ALGORITHM: 0x001d,
  USERHASH: 0x001e,
  XOR_MAPPED_ADDRESS: 0x0020,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028,
} as const;
/** Comprehension-required attributes this responder understands (it ignores their values). */
const KNOWN_REQUIRED = new Set<number>([
  ATTR.MAPPED_ADDRESS,
  ATTR.USERNAME,
  ATTR.MESSAGE_INTEGRITY,
  ATTR.ERROR_CODE,
  ATTR.UNKNOWN_ATTRIBUTES,
  ATTR.REALM,
  ATTR.NONCE,
  ATTR.MESSAGE_INTEGRITY_SHA256,
  ATTR.PASSWORD_ALGORITHM,
  ATTR.USERHASH,
  ATTR.XOR_MAPPED_ADDRESS,
  ATTR.PRIORITY,
  ATTR.USE_CANDIDATE,
]);
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const BINDING_ERROR = 0x0111;
export const STUN_SOFTWARE = "pear-fog coordinator";

export interface StunMessage {
  type: number;
  txid: Buffer;
  attrs: { type: number; value: Buffer }[];
  /** Offset of FINGERPRINT's header, -1 when absent. */
  fingerprintAt: number;
}

/** Parse one datagram (RFC 8489 §5, §14); null if it is not a well-formed STUN message. */
export function parseStun(buf: Buffer): StunMessage | null {
  if (buf.length < HEADER || buf.length > 1500 || (buf[0]! & 0xc0) !== 0) return null;
  const len = buf.readUInt16BE(2);
  if (buf.readUInt32BE(4) !== STUN_MAGIC || len % 4 !== 0 || len !== buf.length - HEADER)
    return null;
  const attrs: StunMessage["attrs"] = [];
  let fingerprintAt = -1;
  for (let off = HEADER; off < buf.length;) {
    if (off + 4 > buf.length || fingerprintAt >= 0) return null; // FINGERPRINT is last (§14.7)
    const type = buf.readUInt16BE(off);
    const vlen = buf.readUInt16BE(off + 2);
    const end = off + 4 + vlen;
    if (end > buf.length) return null;
    if (type === ATTR.FINGERPRINT) {
      if (vlen !== 4) return null;
      fingerprintAt = off;
    }
    attrs.push({ type, value: buf.subarray(off + 4, end) });
    off = end + ((4 - (vlen % 4)) % 4);
  }
  return {
    type: buf.readUInt16BE(0),
    txid: Buffer.from(buf.subarray(8, 20)),
    attrs,
    fingerprintAt,
  };
}

function fingerprintOk(buf: Buffer, m: StunMessage): boolean {
  if (m.fingerprintAt < 0) return true;
  const want = (crc32(buf.subarray(0, m.fingerprintAt)) ^ FINGERPRINT_XOR) >>> 0;
  return buf.readUInt32BE(m.fingerprintAt + 4) === want;
}

function attr(type: number, value: Buffer): Buffer {
  const pad = (4 - (value.length % 4)) % 4;
  const out = Buffer.alloc(4 + value.length + pad);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(value.length, 2);
  value.copy(out, 4);
  return out;
}

/** XOR-MAPPED-ADDRESS value (§14.2) of address:port. */
export function xorAddress(address: string, port: number, txid: Buffer): Buffer {
  const v4 = isIPv4(address);
  const out = Buffer.alloc(v4 ? 8 : 20);
  out[1] = v4 ? 0x01 : 0x02;
  out.writeUInt16BE(port ^ (STUN_MAGIC >>> 16), 2);
  const key = Buffer.alloc(16);
  key.writeUInt32BE(STUN_MAGIC, 0);
  txid.copy(key, 4);
  const raw = v4 ? Buffer.from(address.split(".").map(Number)) : ipv6Bytes(address);
  for (let i = 0; i < raw.length; i++) out[4 + i] = raw[i]! ^ key[i]!;
  return out;
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g as string, 16), i * 2));
  return out;
}

/** A message with the given attributes plus FINGERPRINT (§14.7). */
function build(type: number, txid: Buffer, attrs: Buffer[]): Buffer {
  const body = Buffer.concat(attrs);
  const head = Buffer.alloc(HEADER);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(body.length + 8, 2);
  head.writeUInt32BE(STUN_MAGIC, 4);
  txid.copy(head, 8);
  const msg = Buffer.concat([head, body]);
  const fp = Buffer.alloc(4);
  fp.writeUInt32BE((crc32(msg) ^ FINGERPRINT_XOR) >>> 0, 0);
  return Buffer.concat([msg, attr(ATTR.FINGERPRINT, fp)]);
}

/** The response to one datagram from `from`, or null when it gets none (see the file comment). */
export function answerStun(buf: Buffer, from: { address: string; port: number }): Buffer | null {
  const m = parseStun(buf);
  if (!m || !fingerprintOk(buf, m) || m.type !== BINDING_REQUEST) return null;
  const software = attr(ATTR.SOFTWARE, Buffer.from(STUN_SOFTWARE));
  const unknown = m.attrs.map((a) => a.type).filter((t) => t < 0x8000 && !KNOWN_REQUIRED.has(t));
  if (unknown.length) {
    // §14.8 ERROR-CODE 420 + §14.13 UNKNOWN-ATTRIBUTES
    const reason = Buffer.from("Unknown Attribute");
    const ec = Buffer.concat([Buffer.from([0, 0, 4, 20]), reason]);
    const ua = Buffer.alloc(unknown.length * 2);
    unknown.forEach((t, i) => ua.writeUInt16BE(t, i * 2));
    return build(BINDING_ERROR, m.txid, [
      attr(ATTR.ERROR_CODE, ec),
      attr(ATTR.UNKNOWN_ATTRIBUTES, ua),
      software,
    ]);
  }
  const address = from.address.startsWith("::ffff:") ? from.address.slice(7) : from.address;
  return build(BINDING_SUCCESS, m.txid, [
    attr(ATTR.XOR_MAPPED_ADDRESS, xorAddress(address, from.port, m.txid)),
    software,
  ]);
}

export interface StunServer {
  port: number;
  /** Binding requests answered. */
  answered(): number;
  close(): Promise<void>;
}

/** Listen on host:port (udp4 or udp6 by the host's form; port 0 = any). */
export function startStunServer(host: string, port: number): Promise<StunServer> {
  return new Promise((resolve, reject) => {
    const sock: Socket = createSocket(isIPv4(host) ? "udp4" : "udp6");
    let answered = 0;
    sock.on("message", (msg: Buffer, rinfo: RemoteInfo) => {
      const out = answerStun(msg, rinfo);
      if (!out) return;
      answered++;
      sock.send(out, rinfo.port, rinfo.address);
    });
    sock.once("error", reject);
    sock.bind(port, host, () => {
      sock.off("error", reject);
      sock.on("error", () => undefined); // ICMP errors for one peer must not stop the rest
      resolve({
        port: sock.address().port,
        answered: () => answered,
        close: () => new Promise((r) => sock.close(() => r())),
      });
    });
  });
}

/** One entry of RTCConfiguration.iceServers. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface IceServersConfig {
  /** STUN URLs handed out ("stun:host:port"). */
  stun: string[];
  /** TURN URLs ("turn:host:port?transport=udp"); [] = no relay. */
  turn: string[];
  /** coturn `static-auth-secret` (use-auth-secret): TURN credentials are minted from it. */
  turnSecret: string;
  /** Lifetime of minted TURN credentials, seconds. */
  turnTtlS: number;
}

/**
 * The ICE servers for one client (browser or node) at `nowMs`: the STUN URLs, and the TURN URLs
 * with time-limited credentials in the coturn REST-API style (use-auth-secret):
 * username = "<expiry unix seconds>:<id>", credential = base64(HMAC-SHA1(secret, username)).
 */
export function iceServersFor(cfg: IceServersConfig, id: string, nowMs: number): IceServer[] {
  const out: IceServer[] = [];
  if (cfg.stun.length) out.push({ urls: [...cfg.stun] });
  if (cfg.turn.length && cfg.turnSecret) {
    const username = `${Math.floor(nowMs / 1000) + cfg.turnTtlS}:${id}`;
    const credential = createHmac("sha1", cfg.turnSecret).update(username).digest("base64");
    out.push({ urls: [...cfg.turn], username, credential });
  }
  return out;
}

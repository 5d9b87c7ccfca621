// did:key for Ed25519 public keys (W3C did:key method, multicodec ed25519-pub 0xed01,
// multibase base58btc "z" prefix). Local to the coordinator until src/protocol grows a shared
// helper; the node agent and the CLI must produce the same strings.
import { ed25519 } from "@noble/curves/ed25519.js";

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const ED25519_PUB_PREFIX = [0xed, 0x01];

/** A did:key string could not be decoded to an Ed25519 public key. */
export class DidKeyError extends Error {
  constructor(
    readonly did: string,
    reason: string,
  ) {
    super(`bad did:key ${JSON.stringify(did.slice(0, 80))}: ${reason}`);
    this.name = "DidKeyError";
  }
}

export function base58btcEncode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  const digits: number[] = [];
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i] as number;
    for (let j = 0; j < digits.length; j++) {
      carry += (digits[j] as number) << 8;
      digits[j] = carry % 58;
      carry = (carry / 58) | 0;
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = (carry / 58) | 0;
    }
  }
  let out = "1".repeat(zeros);
  for (let i = digits.length - 1; i >= 0; i--) out += ALPHABET[digits[i] as number];
  return out;
}

/** Decodes base58btc; returns undefined on a character outside the alphabet. */
export function base58btcDecode(s: string): Uint8Array | undefined {
  let zeros = 0;
  while (zeros < s.length && s[zeros] === "1") zeros++;
  const bytes: number[] = [];
  for (let i = zeros; i < s.length; i++) {
    let carry = ALPHABET.indexOf(s[i] as string);
    if (carry < 0) return undefined;
    for (let j = 0; j < bytes.length; j++) {
      carry += (bytes[j] as number) * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  const out = new Uint8Array(zeros + bytes.length);
  for (let i = 0; i < bytes.length; i++) out[zeros + i] = bytes[bytes.length - 1 - i] as number;
  return out;
}

/** did:key of a 32-byte Ed25519 public key. */
export function didKeyFromPublicKey(pub: Uint8Array): string {
  if (pub.length !== 32) throw new DidKeyError("", `public key is ${pub.length} bytes, want 32`);
  const buf = new Uint8Array(34);
  buf.set(ED25519_PUB_PREFIX, 0);
  buf.set(pub, 2);
  return `did:key:z${base58btcEncode(buf)}`;
}

/** The 32-byte Ed25519 public key inside a did:key. Throws DidKeyError. */
export function publicKeyFromDidKey(did: string): Uint8Array {
  if (!did.startsWith("did:key:z")) throw new DidKeyError(did, "not a base58btc did:key");
  if (did.length > 128) throw new DidKeyError(did, "too long");
  const raw = base58btcDecode(did.slice("did:key:z".length));
  if (!raw) throw new DidKeyError(did, "bad base58btc character");
  if (raw.length !== 34 || raw[0] !== 0xed || raw[1] !== 0x01) {
    throw new DidKeyError(did, "not an ed25519-pub multicodec key");
  }
  return raw.slice(2);
}

/** Verify an Ed25519 signature by the key a did:key names. False on any malformed input. */
export function verifyDidSignature(did: string, msg: Uint8Array, sig: Uint8Array): boolean {
  let pub: Uint8Array;
  try {
    pub = publicKeyFromDidKey(did);
  } catch {
    return false;
  }
  if (sig.length !== 64) return false;
  try {
    return ed25519.verify(sig, msg, pub);
  } catch {
    return false;
  }
}

export function base64urlEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

/** Strict base64url decode; undefined when the text is not canonical base64url. */
export function base64urlDecode(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return undefined;
  const b = Buffer.from(s, "base64url");
  if (b.toString("base64url") !== s) return undefined;
  return new Uint8Array(b);
}

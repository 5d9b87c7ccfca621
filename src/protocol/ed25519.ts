// Ed25519 (RFC 8032, PureEdDSA) key pairs, signatures and the publisher key file format.
// Thin wrapper over @noble/curves so the rest of the code base has one place to look. Pure.
import { ed25519 } from "@noble/curves/ed25519.js";
import { didKeyFromPublicKey } from "./did-key";
import { hexDecode, hexEncode } from "./hex";

/** Ed25519 private key (seed) length, bytes (RFC 8032 section 5.1.5). */
export const ED25519_SEED_BYTES = 32;
/** Ed25519 signature length, bytes (RFC 8032 section 5.1.6). */
export const ED25519_SIGNATURE_BYTES = 64;

export interface KeyPair {
  /** 32-byte private key (the RFC 8032 "seed"). Keep secret. */
  seed: Uint8Array;
  /** 32-byte public key. */
  publicKey: Uint8Array;
  /** did:key form of the public key. */
  did: string;
}

/** Key pair from a 32-byte seed. Throws RangeError on a wrong-length seed. */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== ED25519_SEED_BYTES) {
    throw new RangeError(`ed25519 seed must be 32 bytes, got ${seed.length}`);
  }
  const publicKey = ed25519.getPublicKey(seed);
  return { seed: seed.slice(), publicKey, did: didKeyFromPublicKey(publicKey) };
}

/** New random key pair (crypto.getRandomValues via @noble). */
export function generateKeyPair(): KeyPair {
  return keyPairFromSeed(ed25519.utils.randomSecretKey());
}

/** RFC 8032 section 5.1.6 signature of `message` with the key pair's seed. */
export function ed25519Sign(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return ed25519.sign(message, seed);
}

/**
 * RFC 8032 section 5.1.7 verification. Strict (non-ZIP-215) encodings; false (never throws)
 * on any malformed signature or key.
 */
export function ed25519Verify(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== 32) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** `type` field of a publisher key file. */
export const KEY_FILE_TYPE = "pear-fog-ed25519-private-key";

/**
 * Text of a publisher key file: one line of JSON,
 * `{"type":"pear-fog-ed25519-private-key","v":1,"did":"did:key:z6Mk...","seed":"<64 hex>"}`.
 */
export function encodeKeyFile(kp: KeyPair): string {
  return (
    JSON.stringify({ type: KEY_FILE_TYPE, v: 1, did: kp.did, seed: hexEncode(kp.seed) }) + "\n"
  );
}

/** Parse a key file written by {@link encodeKeyFile}. Throws Error with the reason. */
export function parseKeyFile(text: string): KeyPair {
  if (text.length > 4096) throw new Error("key file too large");
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    throw new Error("key file is not JSON");
  }
  if (typeof obj !== "object" || obj === null) throw new Error("key file is not a JSON object");
  const o = obj as Record<string, unknown>;
  if (o.type !== KEY_FILE_TYPE || o.v !== 1) throw new Error(`not a ${KEY_FILE_TYPE} v1 file`);
  const seed = typeof o.seed === "string" ? hexDecode(o.seed, ED25519_SEED_BYTES) : undefined;
  if (!seed) throw new Error("key file seed must be 64 lowercase hex characters");
  const kp = keyPairFromSeed(seed);
  if (o.did !== undefined && o.did !== kp.did) {
    throw new Error("key file did does not match its seed");
  }
  return kp;
}

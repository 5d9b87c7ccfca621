// did:key for Ed25519 public keys (W3C CCG did:key method, "Ed25519" section):
//   did:key:z<base58btc(0xed 0x01 || 32-byte public key)>
// 0xed is the multicodec code "ed25519-pub", written as an unsigned varint (0xed 0x01);
// "z" is the multibase prefix for base58btc. Such ids always start with "did:key:z6Mk". Pure.
import { base58Decode, base58Encode } from "./base58";

const PREFIX = "did:key:z";
const ED25519_PUB_MULTICODEC = new Uint8Array([0xed, 0x01]);
/** Ed25519 public key length, bytes (RFC 8032 section 5.1.5). */
export const ED25519_PUBLIC_KEY_BYTES = 32;

/** did:key of an Ed25519 public key. Throws RangeError if the key is not 32 bytes. */
export function didKeyFromPublicKey(publicKey: Uint8Array): string {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new RangeError(`ed25519 public key must be 32 bytes, got ${publicKey.length}`);
  }
  const buf = new Uint8Array(2 + ED25519_PUBLIC_KEY_BYTES);
  buf.set(ED25519_PUB_MULTICODEC, 0);
  buf.set(publicKey, 2);
  return PREFIX + base58Encode(buf);
}

/**
 * The Ed25519 public key inside a did:key, or undefined if `did` is not an Ed25519 did:key
 * (wrong prefix, bad base58, other multicodec, wrong length, or not in canonical encoding).
 */
export function publicKeyFromDidKey(did: string): Uint8Array | undefined {
  if (!did.startsWith(PREFIX) || did.length > 128) return undefined;
  const raw = base58Decode(did.slice(PREFIX.length));
  if (!raw || raw.length !== 2 + ED25519_PUBLIC_KEY_BYTES) return undefined;
  if (raw[0] !== 0xed || raw[1] !== 0x01) return undefined;
  const key = raw.slice(2);
  // Refuse non-canonical spellings (e.g. extra leading "1"s) so one key has one id.
  if (didKeyFromPublicKey(key) !== did) return undefined;
  return key;
}

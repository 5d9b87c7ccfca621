// base58btc (the Bitcoin alphabet), as used by multibase prefix "z" and did:key.
// Spec: draft-msporny-base58 (IETF), multibase "base58btc". Pure.

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const INDEX: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) t[ALPHABET.charCodeAt(i)] = i;
  return t;
})();

/**
 * Longest input accepted by {@link base58Decode}, characters. The quadratic algorithm below is
 * fine for keys and ids; this cap keeps hostile input from making it slow.
 */
export const BASE58_MAX_DECODE_CHARS = 1024;

/** Encode bytes as base58btc. Leading zero bytes become leading "1"s. */
export function base58Encode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  // log(256)/log(58) ~ 1.366: upper bound on the number of base58 digits.
  const digits = new Uint8Array((((bytes.length - zeros) * 138) / 100 + 1) | 0);
  let len = 0;
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i] as number;
    let j = 0;
    for (let k = digits.length - 1; (carry !== 0 || j < len) && k >= 0; k--, j++) {
      carry += 256 * (digits[k] as number);
      digits[k] = carry % 58;
      carry = (carry / 58) | 0;
    }
    len = j;
  }
  let start = digits.length - len;
  while (start < digits.length && digits[start] === 0) start++;
  let s = "1".repeat(zeros);
  for (let i = start; i < digits.length; i++) s += ALPHABET[digits[i] as number];
  return s;
}

/** Decode base58btc; undefined on a character outside the alphabet or over-long input. */
export function base58Decode(s: string): Uint8Array | undefined {
  if (s.length > BASE58_MAX_DECODE_CHARS) return undefined;
  let zeros = 0;
  while (zeros < s.length && s[zeros] === "1") zeros++;
  // log(58)/log(256) ~ 0.733: upper bound on the number of bytes.
  const bytes = new Uint8Array((((s.length - zeros) * 733) / 1000 + 1) | 0);
  let len = 0;
  for (let i = zeros; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? (INDEX[c] as number) : -1;
    if (v < 0) return undefined;
    let carry = v;
    let j = 0;
    for (let k = bytes.length - 1; (carry !== 0 || j < len) && k >= 0; k--, j++) {
      carry += 58 * (bytes[k] as number);
      bytes[k] = carry & 0xff;
      carry >>= 8;
    }
    len = j;
  }
  let start = bytes.length - len;
  while (start < bytes.length && bytes[start] === 0) start++;
  const out = new Uint8Array(zeros + bytes.length - start);
  out.set(bytes.subarray(start), zeros);
  return out;
}

// Lowercase hex text form of byte strings, as used for chunk ids, Merkle roots and signatures.
// Pure: no I/O, runs on Node, in browsers and in QuickJS.

const HEX = "0123456789abcdef";

/** Bytes to lowercase hex. */
export function hexEncode(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    s += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return s;
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  return -1; // uppercase is refused: the canonical form is lowercase
}

/**
 * Lowercase hex to bytes. Returns undefined for odd length, any character outside [0-9a-f],
 * or (when `length` is given) a decoded length other than `length` bytes.
 */
export function hexDecode(hex: string, length?: number): Uint8Array | undefined {
  if (hex.length % 2 !== 0) return undefined;
  if (length !== undefined && hex.length !== length * 2) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = nibble(hex.charCodeAt(2 * i));
    const lo = nibble(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Constant-time-ish equality of two byte strings (length leaks, contents do not). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
}

import { describe, expect, it } from "vitest";
import { utf8Decode, utf8Encode } from "./utf8";

describe("utf8", () => {
  it("matches TextEncoder/TextDecoder on valid text", () => {
    for (const s of [
      "",
      "abc",
      "é",
      "€",
      "𝄞",
      "a\u0000b",
      "日本語テキスト",
      "x".repeat(20000) + "🎉",
    ]) {
      const b = utf8Encode(s);
      expect(Buffer.from(b).equals(Buffer.from(new TextEncoder().encode(s)))).toBe(true);
      expect(utf8Decode(b)).toBe(s);
    }
  });

  it("refuses malformed UTF-8 (RFC 3629 section 4)", () => {
    const bad = [
      [0x80], // stray continuation
      [0xc0, 0x80], // overlong NUL
      [0xe0, 0x80, 0x80], // overlong
      [0xed, 0xa0, 0x80], // surrogate U+D800
      [0xf4, 0x90, 0x80, 0x80], // > U+10FFFF
      [0xe2, 0x82], // truncated
      [0xff],
    ];
    for (const b of bad) expect(utf8Decode(Uint8Array.from(b))).toBeUndefined();
  });
});

import { describe, expect, it } from "vitest";
import { BACKOFF_DEFAULTS, backoffDelayMs, base64url } from "./node-client";

describe("backoffDelayMs", () => {
  it("grows exponentially up to the cap, with full jitter", () => {
    const max = (a: number) => backoffDelayMs(a, BACKOFF_DEFAULTS, () => 0.999999);
    expect([0, 1, 2, 3].map(max)).toEqual([499, 999, 1999, 3999]);
    expect(max(20)).toBe(29_999);
    expect(max(10_000)).toBe(29_999); // no overflow to Infinity/NaN
    expect(backoffDelayMs(5, BACKOFF_DEFAULTS, () => 0)).toBe(0);
    expect(backoffDelayMs(-3, BACKOFF_DEFAULTS, () => 0.5)).toBe(250);
  });
});

describe("base64url", () => {
  it("matches Buffer's encoding for every length mod 3", () => {
    for (let n = 0; n < 70; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n) & 0xff);
      expect(base64url(b)).toBe(Buffer.from(b).toString("base64url"));
    }
  });
});

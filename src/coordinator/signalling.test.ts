import { describe, expect, it } from "vitest";
import { SignallingRelay, TokenBucket } from "./signalling";

describe("TokenBucket", () => {
  it("allows a burst, then the sustained rate", () => {
    const b = new TokenBucket(3, 2, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.take(400)).toBe(false); // 0.8 tokens
    expect(b.take(500)).toBe(true); // 1.0 token
    expect(b.take(10_000)).toBe(true);
    // Refill is capped at the burst size.
    let n = 0;
    while (b.take(10_000)) n++;
    expect(n).toBe(2);
  });

  it("does not refill when the clock goes backwards", () => {
    const b = new TokenBucket(1, 1, 1000);
    expect(b.take(1000)).toBe(true);
    expect(b.take(0)).toBe(false);
  });
});

describe("SignallingRelay", () => {
  it("maps browser sessions to opaque relay ids and back", () => {
    const r = new SignallingRelay(1000, 2);
    const s = r.open("b1", "pc-1", "n1", 0);
    if (typeof s === "string") throw new Error(s);
    expect(s.relayId).not.toBe("pc-1");
    expect(s.relayId.length).toBeGreaterThanOrEqual(16);
    expect(r.open("b1", "pc-1", "n1", 10)).toBe(s);
    expect(r.open("b1", "pc-1", "n2", 10)).toBe("wrong_peer");
    expect(r.fromNode("n1", s.relayId, 20)).toBe(s);
    expect(r.fromNode("n2", s.relayId, 20)).toBe("wrong_peer");
    expect(r.fromNode("n1", "guess", 20)).toBe("unknown_session");
    expect(r.fromBrowser("b1", "pc-1", 30)).toBe(s);
    expect(r.fromBrowser("b2", "pc-1", 30)).toBeUndefined();
  });

  it("caps sessions per browser and expires idle ones", () => {
    const r = new SignallingRelay(1000, 2);
    expect(typeof r.open("b1", "a", "n", 0)).toBe("object");
    expect(typeof r.open("b1", "b", "n", 0)).toBe("object");
    expect(r.open("b1", "c", "n", 0)).toBe("too_many_sessions");
    expect(typeof r.open("b2", "c", "n", 0)).toBe("object");
    const live = r.open("b1", "a", "n", 900);
    expect(typeof live).toBe("object");
    expect(typeof r.open("b1", "c", "n", 1500)).toBe("object"); // "b" expired
    expect(r.fromNode("n", (live as { relayId: string }).relayId, 2000)).toBe("unknown_session");
  });

  it("closes sessions with their browser or node", () => {
    const r = new SignallingRelay(1000, 8);
    r.open("b1", "a", "n1", 0);
    r.open("b1", "b", "n2", 0);
    r.open("b2", "a", "n1", 0);
    expect(
      r
        .closeNode("n1")
        .map((s) => s.browserConn)
        .sort(),
    ).toEqual(["b1", "b2"]);
    expect(r.size()).toBe(1);
    r.closeBrowser("b1");
    expect(r.size()).toBe(0);
  });
});

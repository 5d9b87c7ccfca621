import { describe, expect, it } from "vitest";
import { DeliveryStats } from "./stats";

describe("DeliveryStats", () => {
  it("adds up fog and HTTP bytes and the offload ratio", () => {
    const s = new DeliveryStats(10_000, () => 0);
    expect(s.snapshot().offloadRatio).toBe(0);
    s.delivered(300, 100);
    s.delivered(0, 600);
    const snap = s.snapshot();
    expect(snap.bytesFog).toBe(300);
    expect(snap.bytesHttp).toBe(700);
    expect(snap.offloadRatio).toBeCloseTo(0.3, 12);
    expect(snap.delivered).toBe(2);
  });

  it("reports deltas for browser.stats and resets them", () => {
    const s = new DeliveryStats(10_000, () => 0);
    s.delivered(10, 5);
    expect(s.takeReport()).toEqual({ p2pBytes: 10, httpBytes: 5 });
    expect(s.takeReport()).toEqual({ p2pBytes: 0, httpBytes: 0 });
    s.delivered(1, 2);
    expect(s.takeReport()).toEqual({ p2pBytes: 1, httpBytes: 2 });
    expect(s.snapshot().bytesFog).toBe(11); // totals are not reset
  });

  it("per-node throughput over the window, samples age out", () => {
    let now = 0;
    const s = new DeliveryStats(1000, () => now);
    s.nodeBytes("n1", 100_000, 100); // 1 MB/s
    now = 500;
    s.nodeBytes("n1", 50_000, 100); // 0.5 MB/s
    s.nodeFailure("n1");
    let n = s.snapshot().nodes.n1!;
    expect(n.bytes).toBe(150_000);
    expect(n.chunks).toBe(2);
    expect(n.failures).toBe(1);
    expect(n.throughputBps).toBe(750_000); // 150 kB over 200 ms
    now = 1200; // the first sample (t=0) is out of the window
    n = s.snapshot().nodes.n1!;
    expect(n.throughputBps).toBe(500_000);
    expect(n.bytes).toBe(150_000); // totals stay
    now = 5000;
    expect(s.snapshot().nodes.n1!.throughputBps).toBe(0);
  });

  it("counts fallbacks by reason and stalls", () => {
    const s = new DeliveryStats(1000);
    s.fallback("bad_hash");
    s.fallback("deadline", 3);
    s.stall();
    const snap = s.snapshot();
    expect(snap.fallbacks).toEqual({
      not_in_manifest: 0,
      no_nodes: 0,
      deadline: 3,
      node_error: 0,
      bad_hash: 1,
    });
    expect(snap.stalls).toBe(1);
    // The snapshot is a copy.
    snap.fallbacks.bad_hash = 99;
    expect(s.snapshot().fallbacks.bad_hash).toBe(1);
  });
});

// `npm run bench -- segment` runs end to end, small: the three arms (pear-fogd over a data
// channel, over HTTP, and libwebrtc as the node) each fetch verified segments, and every
// comparison is reported against the anchor it names (the figures are the bench's business).
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { parseReportLines } from "../../bench/report";
import { buildPearFogd } from "../support/pear-fogd";

beforeAll(() => {
  buildPearFogd("release");
});

describe("bench segment", () => {
  it("fetches segments through all three arms and reports each against its anchor", () => {
    const args = ["tsx", "bench/segment.ts", "--json", "--segments", "60"];
    const r = spawnSync("npx", args, { encoding: "utf8", timeout: 110_000 });
    expect(r.status, r.stderr).toBe(0);
    const m = parseReportLines(r.stdout);
    for (const p of ["p50", "p95", "p99", "max"]) {
      const http = m.get(`segment_ms_${p}`)!;
      const lib = m.get(`segment_ms_${p}_vs_libwebrtc`)!;
      expect(http.anchor).toBe("http");
      expect(lib.anchor).toBe("libwebrtc_node");
      expect(lib.value).toBe(http.value); // the same pear-fogd figure, two anchors
      for (const l of [http, lib]) {
        expect(l.value).toBeGreaterThan(0);
        expect(l.anchor_value).toBeGreaterThan(0);
        expect(l.ratio).toBeCloseTo(l.value! / l.anchor_value!, 3);
      }
    }
    // Each serving process did the work of its arm.
    const cpu = m.get("node_cpu_ms_per_segment_vs_libwebrtc")!;
    expect(cpu.value).toBeGreaterThan(0);
    expect(cpu.anchor_value).toBeGreaterThan(0);
    // The viewer's libwebrtc threads received both data-channel arms, and are a part of the
    // viewer's CPU (slack: /proc counts threads in 10 ms ticks, 0.17 ms over 60 segments).
    const webrtc = m.get("viewer_webrtc_cpu_ms_per_segment")!;
    expect(webrtc.anchor).toBe("libwebrtc_node");
    expect(webrtc.value).toBeGreaterThan(0);
    expect(webrtc.anchor_value).toBeGreaterThan(0);
    expect(webrtc.value).toBeLessThanOrEqual(m.get("viewer_cpu_ms_per_segment")!.value! + 0.2);
  });
});

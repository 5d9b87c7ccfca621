// `npm run bench -- swarm` runs end to end, small: viewers in processes of their own, all three
// phases, and prints the JSON lines bench/report.ts defines (the figures themselves are the
// bench's business, not a test's).
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { parseReportLines } from "../../bench/report";
import { buildAgentBundle, buildPearFogd } from "../support/pear-fogd";

// The bench builds what it runs; built here first, the test's time is the bench's own.
beforeAll(() => {
  buildPearFogd("release");
  buildAgentBundle();
});

describe("bench swarm", () => {
  it("runs a small swarm over two viewer processes and reports all three phases", () => {
    const args = [
      "tsx",
      "bench/swarm.ts",
      "--json",
      ...["--viewers", "3", "--viewer-processes", "2", "--nodes", "2", "--catalogue", "3"],
      ...["--segments", "4", "--duration", "12", "--warmup", "4", "--arrival-spread", "1"],
    ];
    const r = spawnSync("npx", args, { encoding: "utf8", timeout: 170_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/3 viewers in 2 processes/);
    const m = parseReportLines(r.stdout);
    for (const l of m.values()) {
      expect(typeof l.metric).toBe("string");
      expect(typeof l.unit).toBe("string");
    }
    const delivered = m.get("segments_delivered")!;
    expect(delivered.value).toBeGreaterThan(0);
    expect(delivered.anchor_value).toBeGreaterThan(0);
    // Every byte arrived verified, and the fog served some of them.
    expect(m.get("offload_ratio_all")!.value).toBeGreaterThan(0);
    expect(m.get("offload_ratio_all")!.value).toBeLessThanOrEqual(1);
    const p95 = m.get("p95_segment_ms")!;
    expect(p95.anchor).toBe("http_only");
    expect(p95.ratio).toBeCloseTo(p95.value! / p95.anchor_value!, 3);
    // The third phase: the same viewers with libwebrtc nodes, compared with the pear-fogd phase.
    const lib = m.get("p95_segment_ms_vs_libwebrtc_nodes")!;
    expect(lib.anchor).toBe("libwebrtc_nodes");
    expect(lib.value).toBe(p95.value);
    expect(lib.anchor_value).toBeGreaterThan(0);
    expect(m.get("offload_ratio_libwebrtc_nodes")!.value).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/fog_libwebrtc: \d+ segments/);
    expect(m.get("viewer_processes")!.value).toBe(2);
    expect(m.get("peer_connections")!.value).toBeGreaterThan(0);
    // The fog phase's origin traffic counts from when its nodes start, empty: every byte the fog
    // served came from there first. Ranges served twice are a part of it.
    const origin = m.get("origin_bytes")!.value!;
    expect(origin).toBeGreaterThan(0);
    const repeat = m.get("origin_fill_repeat_bytes")!.value!;
    expect(repeat).toBeGreaterThanOrEqual(0);
    expect(repeat).toBeLessThanOrEqual(origin);
    expect(r.stderr).not.toMatch(/error:/);
  }, 180_000);
});

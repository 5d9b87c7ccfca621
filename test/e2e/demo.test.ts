// The main job, end to end: `npm run demo`'s program with a short video. Three pear-fogd nodes,
// the coordinator, the SDK in Chromium; the stream must play to the end from the fog. It plays
// at 2x (viewers play at 1x; the demo itself defaults to 4x to be quick). The origin fills the
// fog with each byte once.
import { execFileSync, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

it("plays a published HLS stream to the end from three pear-fogd nodes", () => {
  execFileSync(process.execPath, ["scripts/build.mjs", "sdk"], { cwd: ROOT });
  const r = spawnSync("npx", ["tsx", "scripts/demo/fog-cdn.ts"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 240_000,
    env: { ...process.env, PEAR_FOG_DEMO_SECONDS: "30", PEAR_FOG_DEMO_RATE: "2" },
  });
  const out = `${r.stdout}\n${r.stderr}`;
  expect(r.status, out).toBe(0);
  const m =
    /^offload=([\d.]+)% stalls=(\d+) fallback_segments=(\d+) bytes_fog=(\d+) bytes_http=(\d+)$/m.exec(
      r.stdout,
    );
  expect(m, out).not.toBeNull();
  const [, offload, stalls, , fog, http] = m!.map(Number);
  expect(offload, out).toBeGreaterThanOrEqual(90);
  expect(stalls, out).toBe(0);
  expect(fog! + http!, out).toBeGreaterThan(0);
  expect(out).toMatch(/playback reached the end/);
  // The origin served the fog each byte once (seeded on one node, replicated node to node): the
  // nodes' fills are at most what the publisher read, the whole stream once.
  const o = /origin: \d+ bytes to the viewer, (\d+) to fill the nodes \(and (\d+) read by the/.exec(
    out,
  );
  expect(o, out).not.toBeNull();
  expect(Number(o![1]), out).toBeLessThanOrEqual(Number(o![2]));
}, 300_000);

// The demo's (and the swarm bench's) origin counts what it serves: segment bytes, and byte ranges
// served before (a chunk the fog filled from the origin twice).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { startOrigin } from "../../scripts/demo/origin";

const dir = mkdtempSync(join(tmpdir(), "pear-fog-origin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("counts segment bytes, and ranges it served before as repeats", async () => {
  writeFileSync(join(dir, "a.ts"), new Uint8Array(1000));
  writeFileSync(join(dir, "b.json"), "{}");
  const origin = await startOrigin(dir, {});
  try {
    const get = async (path: string, range?: string) => {
      const r = await fetch(origin.url + path, { headers: range ? { range } : {} });
      return [r.status, (await r.arrayBuffer()).byteLength];
    };
    expect(await get("/a.ts", "bytes=0-99")).toEqual([206, 100]);
    expect(await get("/a.ts", "bytes=100-199")).toEqual([206, 100]);
    expect(await get("/a.ts", "bytes=0-99")).toEqual([206, 100]); // the same range again
    expect(await get("/a.ts")).toEqual([200, 1000]); // whole: a viewer's GET, not a fill
    expect(await get("/b.json")).toEqual([200, 2]); // not a segment
    expect(origin.segmentBytes()).toBe(1300);
    expect(origin.repeatRangeBytes()).toBe(100);
  } finally {
    await origin.close();
  }
});

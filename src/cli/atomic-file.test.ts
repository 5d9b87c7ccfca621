import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeFileAtomic } from "./atomic-file";

const dir = mkdtempSync(join(tmpdir(), "pear-fog-atomic-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("writeFileAtomic", () => {
  it("writes, replaces, sets the mode of a new file, leaves no temp file", () => {
    const p = join(dir, "a");
    writeFileAtomic(p, "one", { mode: 0o600 });
    expect(readFileSync(p, "utf8")).toBe("one");
    expect(statSync(p).mode & 0o777).toBe(0o600);
    writeFileAtomic(p, new Uint8Array([1, 2, 3]), { fsync: false });
    expect([...readFileSync(p)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(["a"]);
  });

  it("on failure keeps the old target and removes the temp file", () => {
    const target = join(dir, "d");
    mkdirSync(join(target, "x"), { recursive: true }); // rename over a non-empty dir fails
    expect(() => writeFileAtomic(target, "data")).toThrow();
    expect(statSync(target).isDirectory()).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith("."))).toEqual([]);
    expect(() => writeFileAtomic(join(dir, "missing", "f"), "x")).toThrow(/ENOENT/);
  });
});

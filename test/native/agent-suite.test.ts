// "Same bundle, same results": the agent's and protocol's unit tests run on Node (vitest) and
// inside pear-fogd's QuickJS-ng host (`make agent-tests`: the same test files bundled with
// src/platform/native/vitest-shim.ts for "vitest"). Both runs must pass and name the same tests.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";
import { NATIVE_DIR, startPearFogd } from "../support/pear-fogd";

const ROOT = resolve(NATIVE_DIR, "../..");

/** The files `make agent-tests` bundles (same rule as the Makefile). */
function suiteFiles(): string[] {
  const out = execFileSync(
    "make",
    ["-s", "-C", NATIVE_DIR, "--no-print-directory", "-f", "Makefile", "-f", "-", "print-files"],
    { input: "print-files:\n\t@echo $(AGENT_TEST_FILES)\n", encoding: "utf8" },
  );
  return out.trim().split(/\s+/);
}

it("the agent's unit tests pass on Node and inside pear-fogd, the same tests", async () => {
  const files = suiteFiles();
  expect(files.length).toBeGreaterThan(5);
  // Node
  const tmp = mkdtempSync(join(tmpdir(), "agent-suite-"));
  const report = join(tmp, "vitest.json");
  try {
    execFileSync("npx", ["vitest", "run", ...files, "--reporter=json", `--outputFile=${report}`], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "ignore"],
    });
    const j = JSON.parse(readFileSync(report, "utf8")) as {
      testResults: {
        assertionResults: { ancestorTitles: string[]; title: string; status: string }[];
      }[];
    };
    const node = j.testResults.flatMap((f) =>
      f.assertionResults.map((a) => ({
        name: [...a.ancestorTitles, a.title].join(" > "),
        ok: a.status === "passed",
      })),
    );
    // pear-fogd (release build: the ASan build runs QuickJS-ng ~10x slower)
    execFileSync("make", ["-C", NATIVE_DIR, "agent-tests"], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    const prev = process.env.PEARFOG_JS_SLICE_MS;
    process.env.PEARFOG_JS_SLICE_MS = "120000"; // the suite has 1e6-character cases
    const d = await startPearFogd({
      build: "release",
      args: ["--agent-js", join(NATIVE_DIR, "build/agent-tests/tests.mjs")],
    });
    if (prev === undefined) delete process.env.PEARFOG_JS_SLICE_MS;
    else process.env.PEARFOG_JS_SLICE_MS = prev;
    try {
      const end = Date.now() + 170_000;
      while (!/agent-tests: \d+ passed/.test(d.log()) && Date.now() < end)
        await new Promise((r) => setTimeout(r, 100));
      const native = [...d.log().matchAll(/agent-test (ok|FAIL) ("(?:[^"\\]|\\.)*")/g)].map(
        (m) => ({ name: JSON.parse(m[2]!) as string, ok: m[1] === "ok" }),
      );
      expect(native.filter((t) => !t.ok)).toEqual([]);
      expect(node.filter((t) => !t.ok)).toEqual([]);
      // the native-only tests (src/platform/native/*.qjs-test.ts) ran and passed too
      const nativeOnly = native.filter((t) => t.name.startsWith("native platform (inside"));
      expect(nativeOnly.length).toBe(8); // 6 platform + 2 runTask (sandbox)
      expect(
        native
          .filter((t) => !nativeOnly.includes(t))
          .map((t) => t.name)
          .sort(),
      ).toEqual(node.map((t) => t.name).sort());
    } finally {
      await d.stop();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}, 240_000);

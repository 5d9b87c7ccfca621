import { afterAll, describe, expect, it } from "vitest";
import { PlatformError } from "../platform";
import { createTaskRunner } from "./run-task";

const runner = createTaskRunner();
afterAll(() => runner.close());
const L = { memoryBytes: 32 << 20, timeoutMs: 1000 };

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "resolved";
  } catch (e) {
    expect(e).toBeInstanceOf(PlatformError);
    expect((e as PlatformError).op).toBe("run_task");
    return (e as PlatformError).code;
  }
}

describe("runTask on Node", () => {
  it("runs task(input) and returns its JSON result", async () => {
    const src = "function task(x) { return { sum: x.a + x.b, list: [x.a, null, 'é'] }; }";
    expect(await runner.runTask(src, { a: 2, b: 3.5 }, L)).toEqual({
      sum: 5.5,
      list: [2, null, "é"],
    });
    // many at once, in a reused pool
    const rs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runner.runTask("function task(n){return n*n}", i, L)),
    );
    expect(rs).toEqual(Array.from({ length: 20 }, (_, i) => i * i));
  });

  it("types the failures: throw, timeout, memory, bad_result", async () => {
    expect(await code(runner.runTask("function task(){ throw new Error('no') }", 1, L))).toBe(
      "throw",
    );
    expect(await code(runner.runTask("function task(){ return x.y }", 1, L))).toBe("throw");
    expect(await code(runner.runTask("function task( {", 1, L))).toBe("throw");
    const t0 = Date.now();
    expect(
      await code(runner.runTask("function task(){ for(;;){} }", 1, { ...L, timeoutMs: 200 })),
    ).toBe("timeout");
    expect(Date.now() - t0).toBeLessThan(2000);
    // a microtask loop is bounded too (microtaskMode afterEvaluate)
    const micro =
      "function task(){ Promise.resolve().then(function f(){ Promise.resolve().then(f) }); return 1 }";
    expect(await code(runner.runTask(micro, 1, { ...L, timeoutMs: 200 }))).toBe("timeout");
    // top-level code of the source is under the limit as well
    expect(
      await code(runner.runTask("while(true){}; function task(){}", 1, { ...L, timeoutMs: 200 })),
    ).toBe("timeout");
    const hog = "function task(){ var a = []; for(;;) a.push(new Array(1e5).fill(1.5)); }";
    expect(await code(runner.runTask(hog, 1, { memoryBytes: 16 << 20, timeoutMs: 20_000 }))).toBe(
      "memory",
    );
    expect(await code(runner.runTask("function task(){ return function(){} }", 1, L))).toBe(
      "bad_result",
    );
    expect(await code(runner.runTask("function task(){ var o={}; o.o=o; return o }", 1, L))).toBe(
      "bad_result",
    );
    expect(await code(runner.runTask("function task(){ return 1n }", 1, L))).toBe("bad_result");
    // and the next task is fine
    expect(await runner.runTask("function task(x){ return x + 1 }", 41, L)).toBe(42);
  }, 60_000);

  it("gives each task a fresh global and no way out to the host", async () => {
    const leak =
      "var seen; function task(x){ var old = globalThis.kept; globalThis.kept = x; return old === undefined ? null : old }";
    expect(await runner.runTask(leak, 1, L)).toBeNull();
    expect(await runner.runTask(leak, 2, L)).toBeNull();
    const escape = `function task(){
      var out = [];
      try { out.push(this.constructor.constructor("return typeof process")()) } catch (e) { out.push("blocked") }
      try { out.push(eval("1")) } catch (e) { out.push("blocked") }
      out.push(typeof require, typeof process, typeof setTimeout, typeof fetch);
      return out;
    }`;
    expect(await runner.runTask(escape, null, L)).toEqual([
      "blocked",
      "blocked",
      "undefined",
      "undefined",
      "undefined",
      "undefined",
    ]);
  });
});

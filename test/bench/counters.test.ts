// The /proc readings the benches take around a phase: a process's CPU and some of its threads'.
import { describe, expect, it } from "vitest";
import { procCpuS, threadsCpuS } from "../../bench/counters";

/** Keeps this thread busy for `ms` milliseconds. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe("bench counters", () => {
  it("counts the CPU of the threads a name prefix picks, and none for a name no thread has", () => {
    const self0 = procCpuS(process.pid);
    const main0 = threadsCpuS("self", "node"); // Node's main thread is called "node"
    spin(200);
    expect(threadsCpuS("self", "node") - main0).toBeGreaterThanOrEqual(0.1);
    expect(procCpuS(process.pid) - self0).toBeGreaterThanOrEqual(0.1);
    expect(threadsCpuS("self", "no-such-thread")).toBe(0);
  });

  it("reads a process that is gone as 0, not an error", () => {
    expect(procCpuS(2 ** 22 + 1)).toBe(0); // above Linux's pid_max limit: never a process
  });
});

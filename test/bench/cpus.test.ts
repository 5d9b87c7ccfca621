// The swarm bench's CPU placement (bench/swarm/cpus.ts) against the real kernel: taskset moves
// a live process, every thread of it, and refuses what cannot be done.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { cpusOf, pinProcess, PinError, splitCpus } from "../../bench/swarm/cpus";

describe("swarm CPU placement", () => {
  it("splits the CPUs in two halves, servers first; nothing to split on one", () => {
    expect(splitCpus(1)).toBeUndefined();
    expect(splitCpus(2)).toEqual({ servers: "0", viewers: "1" });
    expect(splitCpus(3)).toEqual({ servers: "0", viewers: "1-2" });
    expect(splitCpus(8)).toEqual({ servers: "0-3", viewers: "4-7" });
  });

  it.runIf(availableParallelism() >= 2)(
    "pins every thread of a live process, and says why it cannot",
    async () => {
      // A Node process has several threads (V8 platform, libuv) by the time it prints.
      const child = spawn(process.execPath, [
        "-e",
        "console.log('up'); setInterval(() => {}, 1e3)",
      ]);
      try {
        await new Promise((r) => child.stdout.once("data", r));
        const pid = child.pid!;
        const { servers } = splitCpus()!;
        pinProcess(pid, servers);
        const tids = readdirSync(`/proc/${pid}/task`).map(Number);
        expect(tids.length).toBeGreaterThan(1);
        for (const tid of tids) expect(cpusOf(tid)).toBe(servers);
        expect(() => pinProcess(pid, "4096")).toThrow(PinError);
      } finally {
        child.kill("SIGKILL");
      }
      await new Promise((r) => child.once("exit", r));
      expect(() => pinProcess(child.pid!, "0")).toThrow(/pin pid \d+ to CPUs 0: /);
    },
  );
});

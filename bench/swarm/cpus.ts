// CPU placement of the swarm bench's processes (`pinCpus: 1`). On one machine the viewers and
// the servers (origin, coordinator, fog nodes) take turns on the same cores, so a viewer's
// segment waits whenever a node is running, which real viewers, on devices of their own, never
// do. Pinned, the servers get the first half of the CPUs and the viewers (and this process)
// the rest, in both phases alike: the HTTP-only viewers share nothing with the origin, the fog
// viewers nothing with the nodes, and the nodes still compete with each other, the coordinator
// and the origin's fills for theirs. Uses taskset(1) (util-linux).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";

export interface CpuSets {
  /** CPU list (taskset -c syntax) of the origin, the coordinator and the nodes. */
  servers: string;
  /** CPU list of the viewer processes and the bench process. */
  viewers: string;
}

/** The two halves of `count` CPUs; undefined below 2 (nothing to split). */
export function splitCpus(count = availableParallelism()): CpuSets | undefined {
  if (count < 2) return undefined;
  const half = Math.floor(count / 2);
  const list = (a: number, b: number) => (a === b ? `${a}` : `${a}-${b}`);
  return { servers: list(0, half - 1), viewers: list(half, count - 1) };
}

/** The CPU placement could not be applied. */
export class PinError extends Error {
  constructor(pid: number, cpus: string, detail: string) {
    super(`pin pid ${pid} to CPUs ${cpus}: ${detail}`);
    this.name = "PinError";
  }
}

/**
 * Restricts every thread of `pid` to `cpus`; threads it starts later inherit the mask. Throws
 * PinError when taskset fails (no such process, no taskset, a CPU the machine lacks).
 */
export function pinProcess(pid: number, cpus: string): void {
  // taskset -a walks /proc/PID/task and says nothing when there is none.
  if (!existsSync(`/proc/${pid}/task`)) throw new PinError(pid, cpus, "no such process");
  try {
    execFileSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "pipe" });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new PinError(pid, cpus, err.stderr?.toString().trim() || err.message);
  }
}

/** The CPU list the kernel allows `pid` now (taskset's reading), e.g. "0" or "0,1". */
export function cpusOf(pid: number): string {
  const out = execFileSync("taskset", ["-c", "-p", String(pid)], { encoding: "utf8" });
  return out.slice(out.lastIndexOf(":") + 1).trim();
}

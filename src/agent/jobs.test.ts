// Runs on Node (vitest) and inside pear-fogd (make agent-tests): no node: imports.
import { describe, expect, it } from "vitest";
import {
  REFERENCE_KERNEL,
  commitHash,
  type JobNodeToCoordinator,
  type JobTask,
} from "../protocol/jobs";
import { PlatformError, type Platform, type TaskLimits } from "../platform/platform";
import { JobRunner } from "./jobs";

const FILES: Record<string, string> = {
  "/proc/meminfo":
    "MemTotal:        131072 kB\nMemFree:          20000 kB\nMemAvailable:     65536 kB\n",
  "/proc/loadavg": "0.50 0.40 0.30 1/90 1234\n",
  "/proc/cpuinfo": "processor\t: 0\nmodel\t: x\n\nprocessor\t: 1\nmodel\t: x\n",
  "/etc/openwrt_release": "DISTRIB_ID='OpenWrt'\nDISTRIB_ARCH='mipsel_24kc'\n",
};

/** A platform whose sandbox knows a few sources by name (no eval here). */
function fakePlatform(runTask?: Platform["runTask"]): Platform {
  let clock = 0;
  const p: Partial<Platform> = {
    now: () => (clock += 5),
    readFile: async (path) =>
      FILES[path] === undefined ? null : new TextEncoder().encode(FILES[path]),
    randomBytes: (n) => new Uint8Array(n).fill(7),
    log: () => undefined,
    runTask,
  };
  return p as Platform;
}

const run: Platform["runTask"] = async (source: string, input: unknown, _l: TaskLimits) => {
  if (source === REFERENCE_KERNEL) return 1;
  if (source === "double") return (input as number) * 2;
  if (source === "big") return "x".repeat(20_000);
  throw new PlatformError("run_task", source, "as asked");
};

const task = (a: string, source: string, input: unknown): JobTask => ({
  t: "job.task",
  a,
  source,
  input,
  limits: { memoryBytes: 16 << 20, timeoutMs: 1000 },
});

async function settle() {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe("JobRunner", () => {
  it("advertises facts from /proc and OpenWrt's release file once the kernel is timed", async () => {
    const r = new JobRunner(fakePlatform(run), "did:key:zN", () => undefined, { slots: 2 });
    await r.start();
    await r.ready();
    expect(r.currentFacts()).toEqual({
      arch: "mipsel_24kc",
      cpus: 2,
      memTotalBytes: 131072 * 1024,
      memFreeBytes: 65536 * 1024,
      load: 0.25,
      slots: 2,
      benchMs: 5,
    });
    // without a sandbox: no slots, and tasks are refused as unsupported
    const sent: JobNodeToCoordinator[] = [];
    const none = new JobRunner(fakePlatform(), "did:key:zN", (m) => sent.push(m));
    await none.start();
    expect(none.currentFacts()?.slots).toBe(0);
    none.onMessage(task("j.1", "double", 1));
    expect(sent).toMatchObject([{ t: "job.fail", a: "j.1", code: "unsupported" }]);
  });

  it("commits to the result, reveals it only when asked, and forgets cancelled work", async () => {
    const sent: JobNodeToCoordinator[] = [];
    const r = new JobRunner(fakePlatform(run), "did:key:zN", (m) => sent.push(m));
    await r.start();
    await r.ready();
    r.onMessage(task("j.1", "double", 21));
    await settle();
    expect(sent).toHaveLength(1);
    const c = sent[0] as Extract<JobNodeToCoordinator, { t: "job.commit" }>;
    expect(c.t).toBe("job.commit");
    r.onMessage({ t: "job.reveal", a: "j.1" });
    const res = sent[1] as Extract<JobNodeToCoordinator, { t: "job.result" }>;
    expect(res).toMatchObject({ t: "job.result", a: "j.1", result: 42 });
    expect(commitHash("j.1", "did:key:zN", res.salt, res.result)).toBe(c.hash);
    r.onMessage({ t: "job.reveal", a: "j.1" }); // once only
    expect(sent).toHaveLength(2);
    r.onMessage(task("j.2", "double", 1));
    r.onMessage({ t: "job.cancel", a: "j.2" });
    await settle();
    expect(sent).toHaveLength(2);
  });

  it("reports typed failures and oversized results", async () => {
    const sent: JobNodeToCoordinator[] = [];
    const r = new JobRunner(fakePlatform(run), "did:key:zN", (m) => sent.push(m), { queue: 8 });
    await r.start();
    await r.ready();
    for (const [i, s] of ["throw", "timeout", "memory", "weird", "big"].entries()) {
      r.onMessage(task(`j.${i}`, s, 0));
      await settle();
    }
    expect(sent.map((m) => (m.t === "job.fail" ? m.code : m.t))).toEqual([
      "throw",
      "timeout",
      "memory",
      "throw",
      "bad_result",
    ]);
  });

  it("TEST-ONLY sabotage returns a consistent wrong result", async () => {
    const sent: JobNodeToCoordinator[] = [];
    const r = new JobRunner(fakePlatform(run), "did:key:zS", (m) => sent.push(m), {
      sabotageRate: 1,
    });
    await r.start();
    await r.ready();
    r.onMessage(task("j.1", "double", 2));
    await settle();
    r.onMessage({ t: "job.reveal", a: "j.1" });
    expect(sent[1]).toMatchObject({ t: "job.result", result: { sabotaged: "4" } });
  });
});

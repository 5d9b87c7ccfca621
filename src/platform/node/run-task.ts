// Platform.runTask on Node (src/platform/platform.ts): each task runs in a fresh node:vm context
// inside a worker_thread whose V8 heap is capped by `resourceLimits`, so a task that throws,
// loops or exhausts memory fails that task only. Workers are pooled per memory limit (a spawn
// costs ~20 ms; a fresh context ~1 ms); a worker that hit its heap limit or was stopped by the
// watchdog is discarded.
//
// The context's global is a null-prototype object (no outer-realm constructor to climb to) and
// code generation from strings (eval, Function) and WebAssembly are off, which blocks the known
// `this.constructor.constructor("return process")` escape. Node's docs say node:vm is not a
// security mechanism: on Node this sandbox bounds resources and isolates faults for development
// and tests; on routers the boundary is pear-fogd's QuickJS sandbox (src/platform/native/).
//
// CPU time: node:vm's `timeout` is measured on the wall clock while the script runs, which is
// CPU time on an idle core and an upper bound on a busy one. A watchdog in the parent terminates
// the worker when no reply comes within timeoutMs + WATCHDOG_GRACE_MS (getters on the sandbox's
// global, a hung worker).
import { Worker } from "node:worker_threads";
import { PlatformError, type TaskLimits } from "../platform";

/** Extra wall time the parent grants a task before it terminates the worker, milliseconds. */
export const WATCHDOG_GRACE_MS = 2000;
/** Idle workers kept per memory limit (count). */
export const MAX_IDLE_WORKERS = 4;
/**
 * Tasks one worker runs before it is replaced (count). Dropped contexts are not always
 * collected before the next task starts, so a long-lived worker's heap creeps towards the
 * limit and a task could fail "memory" for its predecessors' garbage (seen: 2 in 2,500
 * ray-tracing tiles at 64 MiB). A spawn costs ~20 ms, i.e. < 1 ms per task.
 */
export const MAX_TASKS_PER_WORKER = 32;

const MIB = 1024 * 1024;

// The worker: CommonJS, evaluated from this string (no file to resolve under tsx, vitest or a
// bundle). Each message {id, source, input (JSON text), timeoutMs} gets {id, kind, text}.
// The wrapper runs inside the context and returns a primitive string, so nothing the task
// defines is touched from outside the timeout.
const WORKER_SOURCE = String.raw`
const { parentPort } = require("node:worker_threads");
const vm = require("node:vm");
const scripts = new Map();
const RUN = new vm.Script(
  "(function () {" +
  "  var r;" +
  "  try { r = task(JSON.parse(__pf_in)); }" +
  "  catch (e) { try { return 'throw:' + String(e && e.stack ? e.stack : e).slice(0, 400); } catch (_) { return 'throw:unprintable'; } }" +
  "  var s;" +
  "  try { s = JSON.stringify(r); } catch (e) { return 'bad:' + String(e).slice(0, 200); }" +
  "  return typeof s === 'string' ? 'ok:' + s : 'bad:result is not JSON (' + typeof r + ')';" +
  "})()",
  { filename: "pear-fog-task-runner.js" },
);
function compile(source) {
  let s = scripts.get(source);
  if (!s) {
    s = new vm.Script(source, { filename: "task.js" });
    if (scripts.size >= 16) scripts.delete(scripts.keys().next().value);
    scripts.set(source, s);
  }
  return s;
}
parentPort.on("message", (m) => {
  let kind, text;
  try {
    const ctx = vm.createContext(Object.create(null), {
      codeGeneration: { strings: false, wasm: false },
      microtaskMode: "afterEvaluate",
    });
    const deadline = Date.now() + m.timeoutMs;
    compile(m.source).runInContext(ctx, { timeout: m.timeoutMs });
    ctx.__pf_in = m.input;
    const left = Math.max(1, deadline - Date.now());
    const out = RUN.runInContext(ctx, { timeout: left });
    if (typeof out !== "string") { kind = "bad"; text = "no result"; }
    else { const i = out.indexOf(":"); kind = out.slice(0, i); text = out.slice(i + 1); }
  } catch (e) {
    kind = e && e.code === "ERR_SCRIPT_EXECUTION_TIMEOUT" ? "timeout" : "throw";
    text = kind === "timeout" ? "CPU time limit" : String(e && e.message).slice(0, 400);
  }
  parentPort.postMessage({ id: m.id, kind, text });
});
`;

interface Reply {
  id: number;
  kind: "ok" | "throw" | "bad" | "timeout";
  text: string;
}

export interface NodeTaskRunner {
  runTask(source: string, input: unknown, limits: TaskLimits): Promise<unknown>;
  /** Terminates every worker (idle and busy: their tasks reject). */
  close(): Promise<void>;
}

export function createTaskRunner(): NodeTaskRunner {
  const idle = new Map<number, Worker[]>();
  const uses = new WeakMap<Worker, number>();
  const busy = new Set<Worker>();
  let seq = 0;
  let closed = false;

  function spawn(memoryBytes: number): Worker {
    const oldMb = Math.max(4, Math.ceil(memoryBytes / MIB));
    return new Worker(WORKER_SOURCE, {
      eval: true,
      env: {},
      stdout: true,
      stderr: true,
      resourceLimits: {
        maxOldGenerationSizeMb: oldMb,
        maxYoungGenerationSizeMb: Math.max(1, Math.min(8, Math.floor(oldMb / 4))),
        stackSizeMb: 4,
      },
    });
  }

  function release(w: Worker, memoryBytes: number): void {
    busy.delete(w);
    const list = idle.get(memoryBytes) ?? [];
    const n = (uses.get(w) ?? 0) + 1;
    uses.set(w, n);
    if (closed || list.length >= MAX_IDLE_WORKERS || n >= MAX_TASKS_PER_WORKER) {
      void w.terminate();
      return;
    }
    list.push(w);
    idle.set(memoryBytes, list);
  }

  async function runTask(source: string, input: unknown, limits: TaskLimits): Promise<unknown> {
    const fail = (code: string, msg: string) => new PlatformError("run_task", code, msg);
    if (closed) throw fail("closed", "task runner closed");
    let inputText: string;
    try {
      inputText = JSON.stringify(input);
    } catch (e) {
      throw fail("bad_input", String(e));
    }
    if (inputText === undefined) throw fail("bad_input", "input is not JSON");
    const w = idle.get(limits.memoryBytes)?.pop() ?? spawn(limits.memoryBytes);
    busy.add(w);
    const id = ++seq;
    const reply = await new Promise<Reply | PlatformError>((resolve) => {
      const done = (r: Reply | PlatformError) => {
        clearTimeout(watchdog);
        w.off("message", onMessage);
        w.off("error", onError);
        w.off("exit", onExit);
        resolve(r);
      };
      const onMessage = (m: Reply) => {
        if (m.id === id) done(m);
      };
      const onError = (e: Error & { code?: string }) =>
        done(
          e.code === "ERR_WORKER_OUT_OF_MEMORY"
            ? fail("memory", `heap limit of ${limits.memoryBytes} bytes reached`)
            : fail("throw", `sandbox failed: ${e.message}`),
        );
      const onExit = () => done(fail("throw", "sandbox exited"));
      const watchdog = setTimeout(() => {
        done(fail("timeout", `no answer within ${limits.timeoutMs} ms + grace`));
      }, limits.timeoutMs + WATCHDOG_GRACE_MS);
      w.on("message", onMessage);
      w.on("error", onError);
      w.on("exit", onExit);
      w.postMessage({ id, source, input: inputText, timeoutMs: limits.timeoutMs });
    });
    if (reply instanceof PlatformError) {
      busy.delete(w);
      void w.terminate();
      throw reply;
    }
    if (reply.kind === "timeout") {
      // V8 stopped the script; the isolate is usable but may hold a half-built heap.
      busy.delete(w);
      void w.terminate();
      throw fail("timeout", `CPU time past ${limits.timeoutMs} ms`);
    }
    release(w, limits.memoryBytes);
    if (reply.kind === "throw") throw fail("throw", reply.text);
    if (reply.kind === "bad") throw fail("bad_result", reply.text);
    try {
      return JSON.parse(reply.text) as unknown;
    } catch {
      throw fail("bad_result", "result is not JSON");
    }
  }

  return {
    runTask,
    async close() {
      closed = true;
      const all = [...busy, ...[...idle.values()].flat()];
      idle.clear();
      busy.clear();
      await Promise.all(all.map((w) => w.terminate()));
    },
  };
}

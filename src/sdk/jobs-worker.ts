// A page that opts in to run edge-compute tasks (issue 7): `PearFog.jobWorker({coordinator})`
// opens its own /ws/browser link, offers `slots` (browser.jobs with the same facts a node sends)
// and runs the tasks it is given in a fresh Web Worker each, through the agent's JobRunner
// (commit then reveal, typed failures), so browsers and nodes follow one protocol. The
// coordinator treats the page as a node under an ephemeral id: unchecked credibility every
// session, no ledger credit. A browser cannot cap a worker's memory: a task that exhausts it
// fails as the browser decides ("memory" when its error says so, else "throw").
import { JobRunner } from "../agent/jobs";
import { BROWSER_NODE_PREFIX, type JobCoordinatorToNode } from "../protocol/jobs";
import { decodeCoordinatorToBrowser, encodeMessage } from "../protocol/messages";
import { PlatformError, type Platform, type TaskLimits } from "../platform/platform";
import { SDK_VERSION } from "./coordinator-link";

export interface JobWorkerOptions {
  /** ws(s)://…/ws/browser */
  coordinator: string;
  /** Tasks run at once (each in its own Web Worker). Default 1. */
  slots?: number;
  /** Reconnect delay after the link drops, milliseconds. Default 2000. */
  reconnectMs?: number;
  webSocket?: typeof WebSocket;
  /** Problems worth a console line (link errors, coordinator errors). */
  onWarning?: (detail: string) => void;
}

// The Web Worker: defines `task` from the source, runs it on the JSON input, answers
// {kind: ok|throw|bad, text}. A fresh worker per task: nothing carries over between tasks.
const WORKER_SOURCE = `self.onmessage = function (e) {
  var m = e.data, r, s;
  try { r = (new Function(m.source + "\\n;return task;"))()(JSON.parse(m.input)); }
  catch (err) { self.postMessage({ kind: "throw", text: String(err && err.message || err).slice(0, 400) }); return; }
  try { s = JSON.stringify(r); } catch (err) { self.postMessage({ kind: "bad", text: String(err).slice(0, 200) }); return; }
  self.postMessage(typeof s === "string" ? { kind: "ok", text: s } : { kind: "bad", text: "result is not JSON" });
};`;

let workerUrl: string | undefined;

/** Platform.runTask in a browser: a Web Worker per task, terminated at the CPU limit. */
export function browserRunTask(
  source: string,
  input: unknown,
  limits: TaskLimits,
): Promise<unknown> {
  const fail = (code: string, msg: string) => new PlatformError("run_task", code, msg);
  workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
  const w = new Worker(workerUrl);
  return new Promise((resolve, reject) => {
    const done = (f: () => void) => {
      clearTimeout(timer);
      w.terminate();
      f();
    };
    const timer = setTimeout(
      () => done(() => reject(fail("timeout", `CPU time past ${limits.timeoutMs} ms`))),
      limits.timeoutMs,
    );
    w.onmessage = (e: MessageEvent<{ kind: string; text: string }>) =>
      done(() => {
        const { kind, text } = e.data;
        if (kind === "throw") return reject(fail("throw", text));
        if (kind !== "ok") return reject(fail("bad_result", text));
        try {
          resolve(JSON.parse(text) as unknown);
        } catch {
          reject(fail("bad_result", "result is not JSON"));
        }
      });
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      const msg = String(e.message || "worker error");
      done(() => reject(fail(/memory/i.test(msg) ? "memory" : "throw", msg)));
    };
    w.postMessage({ source, input: JSON.stringify(input) });
  });
}

function browserPlatform(): Platform {
  const p: Partial<Platform> = {
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    readFile: () => Promise.resolve(null),
    randomBytes: (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
    log: () => undefined,
    runTask: browserRunTask,
  };
  return p as Platform;
}

export class JobWorker {
  private ws: WebSocket | undefined;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly runner: JobRunner;
  private readonly started: Promise<void>;

  constructor(private readonly o: JobWorkerOptions) {
    this.runner = new JobRunner(browserPlatform(), "browser", (m) => this.send(m), {
      slots: o.slots ?? 1,
      arch: "browser",
    });
    this.started = this.runner.start().then(() => this.runner.ready());
    void this.started.then(() => this.open());
  }

  /** Resolves when the reference kernel is timed and the offer is on its way. */
  ready(): Promise<void> {
    return this.started;
  }

  stats() {
    return { ...this.runner.stats, connected: this.ws?.readyState === 1 };
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.runner.stop();
    this.ws?.close(1000, "job worker stopping");
  }

  private send(m: Parameters<typeof encodeMessage>[0]): void {
    if (this.ws?.readyState === 1) this.ws.send(encodeMessage(m));
  }

  private open(): void {
    if (this.stopped) return;
    const WS = this.o.webSocket ?? WebSocket;
    const ws = new WS(this.o.coordinator);
    this.ws = ws;
    ws.onopen = () => this.send({ t: "browser.hello", version: SDK_VERSION });
    ws.onmessage = (ev: MessageEvent) => {
      let m;
      try {
        m = decodeCoordinatorToBrowser(String(ev.data));
      } catch {
        return;
      }
      if (m.t === "browser.welcome") {
        this.runner.setNodeId(BROWSER_NODE_PREFIX + m.browser);
        const facts = this.runner.currentFacts();
        if (facts) this.send({ t: "browser.jobs", facts });
      } else if (m.t === "job.task" || m.t === "job.reveal" || m.t === "job.cancel") {
        this.runner.onMessage(m as JobCoordinatorToNode);
      } else if (m.t === "error") {
        this.o.onWarning?.(`coordinator: ${m.code} ${m.detail}`);
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.runner.reset();
      if (!this.stopped) this.timer = setTimeout(() => this.open(), this.o.reconnectMs ?? 2000);
    };
    ws.onerror = () => this.o.onWarning?.("job worker link error");
  }
}

// The swarm bench's viewers spread over processes of their own (`viewerProcesses`, default 4):
// a viewer is a browser on a device of its own, with its own WebRTC stack. In one process, every
// viewer shares @roamhq/wrtc's one network thread and its blocking RTCDataChannel.send (a send
// waits for that thread while it decrypts other viewers' packets), which no two real browsers
// do; the HTTP-only viewers' sockets are the kernel's either way. Every phase uses the same
// processes, so the anchor and the fog run with the same layout.
//   child:  tsx bench/swarm/viewer-process.ts   (Node IPC: "setup" → "ready", then per phase
//           "run" → "done" or "error")
//   parent: startViewerProcess(setup) → run(request) per phase, close()
import { fork, type ChildProcess } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { Item } from "./catalogue";
import type { ViewerPlan } from "./schedule";
import { stopChild } from "./child";
import {
  coordinatorMessages,
  fallbackReasons,
  fogSessionOpener,
  openHttpSession,
  peerConnections,
} from "./sessions";
import { runViewer, type PlayerSpec, type ViewerResult } from "./viewer";

/** What every viewer process gets once, at start. */
export interface ViewerSetup {
  items: Item[];
  player: PlayerSpec;
  /** The coordinator's browser WebSocket URL (fog phase). */
  coordinatorWs: string;
  /** did:key the manifests are signed by. */
  publisher: string;
  sharePeers: boolean;
}

/** One phase for the viewers of one process. */
export interface RunRequest {
  /**
   * "http_only": plain HTTP; the others through the SDK: "fog" with pear-fogd nodes,
   * "fog_libwebrtc" with libwebrtc ones.
   */
  phase: "http_only" | "fog" | "fog_libwebrtc";
  viewers: { viewer: number; plan: ViewerPlan }[];
  /** Phase start, Date.now() milliseconds (the same instant for every process). */
  startEpochMs: number;
  durationMs: number;
}

/** What a process measured over one phase. */
export interface RunReport {
  results: ViewerResult[];
  /** CPU seconds of this process over the phase. */
  cpuS: number;
  /** This process's event-loop delay over the phase, p99, milliseconds. */
  loopDelayP99Ms: number;
  /** Coordinator socket messages (sent + received) during the phase. */
  coordinatorMessages: number;
  /** Peer connections created during the phase. */
  peerConnections: number;
  /** Chunks that fell back to HTTP during the phase, by the SDK's reason. */
  fallbackReasons: Record<string, number>;
}

export interface ViewerProcess {
  pid: number;
  run(req: RunRequest): Promise<RunReport>;
  close(): Promise<void>;
}

type ChildMessage = { t: "ready" } | ({ t: "done" } & RunReport) | { t: "error"; detail: string };

export async function startViewerProcess(setup: ViewerSetup): Promise<ViewerProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  // Answers come one per request, in order; an exit fails every request open.
  const waiting: { resolve(m: ChildMessage): void; reject(e: Error): void }[] = [];
  child.on("message", (m) => waiting.shift()?.resolve(m as ChildMessage));
  child.once("exit", (code, sig) => {
    const how = sig ? `killed by ${sig}` : `exit code ${code}`;
    for (const w of waiting.splice(0)) w.reject(new Error(`viewer process ${how}`));
  });
  const next = () =>
    new Promise<ChildMessage>((resolve, reject) => waiting.push({ resolve, reject }));
  const ready = next();
  child.send({ t: "setup", setup });
  const first = await ready;
  if (first.t !== "ready") throw new Error(`viewer process said: ${JSON.stringify(first)}`);
  return {
    pid: child.pid ?? 0,
    async run(req) {
      const answer = next();
      child.send({ t: "run", req });
      const m = await answer;
      if (m.t === "error") throw new Error(`viewer process: ${m.detail}`);
      if (m.t !== "done") throw new Error(`viewer process said: ${m.t}`);
      const { t: _t, ...report } = m;
      return report;
    },
    close: () => stopChild(child),
  };
}

/** Runs `req` for the viewers given, in this process. */
export async function runViewers(setup: ViewerSetup, req: RunRequest): Promise<RunReport> {
  const cpu0 = process.cpuUsage();
  const msgs0 = coordinatorMessages.sent + coordinatorMessages.received;
  const pcs0 = peerConnections.created;
  const reasons0 = { ...fallbackReasons };
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const fog =
    req.phase !== "http_only"
      ? fogSessionOpener(setup.coordinatorWs, setup.publisher, setup.sharePeers)
      : undefined;
  // The same instant in this process's clock.
  const start = performance.now() + (req.startEpochMs - Date.now());
  const end = start + req.durationMs;
  let results: ViewerResult[];
  try {
    results = await Promise.all(
      req.viewers.map(({ viewer, plan }) =>
        runViewer(viewer, plan, setup.items, fog ?? openHttpSession, setup.player, start, end),
      ),
    );
  } finally {
    fog?.close();
    loop.disable();
  }
  const cpu = process.cpuUsage(cpu0);
  const reasons: Record<string, number> = {};
  for (const [k, n] of Object.entries(fallbackReasons)) {
    if (n - (reasons0[k] ?? 0) > 0) reasons[k] = n - (reasons0[k] ?? 0);
  }
  return {
    results,
    cpuS: (cpu.user + cpu.system) / 1e6,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    coordinatorMessages: coordinatorMessages.sent + coordinatorMessages.received - msgs0,
    peerConnections: peerConnections.created - pcs0,
    fallbackReasons: reasons,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let setup: ViewerSetup | undefined;
  process.on("message", (m: { t: "setup"; setup: ViewerSetup } | { t: "run"; req: RunRequest }) => {
    if (m.t === "setup") {
      setup = m.setup;
      process.send!({ t: "ready" });
      return;
    }
    runViewers(setup!, m.req).then(
      (report) => process.send!({ t: "done", ...report }),
      (e: Error) => process.send!({ t: "error", detail: e.stack ?? e.message }),
    );
  });
  process.on("disconnect", () => process.exit(0)); // the bench is gone
  process.on("SIGTERM", () => process.exit(0));
}

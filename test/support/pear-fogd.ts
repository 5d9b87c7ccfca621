// Starts a real pear-fogd for integration tests: builds it (incrementally, ASan+UBSan build by
// default so memory errors surface in tests), runs it on loopback with a temp store and control
// socket, and waits for its "ready" line.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CtlClient } from "../../src/platform/node/ctl-client";

export const NATIVE_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../libs/webrtc-native",
);

export type Build = "san" | "release";

/** Path of the pear-fogd binary, built if needed (make is incremental). */
export function buildPearFogd(build: Build = "san"): string {
  const target = `build/${build}/pear-fogd`;
  execFileSync("make", ["-C", NATIVE_DIR, "-j2", target], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  return join(NATIVE_DIR, target);
}

export interface PearFogdOptions {
  build?: Build;
  /** Extra flags, e.g. ["--upload-cap", "1M"]. */
  args?: string[];
  /** Reuse a store directory (restart tests). */
  storeDir?: string;
  /** Serve HTTP on a free loopback port (default: HTTP off). */
  http?: boolean;
  /** Run this binary instead of building libs/webrtc-native (e.g. dist/x86_64/pear-fogd). */
  binary?: string;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface PearFogd {
  proc: ChildProcess;
  dir: string;
  storeDir: string;
  ctlPath: string;
  rtcPort: number;
  httpPort: number;
  ctl: CtlClient;
  /** Everything the daemon wrote to stderr so far. */
  log(): string;
  /** Stage bytes as a chunk through the control socket; returns its id (hex). */
  putChunk(data: Uint8Array): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startPearFogd(opts: PearFogdOptions = {}): Promise<PearFogd> {
  const bin = opts.binary ?? buildPearFogd(opts.build);
  const dir = mkdtempSync(join(tmpdir(), "pear-fogd-test-"));
  const storeDir = opts.storeDir ?? join(dir, "store");
  const ctlPath = join(dir, "ctl.sock");
  const proc = spawn(
    bin,
    [
      "--store-path",
      storeDir,
      "--ctl-socket",
      ctlPath,
      "--bind",
      "127.0.0.1",
      "--rtc-port",
      "0",
      "--http-port",
      String(opts.http ? await freePort() : 0),
      ...(opts.args ?? []),
    ],
    {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, ASAN_OPTIONS: "detect_leaks=1" },
    },
  );
  let stderr = "";
  proc.stderr!.setEncoding("utf8");
  proc.stderr!.on("data", (d: string) => (stderr += d));
  const ready = await new Promise<RegExpMatchArray>((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(`pear-fogd not ready in 10 s:\n${stderr}`)),
      10_000,
    );
    const check = () => {
      const m = stderr.match(/ready rtc_port=(\d+) http_port=(\d+)/);
      if (m) {
        clearTimeout(timer);
        res(m);
      }
    };
    proc.stderr!.on("data", check);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`pear-fogd exited (${code}) before ready:\n${stderr}`));
    });
  });
  const ctl = await CtlClient.connect(ctlPath);
  let staged = 0;
  return {
    proc,
    dir,
    storeDir,
    ctlPath,
    rtcPort: Number(ready[1]),
    httpPort: Number(ready[2]),
    ctl,
    log: () => stderr,
    async putChunk(data) {
      const id = createHash("sha256").update(data).digest("hex");
      const path = join(dir, `stage-${staged++}`);
      writeFileSync(path, data);
      await ctl.request("chunk_put", { chunk: id, path });
      rmSync(path);
      return id;
    },
    async stop(signal = "SIGTERM") {
      ctl.close();
      if (proc.exitCode !== null || proc.signalCode !== null) {
        if (!opts.storeDir) rmSync(dir, { recursive: true, force: true });
        return proc.exitCode;
      }
      const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
      proc.kill(signal);
      const code = await exited;
      if (!opts.storeDir) rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** The agent bundle for `--agent-js` (`make agent`; a cold build compiles qjsc first). */
export function buildAgentBundle(): string {
  execFileSync("make", ["-C", NATIVE_DIR, "agent"], { stdio: ["ignore", "ignore", "inherit"] });
  return join(NATIVE_DIR, "build/agent/agent.mjs");
}

/**
 * pear-fogd running the agent bundle, as on a router: a UCI file in `dir` turns sharing on and
 * points the agent at the coordinator at `coordinatorUrl` (http://…); the node key and the
 * agent's staging directory live in `dir` too.
 */
export async function startPearFogdWithAgent(
  dir: string,
  coordinatorUrl: string,
  opts: Omit<PearFogdOptions, "args"> & { extraConfig?: Record<string, string> } = {},
): Promise<PearFogd> {
  const agent = buildAgentBundle();
  const conf = join(dir, "pear-fog");
  const extra = Object.entries(opts.extraConfig ?? {})
    .map(([k, v]) => `\toption ${k} '${v}'\n`)
    .join("");
  writeFileSync(
    conf,
    `config pear-fog 'main'
\toption sharing '1'
\toption coordinator '${coordinatorUrl.replace(/^http/, "ws")}/ws/node'
\toption key_path '${join(dir, "node.key")}'
\toption agent_staging '${join(dir, "agent-staging")}'
${extra}`,
  );
  return startPearFogd({ ...opts, args: ["--config", conf, "--agent-js", agent] });
}

export function randomChunk(size: number): Uint8Array {
  return new Uint8Array(randomBytes(size));
}

export function sha256Hex(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

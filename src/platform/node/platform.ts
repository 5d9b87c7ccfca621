// The platform interface on Node: `ws` for the coordinator, fetch for origin fills, node:fs for
// state and staging files, pear-fogd's control socket via CtlClient. The agent never imports
// this file; src/agent/main.ts (the Node entry) does.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import WebSocket from "ws";
import type { WebSocketLike } from "../../coordinator/node-client";
import {
  PlatformError,
  type Daemon,
  type HttpGetOptions,
  type HttpResponse,
  type LogLevel,
  type Platform,
} from "../platform";
import { CtlClient, CtlError } from "./ctl-client";
import { createTaskRunner } from "./run-task";
import { daemonOverCtl } from "../daemon-ops";

export interface NodePlatformOptions {
  /** pear-fogd's control socket. */
  ctlPath: string;
  /** Directory for staged fill files (created). */
  stagingDir: string;
  /** Lowest level printed. Default "info". */
  logLevel?: LogLevel;
  /** Where log lines go. Default: stderr. */
  logSink?: (line: string) => void;
}

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface NodePlatform extends Platform {
  close(): void;
}

export async function createNodePlatform(o: NodePlatformOptions): Promise<NodePlatform> {
  await mkdir(o.stagingDir, { recursive: true });
  const ctl = await CtlClient.connect(o.ctlPath);
  const sink = o.logSink ?? ((l: string) => process.stderr.write(`${l}\n`));
  const min = LEVELS[o.logLevel ?? "info"];
  let tmpSeq = 0;
  const tasks = createTaskRunner(); // Platform.runTask: worker + node:vm sandbox (run-task.ts)
  return {
    now: () => Date.now(),
    localTime(ms) {
      const d = new Date(ms);
      return {
        minuteOfDay: d.getHours() * 60 + d.getMinutes(),
        month: `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`,
      };
    },
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    connectWebSocket: (url) =>
      new WebSocket(url, { maxPayload: 1 << 20 }) as unknown as WebSocketLike,
    httpGet,
    async readFile(path) {
      try {
        return new Uint8Array(await readFile(path));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw new PlatformError("file_read", (e as NodeJS.ErrnoException).code ?? "io", String(e));
      }
    },
    async writeFileAtomic(path, data, mode = 0o644) {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.tmp-${process.pid}-${tmpSeq++}`;
      await writeFile(tmp, data, { mode });
      await rename(tmp, path);
    },
    removeFile: (path) => rm(path, { force: true }),
    stagingPath: (name) => join(o.stagingDir, name),
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
    sha256: (data) => new Uint8Array(createHash("sha256").update(data).digest()),
    log(level, msg) {
      if (LEVELS[level] <= min) sink(`pear-fog-agent: ${level}: ${msg}`);
    },
    daemon: ctlDaemon(ctl),
    runTask: (source, input, limits) => tasks.runTask(source, input, limits),
    close: () => {
      ctl.close();
      void tasks.close();
    },
  };
}

async function httpGet(url: string, o: HttpGetOptions): Promise<HttpResponse> {
  const headers: Record<string, string> = {};
  if (o.range) headers.range = `bytes=${o.range[0]}-${o.range[1]}`;
  let r: Response;
  try {
    r = await fetch(url, { headers, signal: AbortSignal.timeout(o.timeoutMs), redirect: "follow" });
  } catch (e) {
    throw new PlatformError("http_get", "fetch", `${url}: ${String(e)}`);
  }
  const declared = Number(r.headers.get("content-length") ?? "NaN");
  if (declared > o.maxBytes) {
    await r.body?.cancel();
    throw new PlatformError("http_get", "too_big", `${url}: ${declared} bytes > ${o.maxBytes}`);
  }
  const parts: Uint8Array[] = [];
  let n = 0;
  if (r.body) {
    const reader = r.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.length;
      if (n > o.maxBytes) {
        await reader.cancel();
        throw new PlatformError("http_get", "too_big", `${url}: more than ${o.maxBytes} bytes`);
      }
      parts.push(value);
    }
  }
  const body = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    body.set(p, off);
    off += p.length;
  }
  return { status: r.status, body };
}

function ctlDaemon(ctl: CtlClient): Daemon {
  const req = async (op: string, fields: Record<string, unknown> = {}) => {
    try {
      return await ctl.request(op, fields);
    } catch (e) {
      if (e instanceof CtlError) throw new PlatformError(`ctl:${op}`, e.code, e.message);
      throw e;
    }
  };
  return daemonOverCtl(req);
}

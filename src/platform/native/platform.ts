// The platform interface inside pear-fogd (QuickJS-ng), on the native module "pear-fog:native"
// (libs/webrtc-native/src/mod_fog.h): loop timers, pear-fogd's log, files, getrandom, HTTP GET
// (http_client.c), and the daemon's control operations called directly (no socket). Same contract as
// src/platform/node/platform.ts; entry.ts wires it to startAgent.
import * as fog from "pear-fog:native";
import { daemonOverCtl } from "../daemon-ops";
import {
  PlatformError,
  type Daemon,
  type HttpGetOptions,
  type HttpResponse,
  type LogLevel,
  type Platform,
  type WebSocketLike,
} from "../platform";

export interface NativePlatformOptions {
  /** Directory for staged fill files (created). Default "/tmp/pear-fog-agent". */
  stagingDir: string;
  /** Lowest level logged. Default "info". */
  logLevel: LogLevel;
}

export const NATIVE_PLATFORM_DEFAULTS: NativePlatformOptions = {
  stagingDir: "/tmp/pear-fog-agent",
  logLevel: "info",
};

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

function isFogError(e: unknown): e is fog.FogError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === "string";
}

/** Re-throw a native failure as a PlatformError with the operation's name. */
function platformError(op: string, e: unknown): PlatformError {
  if (e instanceof PlatformError) return e;
  if (isFogError(e)) return new PlatformError(op, e.code, e.message);
  return new PlatformError(op, "native", String(e));
}

/** pear-fogd's control operations through fog.ctl, mapped as the Node platform maps replies. */
export function nativeDaemon(): Daemon {
  const req = async (op: string, fields: Record<string, unknown> = {}) => {
    try {
      return await fog.ctl(op, fields);
    } catch (e) {
      throw platformError(`ctl:${op}`, e);
    }
  };
  return daemonOverCtl(req);
}

function unavailableWebSocket(url: string, log: (l: LogLevel, m: string) => void): WebSocketLike {
  const ws: WebSocketLike = {
    send() {
      throw new PlatformError("ws_send", "closed", `${url}: not connected`);
    },
    close() {},
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
  };
  fog.setTimeout(() => {
    log("warn", `ws_connect ${url}: no WebSocket client in this pear-fogd`);
    ws.onerror?.(new PlatformError("ws_connect", "unsupported", url));
    ws.onclose?.({ code: 1006 });
  }, 0);
  return ws;
}

export async function createNativePlatform(
  options: Partial<NativePlatformOptions> = {},
): Promise<Platform> {
  const o: NativePlatformOptions = { ...NATIVE_PLATFORM_DEFAULTS, ...options };
  try {
    await fog.mkdir(o.stagingDir);
  } catch (e) {
    throw platformError("mkdir", e);
  }
  const min = LEVELS[o.logLevel];
  return {
    now: () => fog.now(),
    localTime: (ms) => fog.localTime(ms),
    setTimeout: (fn, ms) => fog.setTimeout(fn, ms),
    clearTimeout: (h) => {
      if (typeof h === "number") fog.clearTimeout(h);
    },
    connectWebSocket(url: string): WebSocketLike {
      // pear-fogd's WebSocket client (ws_client.c) is not bound yet: behave like a refused
      // connection (error, then close 1006, on the next turn) so the agent's reconnect
      // backoff applies instead of failing the agent.
      return unavailableWebSocket(url, (l, m) => {
        if (LEVELS[l] <= min) fog.log(l, m);
      });
    },
    async httpGet(url: string, h: HttpGetOptions): Promise<HttpResponse> {
      try {
        return await fog.httpGet(url, h);
      } catch (e) {
        throw platformError("http_get", e);
      }
    },
    async readFile(path) {
      try {
        return await fog.readFile(path);
      } catch (e) {
        throw platformError("file_read", e);
      }
    },
    async writeFileAtomic(path, data, mode = 0o644) {
      try {
        await fog.writeFile(path, data, mode);
      } catch (e) {
        throw platformError("file_write", e);
      }
    },
    async removeFile(path) {
      try {
        await fog.unlink(path);
      } catch (e) {
        throw platformError("file_remove", e);
      }
    },
    stagingPath: (name) => `${o.stagingDir}/${name}`,
    randomBytes: (n) => fog.randomBytes(n),
    log(level, msg) {
      if (LEVELS[level] <= min) fog.log(level, msg);
    },
    daemon: nativeDaemon(),
  };
}

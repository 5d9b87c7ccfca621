// The platform interface inside pear-fogd (QuickJS-ng), on the native module "pear-fog:native"
// (libs/webrtc-native/src/mod_fog.h): loop timers, pear-fogd's log, files, getrandom, HTTP GET
// (http_client.c), the coordinator's WebSocket (ws_client.c), and the daemon's control operations called directly (no socket). Same contract as
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
  type TaskLimits,
  type AppHost,
  type WebSocketLike,
} from "../platform";

export interface NativePlatformOptions {
  /** Directory for staged fill files (created). Default "/tmp/pear-fog-agent". */
  stagingDir: string;
  /** Lowest level logged. Default "info". */
  logLevel: LogLevel;
  /** Largest coordinator message accepted, bytes (as the Node platform's maxPayload). */
  wsMaxMessage: number;
  /** No byte from the coordinator for half of this: ping; for all of it: reconnect. ms. */
  wsIdleTimeoutMs: number;
  /** PEM CA file for a wss:// coordinator instead of the system store (tests, private CAs). */
  wsCaFile?: string;
}

export const NATIVE_PLATFORM_DEFAULTS: NativePlatformOptions = {
  stagingDir: "/tmp/pear-fog-agent",
  logLevel: "info",
  wsMaxMessage: 1 << 20,
  wsIdleTimeoutMs: 60_000,
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

/** Close code and reason when the coordinator does not take what we send (1 MiB queued). */
export const WS_QUEUE_FULL_CODE = 4000;
export const WS_QUEUE_FULL_REASON = "send queue full";

/**
 * The coordinator link on pear-fogd's WebSocket client (fog.wsConnect), shaped as the `ws`
 * package's WebSocket as far as NodeClient uses it: onopen, onmessage ({data: string}), onerror
 * then onclose ({code, reason}) on a failure, onclose alone after a clean close. send() before
 * onopen throws (PlatformError "connecting", as ws throws while CONNECTING); after close() or
 * onclose it is dropped (as ws does); when the output queue is full the link is closed
 * (WS_QUEUE_FULL_CODE) and the agent reconnects.
 */
export function nativeWebSocket(
  url: string,
  o: Pick<NativePlatformOptions, "wsMaxMessage" | "wsIdleTimeoutMs" | "wsCaFile">,
  log: (l: LogLevel, m: string) => void,
): WebSocketLike {
  const ws: WebSocketLike = {
    send(data) {
      if (state === "connecting")
        throw new PlatformError("ws_send", "connecting", `${url}: not open yet`);
      if (state === "closed") return; // dropped, as the ws package drops sends after close
      try {
        sock.send(data);
      } catch (e) {
        const pe = platformError("ws_send", e);
        if (pe.code === "closed") return; // closing: dropped likewise
        if (pe.code !== "queue_full") throw pe;
        // The coordinator stopped reading: drop the link (onclose follows, NodeClient's backoff
        // reconnects) rather than throw into the agent or grow memory.
        log("warn", `ws_send ${url}: ${WS_QUEUE_FULL_REASON}, closing`);
        sock.close(WS_QUEUE_FULL_CODE, WS_QUEUE_FULL_REASON);
      }
    },
    close(code, reason) {
      sock.close(code, reason);
    },
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
  };
  let state: "connecting" | "open" | "closed" = "connecting";
  const sock = fog.wsConnect(
    url,
    {
      maxMessage: o.wsMaxMessage,
      idleTimeoutMs: o.wsIdleTimeoutMs,
      ...(o.wsCaFile ? { caFile: o.wsCaFile } : {}),
    },
    (...ev) => {
      switch (ev[0]) {
        case "open":
          state = "open";
          ws.onopen?.({});
          break;
        case "message":
          ws.onmessage?.({ data: ev[1] });
          break;
        case "close": {
          const [, code, reason, error] = ev;
          state = "closed";
          if (error !== undefined) {
            log("warn", `ws_connect ${error}`);
            ws.onerror?.(new PlatformError("ws_connect", "closed", error));
          }
          ws.onclose?.({ code, reason } as { code: number });
          break;
        }
      }
    },
  );
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
      return nativeWebSocket(url, o, (l, m) => {
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
    runTask: nativeRunTask,
    apps: nativeApps,
  };
}

/** Platform.apps on pear-fogd: fog.app* (mod_fog_sandbox.c). */
export const nativeApps: AppHost = {
  start(o, onEvent) {
    try {
      return fog.appStart(o, (...ev) => {
        if (ev[0] === "started") onEvent({ type: "started" });
        else if (ev[0] === "post") onEvent({ type: "post", json: ev[1] });
        else if (ev[0] === "fetch") onEvent({ type: "fetch", url: ev[1], req: ev[2] });
        else if (ev[0] === "send") onEvent({ type: "send", json: ev[1], to: ev[2] });
        else onEvent({ type: "exit", status: ev[1], message: ev[2] });
      });
    } catch (e) {
      throw platformError("app_start", e);
    }
  },
  post: (id, json) => fog.appPost(id, json),
  reply: (id, req, ok, json) => fog.appReply(id, req, ok, json),
  stop: (id) => fog.appStop(id),
  logs: (id) => fog.appLogs(id),
  uploadStats(id) {
    const i = fog.appInfo(id);
    return i && { bytes: i.uploadBytes, refused: i.uploadRefused };
  },
  channels(onEvent) {
    if (!onEvent) return fog.appChannels(undefined);
    fog.appChannels((...ev) => {
      if (ev[0] === "open") onEvent({ type: "open", channel: ev[1], app: ev[2] });
      else if (ev[0] === "message") onEvent({ type: "message", channel: ev[1], text: ev[2] });
      else onEvent({ type: "close", channel: ev[1] });
    });
  },
  channelSend(channel, text) {
    try {
      fog.appChannelSend(channel, text);
    } catch (e) {
      throw platformError("app_channel_send", e);
    }
  },
  channelClose: (channel, last) =>
    last === undefined ? fog.appChannelClose(channel) : fog.appChannelClose(channel, last),
};

/** Platform.runTask on pear-fogd: a sandbox thread per task (fog.runTask, js_sandbox.h). */
export async function nativeRunTask(
  source: string,
  input: unknown,
  limits: TaskLimits,
): Promise<unknown> {
  let json: string | undefined;
  try {
    json = JSON.stringify(input);
  } catch {
    json = undefined;
  }
  if (json === undefined) throw new PlatformError("run_task", "bad_input", "input is not JSON");
  let out: string;
  try {
    out = await fog.runTask(source, json, {
      memoryBytes: limits.memoryBytes,
      timeoutMs: limits.timeoutMs,
    });
  } catch (e) {
    throw platformError("run_task", e);
  }
  return JSON.parse(out) as unknown;
}

// Types of pear-fogd's native module (libs/webrtc-native/src/mod_fog.h), importable only inside
// pear-fogd's QuickJS-ng host: `import * as fog from "pear-fog:native"`. The bundle keeps this
// import external (esbuild --external:pear-fog:native); pear-fogd's module loader provides it.
declare module "pear-fog:native" {
  /** A failed native operation: `op` names it, `code` is an errno name or a reason. */
  export interface FogError extends Error {
    op: string;
    code: string;
  }
  export type FogLogLevel = "error" | "warn" | "info" | "debug";

  /** Run fn once after ms (clamped to [0, 2^31-1]); equal deadlines fire in creation order. */
  export function setTimeout(fn: () => void, ms: number): number;
  export function clearTimeout(id: number): void;
  /** One line to pear-fogd's log (stderr; procd forwards it to syslog), prefixed "agent: ". */
  export function log(level: FogLogLevel, msg: string): void;
  /** Wall clock, ms since the epoch. */
  export function now(): number;
  /** CLOCK_MONOTONIC, ms. */
  export function monotonic(): number;
  /** Local time of ms (the router's TZ): minutes since midnight, "YYYY-MM". */
  export function localTime(ms: number): { minuteOfDay: number; month: string };
  /** getrandom(2); n ≤ 65536. */
  export function randomBytes(n: number): Uint8Array;
  export function memoryUsage(): { heapBytes: number; limitBytes: number };
  /** Let the running JS slice go on for up to `ms` more (js_host.h js_host_extend_slice). */
  export function extendSlice(ms: number): void;
  export function info(): { configPath: string | null; version: string; pid: number };
  /** OpenSSL digests. */
  export function sha256(data: Uint8Array): Uint8Array;
  export function sha512(data: Uint8Array): Uint8Array;
  /** RFC 8032 Ed25519 on OpenSSL; the secret key is the 32-byte seed. */
  export function ed25519PublicKey(seed: Uint8Array): Uint8Array;
  export function ed25519Sign(message: Uint8Array, seed: Uint8Array): Uint8Array;
  /** Strict RFC 8032 verification; wrong lengths give false. */
  export function ed25519Verify(sig: Uint8Array, message: Uint8Array, pub: Uint8Array): boolean;
  export function utf8Encode(s: string): Uint8Array;
  /** Malformed sequences become U+FFFD. */
  export function utf8Decode(b: Uint8Array): string;
  /** A small file (≤ 8 MiB), or null if it does not exist. */
  export function readFile(path: string): Promise<Uint8Array | null>;
  /** Temp file + fsync + rename; parent directories are created. Default mode 0o644. */
  export function writeFile(path: string, data: Uint8Array | string, mode?: number): Promise<void>;
  export function rename(from: string, to: string): Promise<boolean>;
  /** With parents; an existing directory is fine. */
  export function mkdir(path: string): Promise<boolean>;
  /** false if the file did not exist. */
  export function unlink(path: string): Promise<boolean>;
  export function stat(
    path: string,
  ): Promise<{ size: number; mtimeMs: number; isFile: boolean; isDirectory: boolean } | null>;
  /**
   * One of pear-fogd's control operations (status, offer, close_session, chunk_put, chunk_remove,
   * chunk_has, chunk_list, limits, sharing), called directly. Resolves with the reply's fields
   * (`ok: true` plus the op's members, as on the control socket without `id`); rejects with a
   * FogError whose code is the reply's error code.
   */
  export function ctl(op: string, args?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /**
   * HTTP/1.1 GET (http:// and https:// with the system CA store; redirects followed). A body over
   * maxBytes (≤ 16 MiB) rejects with code "too_big"; timeoutMs covers the whole request.
   * Other codes: "timeout", "range" (a 206 for another range), "fetch".
   */
  export function httpGet(
    url: string,
    opts: { range?: [number, number]; maxBytes: number; timeoutMs?: number },
  ): Promise<{ status: number; body: Uint8Array }>;
  /** A WebSocket connection made by wsConnect (ws_client.c in pear-fogd). */
  export interface FogWebSocket {
    /**
     * Queue a text (string) or binary (Uint8Array) message. Throws a FogError with code "closed"
     * (not open yet, or closing), "queue_full" (more than maxQueued bytes waiting) or "invalid".
     */
    send(data: string | Uint8Array): void;
    /** Start the close handshake (code 1000 or 3000-4999), or abandon a connection not yet open. */
    close(code?: number, reason?: string): void;
    /** Bytes queued and not yet taken by the socket. */
    readonly bufferedAmount: number;
  }
  export type FogWebSocketEvent =
    | [type: "open"]
    | [type: "message", data: string | Uint8Array]
    /** Last, exactly once. error is absent after a clean close handshake. */
    | [type: "close", code: number, reason: string, error?: string];
  /**
   * RFC 6455 client (ws:// and wss://, system CA store unless caFile). Events arrive on later
   * loop turns, never from inside this call; a bad URL or refused connection is a "close" event
   * with code 1006 and an error. Defaults: maxMessage 1 MiB (cap 16 MiB), maxQueued 1 MiB,
   * handshakeTimeoutMs 10000, idleTimeoutMs 0 (off; else a ping after half of it without a
   * byte received, and failure after all of it).
   */
  export function wsConnect(
    url: string,
    opts: {
      maxMessage?: number;
      maxQueued?: number;
      handshakeTimeoutMs?: number;
      idleTimeoutMs?: number;
      caFile?: string;
    },
    onEvent: (...ev: FogWebSocketEvent) => void,
  ): FogWebSocket;
  /**
   * fn receives "SIGTERM" | "SIGHUP" | "SIGINT". One handler; undefined clears it. After
   * SIGTERM/SIGINT pear-fogd keeps running until stopDone() or 3 s, whichever comes first.
   */
  export function onSignal(fn: ((signal: string) => void) | undefined): void;
  /** The agent has stopped after SIGTERM/SIGINT: pear-fogd may exit now. */
  export function stopDone(): void;
  /** posix_spawnp; stdin /dev/null. Defaults: timeoutMs 10000, maxOutput 1 MiB per stream. */
  export function spawn(
    argv: string[],
    opts?: { timeoutMs?: number; maxOutput?: number },
  ): Promise<{ status: number | null; signal: number | null; stdout: string; stderr: string }>;
  /**
   * Run `source` (defines `function task(input)`) in a fresh sandbox on its own thread
   * (libs/webrtc-native/src/js_sandbox.h): memory limit on everything its runtime allocates, CPU
   * budget timeoutMs (thread CPU time), weight `shares` in the sandboxes' fair share. Resolves
   * with JSON.stringify of the result; rejects with a FogError, op "run_task", code "throw",
   * "timeout", "memory", "bad_result", "bad_request" or "error".
   */
  export function runTask(
    source: string,
    inputJson: string,
    limits: { memoryBytes: number; timeoutMs: number; shares?: number },
  ): Promise<string>;
  export type AppEvent =
    /** The app's script ran to its end without throwing. */
    | [type: "started"]
    | [type: "post", json: string]
    | [type: "fetch", url: string, reqId: number]
    /** pear.send(browserId, value): the value's JSON (within the upload allowance). */
    | [type: "send", json: string, browserId: number]
    /** Last, exactly once: status "stopped", "owner_stopped", "memory", "throw", "error". */
    | [type: "exit", status: string, message: string];
  export interface AppStartOptions {
    name: string;
    version: string;
    /** The app's script (run once, then it lives on timers and messages). */
    source: string;
    memoryBytes: number;
    shares?: number;
    /** Granted capabilities: "messages", "kv", "fetch" (others grant nothing here). */
    caps?: string[];
    storageDir?: string;
    storageQuota?: number;
    fetchHosts?: string[];
    /** pear.send allowance, bytes/s (0 or absent: sends refused with "no_allowance"). */
    uploadBytesPerSec?: number;
  }
  /** Start an app sandbox; throws a FogError (op "app_start", code "bad_request", "over_capacity"). */
  export function appStart(opts: AppStartOptions, onEvent: (...ev: AppEvent) => void): number;
  /** Deliver a JSON message to the app's pear.onMessage. Throws code "closed", "busy", "too_large". */
  export function appPost(id: number, json: string): void;
  /** Answer the app's fetch request reqId: ok → JSON {status, body}, else an error message. */
  export function appReply(id: number, reqId: number, ok: boolean, json: string): void;
  /** Ask the app to stop; its "exit" event follows. false if no such app. */
  export function appStop(id: number): boolean;
  export interface AppInfo {
    id: number;
    name: string;
    version: string;
    status: string;
    cpuMs: number;
    throttledMs: number;
    memoryBytes: number;
    memoryLimit: number;
    shares: number;
    uploadRate: number;
    uploadBytes: number;
    uploadRefused: number;
  }
  export function appInfo(id: number): AppInfo | null;
  /** The app's recent console output (a 16 KiB ring). */
  export function appLogs(id: number): string | null;
  /** All sandboxes' CPU (permille of one core), period (ms), all apps' memory cap (bytes). */
  export function appLimits(l: {
    cpuPermille?: number;
    periodMs?: number;
    memoryBytes?: number;
    /** All apps' sends to browsers together, bytes/s; 0 = no total. Absent: unchanged. */
    uploadBytesPerSec?: number;
  }): void;
  export type AppChannelEvent =
    | [type: "open", channel: string, app: string]
    | [type: "message", channel: string, text: string]
    | [type: "close", channel: string];
  /** Browsers' app channels (rtc_server.h, mod_fog_app_channel.c); undefined clears. */
  export function appChannels(onEvent: ((...ev: AppChannelEvent) => void) | undefined): void;
  /** Queue text on an app channel; throws code "closed", "too_large", "queue_full". */
  export function appChannelSend(channel: string, text: string): void;
  /** Close after `last`; false if no such channel. */
  export function appChannelClose(channel: string, last?: string): boolean;
}

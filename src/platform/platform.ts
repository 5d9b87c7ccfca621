// The I/O the node agent needs, as one interface. The agent imports only this file (never
// `node:` modules or `ws`), so the same bundle runs on Node (src/platform/node/) and inside
// pear-fogd on QuickJS-ng (src/platform/native/, issue 4). Everything is Promise-based; an
// implementation must not block its event loop.
import type { WebSocketLike } from "../coordinator/node-client";
import type { Reachability } from "../protocol/messages";

export type { WebSocketLike };

export type LogLevel = "error" | "warn" | "info" | "debug";

export interface HttpGetOptions {
  /** Inclusive byte range [first, last] (RFC 9110 §14.1.2); the whole body if absent. */
  range?: [number, number];
  /** Refuse (reject) a body larger than this, bytes. */
  maxBytes: number;
  /** Whole request deadline, milliseconds. */
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  body: Uint8Array;
}

/** A failed platform operation; `op` names it ("http_get", "ctl:offer", "file_write"). */
export class PlatformError extends Error {
  constructor(
    readonly op: string,
    readonly code: string,
    message: string,
  ) {
    super(`${op}: ${message}`);
    this.name = "PlatformError";
  }
}

/** pear-fogd's `status` reply, the fields the agent reads. */
export interface DaemonStatus {
  sharing: boolean;
  storeChunks: number;
  storeBytes: number;
  storeCap: number;
  /** Chunks the store evicted (LRU, over its cap) since pear-fogd started. */
  storeEvictions: number;
  uploadCap: number;
  /** pear-fogd's HTTP port (GET /chunks/<id> for other nodes' fills); 0: no HTTP server. */
  httpPort: number;
  /** Bytes sent to WebRTC peers since pear-fogd started. */
  bytesServedRtc: number;
  /** Ids of the open WebRTC sessions. */
  peerIds: string[];
  /** What pear-fogd's STUN answers say about its NAT (reported in the heartbeat). */
  reachability: Reachability;
}

/** pear-fogd's control operations (libs/webrtc-native/src/pear-fogd.c, ARCHITECTURE.md). */
export interface Daemon {
  status(): Promise<DaemonStatus>;
  /** Accept a browser's SDP offer: the answer and the new session's id. */
  offer(sdp: string): Promise<{ sdp: string; session: string }>;
  closeSession(session: string): Promise<void>;
  /** Store the chunk staged at `path` (pear-fogd re-hashes it and writes it atomically). */
  chunkPut(id: string, path: string): Promise<void>;
  chunkRemove(id: string): Promise<void>;
  /** The subset of `ids` the store holds. */
  chunkHas(ids: string[]): Promise<string[]>;
  chunkList(offset: number, limit: number): Promise<{ chunks: string[]; total: number }>;
  /** Upload caps in bytes/s (0 = none) and the store cap in bytes; omitted = unchanged. */
  limits(l: { uploadCap?: number; peerUploadCap?: number; storeSize?: number }): Promise<void>;
  /** Accept new sessions or not (open sessions are not touched). */
  sharing(enabled: boolean): Promise<void>;
  /** A remote ICE candidate the browser trickled for `session` (pear-fogd's id). */
  candidate(session: string, candidate: string): Promise<void>;
  /** The STUN servers ("IP:PORT") pear-fogd learns its server-reflexive address from. */
  stunServers(servers: string[]): Promise<void>;
}

export interface Platform {
  /** Wall clock, milliseconds since the Unix epoch. */
  now(): number;
  /** Local time of `ms`: minutes since local midnight and the calendar month "YYYY-MM". */
  localTime(ms: number): { minuteOfDay: number; month: string };
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  connectWebSocket(url: string): WebSocketLike;
  httpGet(url: string, o: HttpGetOptions): Promise<HttpResponse>;
  /** A small file's bytes, or null if it does not exist. */
  readFile(path: string): Promise<Uint8Array | null>;
  /** Write via a temp file + rename; `mode` e.g. 0o600 for keys. Creates the parent dir. */
  writeFileAtomic(path: string, data: Uint8Array, mode?: number): Promise<void>;
  removeFile(path: string): Promise<void>;
  /** A path in the agent's staging directory (same filesystem as nothing in particular). */
  stagingPath(name: string): string;
  randomBytes(n: number): Uint8Array;
  /**
   * SHA-256 of the bytes by the platform's native code (fill verification: every chunk a node
   * stores). Absent: the agent's pure-JS @noble/hashes (which pear-fogd's bundle maps to its C).
   */
  sha256?(data: Uint8Array): Uint8Array;
  log(level: LogLevel, msg: string): void;
  daemon: Daemon;
  /**
   * Edge compute (issue 7): run one task in a fresh sandbox, isolated from the agent. `source` is
   * a JS script that defines `function task(input)` (deterministic, no I/O); `input` and the
   * result are JSON values. Rejects with PlatformError op "run_task" and code "throw" (the task
   * threw), "timeout" (CPU time past `limits.timeoutMs`), "memory" (past `limits.memoryBytes`)
   * or "bad_result" (not JSON-serialisable). Absent where the platform has no sandbox yet.
   */
  runTask?(source: string, input: unknown, limits: TaskLimits): Promise<unknown>;
  /** Edge-compute apps (issue 7, docs/apps.md): long-running sandboxes. Absent: no apps. */
  apps?: AppHost;
}

/** How to start one app sandbox (AppHost.start). */
export interface AppSandboxOptions {
  name: string;
  version: string;
  /** The app's script. */
  source: string;
  memoryBytes: number;
  shares: number;
  /** Granted capabilities: "messages", "kv", "fetch". */
  caps: string[];
  storageDir: string;
  storageQuota: number;
  fetchHosts: string[];
  /** pear.send allowance to browsers, bytes/s (manifest uploadKiBps × 1024; 0: none). */
  uploadBytesPerSec: number;
}

/**
 * A browser's app channel (data channel labelled "pear-fog-app:<name>", docs/apps.md), named
 * "<session>.<stream>": opened (for app `app`), a text message (≤ 64 KiB; not yet checked to
 * be JSON), closed (also when its session ends).
 */
export type AppChannelEvent =
  | { type: "open"; channel: string; app: string }
  | { type: "message"; channel: string; text: string }
  | { type: "close"; channel: string };

/** An app sandbox's events: its script ran, it posted, it asks to fetch, it ended (last). */
export type AppSandboxEvent =
  | { type: "started" }
  | { type: "post"; json: string }
  | { type: "fetch"; url: string; req: number }
  /** pear.send(to, value): the value's JSON, already within the app's upload allowance. */
  | { type: "send"; json: string; to: number }
  | { type: "exit"; status: string; message: string };

export interface AppHost {
  /** Start a sandbox; throws PlatformError op "app_start" ("bad_request", "over_capacity"). */
  start(o: AppSandboxOptions, onEvent: (e: AppSandboxEvent) => void): number;
  post(id: number, json: string): void;
  reply(id: number, req: number, ok: boolean, json: string): void;
  /** Ask it to stop; the "exit" event follows. False if no such sandbox. */
  stop(id: number): boolean;
  logs(id: number): string | null;
  /** What an app's pear.send was granted and refused so far (null: no such sandbox). */
  uploadStats?(id: number): { bytes: number; refused: number } | null;
  /** Browsers' app channels (absent: the platform has none). One handler; null clears. */
  channels?(onEvent: ((e: AppChannelEvent) => void) | null): void;
  /**
   * Queue a text message on an app channel. Throws PlatformError op "app_channel_send", code
   * "closed", "too_large" or "queue_full" (the browser does not read).
   */
  channelSend?(channel: string, text: string): void;
  /** Close an app channel after `last` (a {"close": …} notice). False if no such channel. */
  channelClose?(channel: string, last?: string): boolean;
}

/** Limits for one sandboxed task (Platform.runTask). */
export interface TaskLimits {
  /** Heap limit of the task's runtime, bytes. */
  memoryBytes: number;
  /** CPU time the task may use, milliseconds. */
  timeoutMs: number;
}

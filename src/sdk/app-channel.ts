// A page ↔ an edge-compute app on a fog node (issue 7; wire and close codes: docs/apps.md
// "Messages to browsers"). The coordinator names the node running the app (app.find →
// app.found); the channel "pear-fog-app:<name>" opens on the page's peer connection to that
// node — the one its chunk clients use, through FogPeers' NodePool — or a new one.
//
//   const chat = await PearFog.app("chat", { peers });   // or { coordinator }
//   chat.onmessage = (value) => …;  chat.send({ text: "hi" });
//   const { code, detail } = await chat.closed;          // "not_running", "busy", …
import type { CoordinatorLink } from "./coordinator-link";
import type { NodePool } from "./node-pool";

/** The app channel's label prefix (pear-fogd's app_channel.h). */
export const APP_CHANNEL_PREFIX = "pear-fog-app:";
/** Largest message either way, bytes of JSON (UTF-8). */
export const APP_MESSAGE_MAX = 64 * 1024;
/** Messages kept for an onmessage handler not set yet. */
const EARLY_MAX = 256;

/** Why the channel closed: pear-fogd's notice, or "closed" (closed here or the link dropped). */
export interface AppCloseReason {
  code: string;
  detail: string;
}

export type AppChannelErrorCode =
  | "not_running" // no node runs the app for browsers
  | "too_large" // a message over APP_MESSAGE_MAX
  | "not_json" // send(value) of something JSON cannot carry
  | "closed"
  | "connect"; // no node's channel opened

export class AppChannelError extends Error {
  constructor(
    readonly code: AppChannelErrorCode,
    readonly detail: string,
  ) {
    super(`app channel ${code}: ${detail}`);
    this.name = "AppChannelError";
  }
}

export interface AppChannelOptions {
  /** A node's channel must open within this, milliseconds. Default 10000. */
  openTimeoutMs?: number;
}

/** What openApp needs of FogPeers. */
export interface AppPeers {
  coord: Pick<CoordinatorLink, "findApp">;
  pool: Pick<NodePool, "channel">;
}

const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

export class AppChannel {
  /** The value the app sent with pear.send (messages before a handler is set are kept). */
  get onmessage(): ((value: unknown) => void) | null {
    return this.handler;
  }
  set onmessage(fn: ((value: unknown) => void) | null) {
    this.handler = fn;
    if (fn) for (const v of this.early.splice(0)) fn(v);
  }
  /** Once, with the reason (also `closed`). */
  onclose: ((reason: AppCloseReason) => void) | null = null;
  /** Resolves with the reason when the channel has closed. */
  readonly closed: Promise<AppCloseReason>;
  /** Set once closed. */
  reason: AppCloseReason | null = null;

  private handler: ((value: unknown) => void) | null = null;
  private readonly early: unknown[] = [];
  private notice: AppCloseReason | null = null;
  private settle!: (r: AppCloseReason) => void;

  constructor(
    readonly app: string,
    /** The node it talks to (did:key). */
    readonly node: string,
    private readonly dc: RTCDataChannel,
    private readonly release: () => void,
  ) {
    this.closed = new Promise<AppCloseReason>((r) => (this.settle = r));
    dc.addEventListener("message", (ev: MessageEvent) => this.onFrame(ev.data));
    dc.addEventListener("close", () => this.ended());
  }

  /** The channel closed (its close event, or found closed without one: see opened). */
  ended(): void {
    if (this.reason) return;
    this.release();
    const reason = this.notice ?? { code: "closed", detail: "the channel closed" };
    this.reason = reason;
    this.settle(reason);
    this.onclose?.(reason);
  }

  /** Send one JSON value to the app (its pear.onMessage gets {browser: {id, data}}). */
  send(value: unknown): void {
    if (this.reason || this.dc.readyState !== "open") {
      throw new AppChannelError("closed", this.reason?.code ?? "not open");
    }
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) throw new AppChannelError("not_json", "value has no JSON form");
    const n = utf8Length(text);
    if (n > APP_MESSAGE_MAX) {
      throw new AppChannelError("too_large", `${n} bytes over ${APP_MESSAGE_MAX}`);
    }
    this.dc.send(text);
  }

  /** Close the channel (the app gets {browser: {id, close: true}}); the connection stays. */
  close(): void {
    this.dc.close();
  }

  private onFrame(data: unknown): void {
    if (typeof data !== "string") return; // pear-fogd sends text only
    let msg: { m?: unknown; close?: { code?: unknown; detail?: unknown } };
    try {
      msg = JSON.parse(data) as typeof msg;
    } catch {
      return;
    }
    if (msg && typeof msg === "object" && "m" in msg) {
      if (this.handler) this.handler(msg.m);
      else if (this.early.length < EARLY_MAX) this.early.push(msg.m);
    } else if (msg && typeof msg === "object" && msg.close && typeof msg.close === "object") {
      this.notice = { code: String(msg.close.code), detail: String(msg.close.detail ?? "") };
    }
  }
}

/**
 * Wait for dc to open; false if it closed first or took longer than ms. The state is polled
 * too: libwebrtc may close a channel refused right after its OPEN without any event.
 */
function opened(dc: RTCDataChannel, ms: number): Promise<boolean> {
  if (dc.readyState === "open") return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(t);
      clearInterval(poll);
      resolve(ok);
    };
    const t = setTimeout(() => done(false), ms);
    const poll = setInterval(() => {
      if (dc.readyState === "open" || dc.readyState === "closed") done(dc.readyState === "open");
    }, 20);
    dc.addEventListener("open", () => done(true));
    dc.addEventListener("close", () => done(false));
  });
}

/**
 * An open channel to app `name` on the first node (in the coordinator's order) whose channel
 * opens. Rejects with AppChannelError "not_running" (no node runs it for browsers) or "connect".
 * A channel the node refuses after opening (e.g. the app stopped meanwhile) closes with its
 * reason in `closed`.
 */
export async function openApp(
  peers: AppPeers,
  name: string,
  o: AppChannelOptions = {},
): Promise<AppChannel> {
  const nodes = await peers.coord.findApp(name);
  if (nodes.length === 0) throw new AppChannelError("not_running", `no node runs app ${name}`);
  const why: string[] = [];
  for (const node of nodes) {
    try {
      const { dc, release } = await peers.pool.channel(node, `${APP_CHANNEL_PREFIX}${name}`);
      const ch = new AppChannel(name, node, dc, release);
      if (await opened(dc, o.openTimeoutMs ?? 10_000)) return ch;
      // Refused by the node before it opened: the reason is the node's answer for this app.
      if (dc.readyState === "closed") ch.ended();
      if (ch.reason && ch.reason.code !== "closed") return ch;
      dc.close();
      why.push(`${node}: did not open`);
    } catch (e) {
      why.push(`${node}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new AppChannelError("connect", why.join("; "));
}

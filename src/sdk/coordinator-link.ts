// The SDK's WebSocket to the coordinator (/ws/browser): hello/welcome, find, signalling relay,
// reports (rtt, badchunk, stats). Every received frame goes through the protocol validator;
// anything invalid is dropped. The socket is opened on first use; after it drops it is reopened
// in the background with jittered exponential backoff (and on next use, whichever is first), so
// reports (stats, bad chunks) resume without waiting for the player's next find.
import {
  type BadChunkReason,
  type BrowserToCoordinator,
  type CoordinatorToBrowser,
  decodeCoordinatorToBrowser,
  encodeMessage,
  type FoundNode,
  LIMITS,
  type RttSample,
} from "../protocol/messages";

/** SDK version sent in browser.hello. */
export const SDK_VERSION = "pear-fog-sdk/0.1.0";

export interface CoordinatorLinkOptions {
  url: string;
  /** Round trips (connect, find, offer → answer) give up after this long, milliseconds. */
  timeoutMs: number;
  webSocket: typeof WebSocket;
  /** Called for a relayed sig.candidate from a node. */
  onCandidate?: (session: string, candidate: string, mid: string | undefined) => void;
  /** Non-fatal problems (socket errors, coordinator error messages). */
  onWarning?: (detail: string) => void;
  /** First background reconnect after a drop, milliseconds (then doubled, ±25 % jitter). */
  reconnectMinMs?: number;
  /** Longest wait between background reconnects, milliseconds. */
  reconnectMaxMs?: number;
}

interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** A coordinator round trip that failed; the SDK treats it as "no fog" and uses HTTP. */
export class CoordinatorError extends Error {
  constructor(
    readonly code: "timeout" | "closed" | "refused",
    readonly detail: string,
  ) {
    super(`coordinator ${code}: ${detail}`);
    this.name = "CoordinatorError";
  }
}

export class CoordinatorLink {
  private ws: WebSocket | undefined;
  private ready: Promise<void> | undefined;
  private nextReq = 1;
  private readonly finds = new Map<number, Waiter<FoundNode[]>>();
  private readonly answers = new Map<string, Waiter<{ node: string; sdp: string }>>();
  private readonly appFinds = new Map<number, Waiter<string[]>>(); // apps
  private destroyed = false;
  private retryMs: number;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly opts: CoordinatorLinkOptions) {
    this.retryMs = opts.reconnectMinMs ?? 1000;
  }

  /** Connections completed (welcome received), counting reconnects. */
  connections = 0;
  private coordIceServers: RTCIceServer[] = [];

  /**
   * Open the socket now (hello → welcome) rather than on first use, so the first find does
   * not pay for it; a failure is left to the next use (and its own retry).
   */
  warm(): void {
    this.connect().catch(() => undefined);
  }

  /** Ranked nodes holding any of `chunks` of `content`. Rejects with CoordinatorError. */
  async find(content: string, chunks: string[], max: number): Promise<FoundNode[]> {
    if (chunks.length > LIMITS.findChunks) chunks = chunks.slice(0, LIMITS.findChunks);
    await this.connect();
    const req = this.nextReq;
    this.nextReq = (this.nextReq % 2 ** 31) + 1;
    // Registered right after sending: the answer cannot arrive before this task ends.
    this.send({
      t: "browser.find",
      req,
      content,
      chunks,
      max: Math.min(max, LIMITS.foundNodes),
    });
    return this.wait(this.finds, req, "find");
  }

  /** apps: nodes running app `name` for browsers (app.find → app.found; docs/apps.md). */
  async findApp(name: string): Promise<string[]> {
    await this.connect();
    const req = this.nextReq;
    this.nextReq = (this.nextReq % 2 ** 31) + 1;
    this.send({ t: "app.find", req, name });
    return this.wait(this.appFinds, req, "app.find");
  }

  /** Relay an SDP offer to `node`; resolves with the node's answer SDP. */
  async offer(session: string, node: string, sdp: string): Promise<string> {
    await this.connect();
    this.send({ t: "sig.offer", session, node, sdp });
    return (await this.wait(this.answers, session, "offer")).sdp;
  }

  /**
   * Trickle one of our ICE candidates (RTCIceCandidate.candidate) to the node of `session`
   * (RFC 8838); dropped when the socket is not open (ICE still has the offer's candidates).
   */
  candidate(session: string, candidate: string, mid: string | undefined): void {
    this.sendIfOpen({ t: "sig.candidate", session, candidate, ...(mid !== undefined && { mid }) });
  }

  /** STUN/TURN servers from the coordinator's welcome ([] before it or when it sent none). */
  iceServers(): RTCIceServer[] {
    return this.coordIceServers;
  }

  /** Forget a session that will get no answer any more (its peer connection is gone). */
  dropSession(session: string): void {
    const w = this.answers.get(session);
    if (w) {
      clearTimeout(w.timer);
      this.answers.delete(session);
    }
  }

  badChunk(node: string, content: string, chunk: string, reason: BadChunkReason): void {
    this.sendIfOpen({ t: "browser.badchunk", node, content, chunk, reason });
  }

  rtt(samples: RttSample[]): void {
    if (samples.length) {
      this.sendIfOpen({ t: "browser.rtt", samples: samples.slice(0, LIMITS.rttSamples) });
    }
  }

  stats(p2pBytes: number, httpBytes: number): void {
    if (p2pBytes || httpBytes) this.sendIfOpen({ t: "browser.stats", p2pBytes, httpBytes });
  }

  close(): void {
    this.destroyed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.failAll(new CoordinatorError("closed", "client destroyed"));
    this.ws?.close();
    this.ws = undefined;
  }

  private connect(): Promise<void> {
    if (this.destroyed) return Promise.reject(new CoordinatorError("closed", "client destroyed"));
    if (this.ready) return this.ready;
    this.ready = new Promise<void>((resolve, reject) => {
      const ws = new this.opts.webSocket(this.opts.url);
      this.ws = ws;
      const timer = setTimeout(() => {
        reject(new CoordinatorError("timeout", `no welcome from ${this.opts.url}`));
        ws.close();
      }, this.opts.timeoutMs);
      ws.addEventListener("open", () => {
        ws.send(encodeMessage({ t: "browser.hello", version: SDK_VERSION }));
      });
      ws.addEventListener("message", (ev: MessageEvent) => {
        const msg = this.decode(ev.data);
        if (!msg) return;
        if (msg.t === "browser.welcome") {
          clearTimeout(timer);
          this.coordIceServers = msg.iceServers ?? [];
          this.connections++;
          this.retryMs = this.opts.reconnectMinMs ?? 1000;
          resolve();
          return;
        }
        this.dispatch(msg);
      });
      ws.addEventListener("error", () => this.opts.onWarning?.("coordinator socket error"));
      ws.addEventListener("close", () => {
        clearTimeout(timer);
        reject(new CoordinatorError("closed", "socket closed before welcome"));
        if (this.ws === ws) {
          this.ws = undefined;
          this.ready = undefined; // reconnect on next use
        }
        this.failAll(new CoordinatorError("closed", "coordinator socket closed"));
        this.scheduleReconnect();
      });
    });
    // A failed connect is retried on next use rather than cached.
    this.ready.catch(() => {
      this.ready = undefined;
    });
    return this.ready;
  }

  /** Reopen the socket in the background after a drop, backing off while it keeps failing. */
  private scheduleReconnect(): void {
    if (this.destroyed || this.retryTimer !== undefined) return;
    const delay = this.retryMs * (0.75 + Math.random() * 0.5);
    this.retryMs = Math.min(this.opts.reconnectMaxMs ?? 30_000, this.retryMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.destroyed || this.ready) return; // reopened on use meanwhile
      this.connect().catch(() => undefined); // a failure closes the socket: next round
    }, delay);
  }

  private decode(data: unknown): CoordinatorToBrowser | undefined {
    if (typeof data !== "string") return undefined;
    try {
      return decodeCoordinatorToBrowser(data);
    } catch (e) {
      this.opts.onWarning?.(`bad coordinator frame: ${(e as Error).message}`);
      return undefined;
    }
  }

  private dispatch(msg: CoordinatorToBrowser): void {
    switch (msg.t) {
      case "browser.found":
        this.settle(this.finds, msg.req, msg.nodes);
        return;
      case "sig.answer":
        this.settle(this.answers, msg.session, { node: msg.node, sdp: msg.sdp });
        return;
      case "app.found": // apps
        this.settle(this.appFinds, msg.req, msg.nodes);
        return;
      case "sig.candidate":
        this.opts.onCandidate?.(msg.session, msg.candidate, msg.mid);
        return;
      case "error":
        if (msg.req !== undefined && this.finds.has(msg.req)) {
          const w = this.finds.get(msg.req)!;
          clearTimeout(w.timer);
          this.finds.delete(msg.req);
          w.reject(new CoordinatorError("refused", `${msg.code}: ${msg.detail}`));
          return;
        }
        this.opts.onWarning?.(`coordinator error ${msg.code}: ${msg.detail}`);
        return;
      case "browser.welcome":
        return;
    }
  }

  private wait<K, T>(map: Map<K, Waiter<T>>, key: K, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        map.delete(key);
        reject(new CoordinatorError("timeout", `${what} unanswered`));
      }, this.opts.timeoutMs);
      map.set(key, { resolve, reject, timer });
    });
  }

  private settle<K, T>(map: Map<K, Waiter<T>>, key: K, value: T): void {
    const w = map.get(key);
    if (!w) return;
    clearTimeout(w.timer);
    map.delete(key);
    w.resolve(value);
  }

  private failAll(err: Error): void {
    for (const map of [this.finds, this.answers, this.appFinds] as Map<unknown, Waiter<never>>[]) {
      for (const w of map.values()) {
        clearTimeout(w.timer);
        w.reject(err);
      }
      map.clear();
    }
  }

  private send(msg: BrowserToCoordinator): void {
    if (!this.ws || this.ws.readyState !== 1) {
      throw new CoordinatorError("closed", "coordinator socket not open");
    }
    this.ws.send(encodeMessage(msg));
  }

  private sendIfOpen(msg: BrowserToCoordinator): void {
    if (this.ws && this.ws.readyState === 1) this.ws.send(encodeMessage(msg));
  }
}

// Reference client for /ws/node: identity proof, heartbeats, and reconnection with capped
// exponential backoff and full jitter. Portable: it only needs a WebSocket-like object (the
// `ws` package on Node, the browser/QuickJS WebSocket in the agent), so the node agent can use
// it as is; tests and the demo use it to stand in for pear-fogd.
import { ed25519Sign, type KeyPair } from "../protocol/ed25519";
import {
  decodeCoordinatorToNode,
  encodeMessage,
  LIMITS,
  nodeAuthPayload,
  type Capacity,
  type CoordinatorToNode,
  type NodeToCoordinator,
} from "../protocol/messages";
import type { NodeFacts } from "../protocol/jobs";

/** Reconnection backoff. */
export interface BackoffOptions {
  /** First retry delay ceiling, milliseconds. Default 500. */
  initialMs: number;
  /** Largest delay ceiling, milliseconds. Default 30000. */
  maxMs: number;
  /** Growth per failed attempt. Default 2. */
  factor: number;
}

export const BACKOFF_DEFAULTS: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2 };

/**
 * Delay before reconnect attempt `attempt` (0-based): "full jitter", uniformly random in
 * [0, min(maxMs, initialMs * factor^attempt)], so a fleet reconnecting after a coordinator
 * restart spreads out instead of stampeding. `random` in [0, 1).
 */
export function backoffDelayMs(
  attempt: number,
  o: BackoffOptions = BACKOFF_DEFAULTS,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(o.maxMs, o.initialMs * Math.pow(o.factor, Math.max(0, attempt)));
  return Math.floor(random() * ceiling);
}

/** The subset of the WebSocket API the client uses. */
export interface WebSocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface HeartbeatState {
  capacity: Capacity;
  /** Chunks gained/lost since the last call. */
  add: string[];
  remove: string[];
  bytesServed: number;
  /** jobs: node facts for edge-compute matchmaking (src/protocol/jobs.ts); absent = no tasks. */
  facts?: NodeFacts;
}

export interface NodeClientOptions {
  /** ws:// or wss:// URL of /ws/node. */
  url: string;
  key: KeyPair;
  version: string;
  probeUrl?: string;
  /** pear-fogd's HTTP port, so that other nodes can fill from this one (node.hello). */
  httpPort?: number;
  /** Makes a WebSocket; e.g. (u) => new WebSocket(u) from the `ws` package. */
  connect: (url: string) => WebSocketLike;
  /**
   * Called at each heartbeat for the current state. With `full` (first heartbeat after each
   * connect) `add` must be the whole inventory; otherwise the change since the last call.
   */
  heartbeat: (full: boolean) => HeartbeatState;
  /** Every coordinator message after authentication (hold, probe, sig.offer, ...). */
  onMessage?: (msg: CoordinatorToNode) => void;
  /** Called with true when authenticated, false when the connection drops. */
  onState?: (authenticated: boolean) => void;
  backoff?: Partial<BackoffOptions>;
}

export class NodeClient {
  private ws: WebSocketLike | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private hbTimer: ReturnType<typeof setInterval> | undefined;
  private soonTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private seq = 0;
  private stopped = false;
  private firstHeartbeat = true;
  /** Inventory changes not yet sent (a heartbeat carries at most LIMITS.inventory). */
  private pendingAdd: string[] = [];
  private pendingRemove: string[] = [];
  /** Connections made so far (for tests and status). */
  connections = 0;
  authenticated = false;

  constructor(private readonly o: NodeClientOptions) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopHeartbeat();
    this.ws?.close(1000, "node stopping");
    this.ws = undefined;
  }

  send(msg: NodeToCoordinator): void {
    if (this.authenticated) this.ws?.send(encodeMessage(msg));
  }

  private open(): void {
    if (this.stopped) return;
    const ws = this.o.connect(this.o.url);
    this.ws = ws;
    this.connections++;
    ws.onopen = () => {
      const hello: NodeToCoordinator = {
        t: "node.hello",
        nodeId: this.o.key.did,
        version: this.o.version,
        ...(this.o.probeUrl ? { probeUrl: this.o.probeUrl } : {}),
        ...(this.o.httpPort ? { httpPort: this.o.httpPort } : {}),
      };
      ws.send(encodeMessage(hello));
    };
    ws.onmessage = (ev) => {
      let msg: CoordinatorToNode;
      try {
        msg = decodeCoordinatorToNode(typeof ev.data === "string" ? ev.data : String(ev.data));
      } catch {
        return; // a newer coordinator may send types this client does not know
      }
      this.onMessage(ws, msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.stopHeartbeat();
      if (this.authenticated) this.o.onState?.(false);
      this.authenticated = false;
      if (this.stopped) return;
      const delay = backoffDelayMs(this.attempt++, { ...BACKOFF_DEFAULTS, ...this.o.backoff });
      this.timer = setTimeout(() => this.open(), delay);
    };
    ws.onerror = () => undefined; // onclose follows
  }

  private onMessage(ws: WebSocketLike, msg: CoordinatorToNode): void {
    if (msg.t === "node.challenge") {
      const sig = ed25519Sign(
        nodeAuthPayload(this.o.key.did, msg.nonce, msg.coordinatorId),
        this.o.key.seed,
      );
      ws.send(encodeMessage({ t: "node.auth", sig: base64url(sig) }));
      return;
    }
    if (msg.t === "node.welcome") {
      this.authenticated = true;
      this.attempt = 0;
      this.firstHeartbeat = true;
      this.o.onState?.(true);
      this.beat();
      this.hbTimer = setInterval(() => this.beat(), msg.heartbeatMs);
      this.o.onMessage?.(msg); // the agent takes iceServers from it
      return;
    }
    this.o.onMessage?.(msg);
  }

  private beat(): void {
    const full = this.firstHeartbeat;
    const s = this.o.heartbeat(full);
    if (full) {
      this.pendingAdd = [...s.add];
      this.pendingRemove = [];
    } else {
      // A chunk added then removed (or the reverse) before being reported: last change wins.
      const removed = new Set(s.remove);
      const added = new Set(s.add);
      this.pendingAdd = this.pendingAdd.filter((c) => !removed.has(c));
      this.pendingRemove = this.pendingRemove.filter((c) => !added.has(c));
      this.pendingAdd.push(...s.add);
      this.pendingRemove.push(...s.remove);
    }
    // After (re)connecting the coordinator knows nothing: the first heartbeat is marked `full`
    // (it replaces the inventory); what does not fit follows as deltas in later heartbeats.
    const remove = this.pendingRemove.splice(0, LIMITS.inventory);
    const add = this.pendingAdd.splice(0, LIMITS.inventory - remove.length);
    this.send({
      t: "node.heartbeat",
      seq: this.seq++,
      capacity: s.capacity,
      inventory: full ? { add, remove, full: true } : { add, remove },
      bytesServed: s.bytesServed,
      ...(s.facts ? { facts: s.facts } : {}), // jobs
    });
    this.firstHeartbeat = false;
  }

  /**
   * Send a heartbeat within `delayMs` instead of at the next tick (new chunks in the store:
   * the coordinator can offer them to browsers sooner). Several calls share one heartbeat.
   */
  reportSoon(delayMs = 100): void {
    if (!this.authenticated || this.soonTimer !== undefined) return;
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined;
      if (this.authenticated && !this.stopped) this.beat();
    }, delayMs);
  }

  private stopHeartbeat(): void {
    if (this.hbTimer) clearInterval(this.hbTimer);
    this.hbTimer = undefined;
    if (this.soonTimer !== undefined) clearTimeout(this.soonTimer);
    this.soonTimer = undefined;
  }
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** base64url without padding, no Buffer (runs in QuickJS). */
export function base64url(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] as number;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    out += B64URL[a >> 2];
    out += B64URL[((a & 3) << 4) | ((b ?? 0) >> 4)];
    if (b !== undefined) out += B64URL[((b & 15) << 2) | ((c ?? 0) >> 6)];
    if (c !== undefined) out += B64URL[c & 63];
  }
  return out;
}

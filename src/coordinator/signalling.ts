// Signalling relay between browsers and nodes, and per-connection token-bucket rate limits.
//
// A browser opens a peer connection to a node by sending sig.offer {session, node, sdp}; the
// session id is the browser's own. The relay allocates an opaque relay id (random, so one
// browser cannot guess or hijack another's session), forwards {session: relayId, sdp} to the
// node, and maps the node's sig.answer / sig.candidate on relayId back to the browser's
// session id. Sessions expire after `sessionTtlMs` without traffic; a browser may hold at
// most `maxSessionsPerBrowser`.
import { randomBytes } from "node:crypto";

/** Token bucket: `burst` tokens, refilled at `perSec` tokens per second. */
export class TokenBucket {
  private tokens: number;
  private at: number;
  constructor(
    private readonly burst: number,
    private readonly perSec: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }
  /** Takes one token if available. */
  take(now: number): boolean {
    const dt = Math.max(0, now - this.at) / 1000;
    this.tokens = Math.min(this.burst, this.tokens + dt * this.perSec);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface RelaySession {
  relayId: string;
  browserConn: string;
  browserSession: string;
  node: string;
  lastUsed: number;
}

export type RelayError = "too_many_sessions" | "unknown_session" | "wrong_peer";

export class SignallingRelay {
  private readonly byRelay = new Map<string, RelaySession>();
  /** browserConn -> browserSession -> relayId */
  private readonly byBrowser = new Map<string, Map<string, string>>();

  constructor(
    private readonly sessionTtlMs: number,
    private readonly maxSessionsPerBrowser: number,
  ) {}

  /** Session for a browser's offer (created if new). */
  open(
    browserConn: string,
    browserSession: string,
    node: string,
    now: number,
  ): RelaySession | RelayError {
    this.expire(now);
    let m = this.byBrowser.get(browserConn);
    const existing = m?.get(browserSession);
    if (existing) {
      const s = this.byRelay.get(existing) as RelaySession;
      if (s.node !== node) return "wrong_peer";
      s.lastUsed = now;
      return s;
    }
    if (!m) {
      m = new Map();
      this.byBrowser.set(browserConn, m);
    }
    if (m.size >= this.maxSessionsPerBrowser) return "too_many_sessions";
    const relayId = randomBytes(16).toString("base64url");
    const s: RelaySession = { relayId, browserConn, browserSession, node, lastUsed: now };
    this.byRelay.set(relayId, s);
    m.set(browserSession, relayId);
    return s;
  }

  /** A browser's existing session (for candidates). */
  fromBrowser(browserConn: string, browserSession: string, now: number): RelaySession | undefined {
    const id = this.byBrowser.get(browserConn)?.get(browserSession);
    const s = id === undefined ? undefined : this.byRelay.get(id);
    if (s) s.lastUsed = now;
    return s;
  }

  /** The session a node addresses by relay id; must be that node's. */
  fromNode(node: string, relayId: string, now: number): RelaySession | RelayError {
    const s = this.byRelay.get(relayId);
    if (!s || s.lastUsed + this.sessionTtlMs < now) return "unknown_session";
    if (s.node !== node) return "wrong_peer";
    s.lastUsed = now;
    return s;
  }

  closeBrowser(browserConn: string): void {
    const m = this.byBrowser.get(browserConn);
    if (m) for (const id of m.values()) this.byRelay.delete(id);
    this.byBrowser.delete(browserConn);
  }

  closeNode(node: string): RelaySession[] {
    const gone: RelaySession[] = [];
    for (const s of this.byRelay.values()) if (s.node === node) gone.push(s);
    for (const s of gone) this.drop(s);
    return gone;
  }

  size(): number {
    return this.byRelay.size;
  }

  private drop(s: RelaySession): void {
    this.byRelay.delete(s.relayId);
    const m = this.byBrowser.get(s.browserConn);
    m?.delete(s.browserSession);
    if (m && m.size === 0) this.byBrowser.delete(s.browserConn);
  }

  /** Drops sessions idle longer than the TTL. */
  expire(now: number): void {
    for (const s of this.byRelay.values()) if (s.lastUsed + this.sessionTtlMs < now) this.drop(s);
  }
}

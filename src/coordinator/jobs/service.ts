// Jobs inside the coordinator: the engine (scheduler.ts) wired to the node registry (messages
// out, node loss, credibility penalties), the ledger (SQLite) and the REST endpoints:
//
//   POST /api/jobs                 signed by a publisher (api-auth.ts): a JobRequest → 201 {jobId, tasks}
//   GET  /api/jobs/<id>            signed by the job's owner → status (JobStatus)
//   GET  /api/jobs/<id>/results    signed by the job's owner → {state, results: [{ok}|{error}|null]}
//   GET  /api/ledger[?node=<did>]  work units credited per node (public)
//
// Errors are typed JSON {error, detail}: 400 invalid / 413 too_large (the request), 401
// unauthorized, 403 forbidden (not a publisher), 404 not_found (no such job of yours), 429
// too_many_jobs, 503 busy. docs/jobs.md has the whole API.
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ProtocolError } from "../../protocol/check";
import {
  BROWSER_NODE_PREFIX,
  validateJobRequest,
  type JobCoordinatorToNode,
  type JobNodeToCoordinator,
  type NodeFacts,
} from "../../protocol/jobs";
import { DID_KEY_RE } from "../../protocol/messages";
import { ReplayCache, verifyApiRequest } from "../api-auth";
import type { CoordinatorConfig } from "../config";
import type { CoordinatorDb } from "../db";
import type { NodeRegistry } from "../registry";
import { readBody, sendJson } from "../rest";
import { JobLedger } from "./ledger";
import { JobEngine } from "./scheduler";

/** Engine ids of browsers that run tasks start with this (never a did:key). */
const BROWSER_PREFIX = BROWSER_NODE_PREFIX;

export class JobService {
  readonly engine: JobEngine;
  readonly ledger: JobLedger;
  private readonly replay = new ReplayCache();
  /** Browsers that opted in to run tasks: engine id "browser:<connection id>" → send. */
  private readonly browsers = new Map<string, (m: JobCoordinatorToNode) => void>();

  constructor(
    private readonly cfg: CoordinatorConfig,
    private readonly db: CoordinatorDb,
    registry: NodeRegistry,
    rtt: (node: string, near: string) => number | undefined,
    private readonly now: () => number,
  ) {
    this.ledger = new JobLedger(db, now);
    this.engine = new JobEngine({
      cfg: cfg.jobs,
      now,
      random: Math.random,
      send: (node, msg) =>
        node.startsWith(BROWSER_PREFIX)
          ? this.browsers.get(node)?.(msg)
          : registry.get(node)?.link.send(msg),
      history: (n) => this.ledger.history(n),
      saveHistory: (n, h) => this.ledger.saveHistory(n, h),
      credit: (n, job, units) => this.ledger.credit(n, job, units),
      caught: (n) => registry.penalize(n, "hash_mismatch"),
      rtt,
    });
  }

  /** A heartbeat's facts (absent: the node takes no tasks). */
  onHeartbeat(node: string, facts: NodeFacts | undefined): void {
    if (facts) this.engine.setNode(node, facts);
    else this.engine.nodeLost(node);
  }

  onNodeMessage(node: string, msg: JobNodeToCoordinator): boolean {
    return this.engine.onMessage(node, msg);
  }

  nodeLost(node: string): void {
    this.engine.nodeLost(node);
  }

  /**
   * A browser connection offers to run tasks (browser.jobs). It is a node to the engine under
   * an ephemeral id: its credibility starts at 1 − f every session and it earns no ledger
   * credit (there is no identity to credit). slots 0 withdraws the offer.
   */
  attachBrowser(conn: string, send: (m: JobCoordinatorToNode) => void, facts: NodeFacts): void {
    const id = BROWSER_PREFIX + conn;
    if (facts.slots === 0) return this.detachBrowser(conn);
    this.browsers.set(id, send);
    this.engine.setNode(id, facts);
  }

  onBrowserMessage(conn: string, msg: JobNodeToCoordinator): boolean {
    return this.engine.onMessage(BROWSER_PREFIX + conn, msg);
  }

  detachBrowser(conn: string): void {
    const id = BROWSER_PREFIX + conn;
    if (!this.browsers.delete(id)) return;
    this.engine.nodeLost(id);
  }

  /** Timeouts and the ledger flush; the coordinator's sweep calls it. */
  tick(): void {
    this.engine.tick();
    this.ledger.flush();
  }

  close(): void {
    this.ledger.flush();
  }

  /** Handles /api/jobs* and /api/ledger; false if the path is not a jobs path. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname;
    const method = req.method ?? "GET";
    if (path === "/api/ledger" && method === "GET") {
      const node = url.searchParams.get("node") ?? undefined;
      if (node !== undefined && !DID_KEY_RE.test(node)) {
        sendJson(res, 400, { error: "invalid", detail: "node: expected a did:key" });
        return true;
      }
      sendJson(res, 200, { unit: "reference-kernel runs", nodes: this.ledger.totals(node) });
      return true;
    }
    const m = /^\/api\/jobs(?:\/([A-Za-z0-9_-]{1,32})(\/results)?)?$/.exec(path);
    if (!m) return false;
    const [, id, results] = m;
    const isSubmit = method === "POST" && id === undefined;
    if (!isSubmit && !(method === "GET" && id !== undefined)) {
      sendJson(res, 405, { error: "invalid", detail: `${method} ${path}` });
      return true;
    }
    const max = this.cfg.api.maxBodyBytes;
    const body = isSubmit ? await readBody(req, max) : Buffer.alloc(0);
    if (!body) {
      sendJson(res, 413, { error: "too_large", detail: `body over ${max} bytes` });
      return true;
    }
    const auth = verifyApiRequest(
      req.headers.authorization,
      method,
      url.pathname + url.search,
      body,
      this.now(),
      this.cfg.api.maxSkewMs,
      this.replay,
    );
    if (!auth.ok) {
      sendJson(res, 401, { error: "unauthorized", detail: auth.reason });
      return true;
    }
    if (!this.db.getPublisher(auth.did)) {
      sendJson(res, 403, { error: "forbidden", detail: "unknown publisher" });
      return true;
    }
    if (isSubmit) {
      this.submit(auth.did, body, res);
      return true;
    }
    const st = this.engine.status(id as string);
    if (!st || st.owner !== auth.did) {
      sendJson(res, 404, { error: "not_found", detail: "no such job of yours" });
      return true;
    }
    const { owner: _owner, ...status } = st;
    if (results) sendJson(res, 200, { state: st.state, results: this.engine.results(st.id) });
    else sendJson(res, 200, status);
    return true;
  }

  private submit(owner: string, body: Buffer, res: ServerResponse): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      sendJson(res, 400, { error: "invalid", detail: "body is not JSON" });
      return;
    }
    let r;
    try {
      r = validateJobRequest(parsed);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      sendJson(res, e.code === "too_large" ? 413 : 400, { error: e.code, detail: e.detail });
      return;
    }
    const id = randomBytes(9).toString("base64url");
    const out = this.engine.submit(owner, r, id);
    if ("error" in out) {
      sendJson(res, out.error === "busy" ? 503 : 429, out);
      return;
    }
    sendJson(res, 201, { jobId: id, tasks: r.inputs.length });
  }
}

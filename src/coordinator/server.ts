// HTTP + WebSocket front of the coordinator: routes /ws/node and /ws/browser upgrades and
// hands every other request to the REST API (rest.ts: /api, the status page at "/"). Wires the
// registry, proximity, content and signalling modules together and runs the periodic sweeps.
import { iceServersFor, startStunServer, type IceServer, type StunServer } from "./stun";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import {
  LIMITS,
  MAX_MESSAGE_BYTES,
  ProtocolError,
  decodeBrowserMessage,
  decodeNodeMessage,
  encodeMessage,
  type BrowserToCoordinator,
  type CoordinatorToBrowser,
  type CoordinatorToNode,
  type ErrorCode,
  type NodeToCoordinator,
  type ProbeTarget,
  type Reachability,
} from "../protocol/messages";
import type { CoordinatorConfig } from "./config";
import { JobService } from "./jobs/service"; // jobs
import {
  ContentIndex,
  planPlacement,
  planPreposition,
  type HoldPlan,
  type ManifestVerifier,
  type PlacementNode,
} from "./content";
import { CoordinatorDb } from "./db";
import { LeaderClusters, RttMatrix, rankNodes, type RankCandidate } from "./proximity";
import { NodeRegistry, type NodeEntry, type NodeLink } from "./registry";
import { SignallingRelay, TokenBucket } from "./signalling";
import { RestApi, sendJson } from "./rest";
import { AppService, type AppNode } from "./apps/service"; // apps (issue 7)
import type { StatusData } from "./status";

/** Close codes (RFC 6455 section 7.4.2 private range 4000-4999). */
export const CLOSE = {
  heartbeatTimeout: 4000,
  authFailed: 4001,
  authTimeout: 4002,
  full: 4003,
  rateLimited: 4008,
  replaced: 4009,
  shutdown: 1001,
} as const;

/** Frames up to this size get a typed too_large error; larger ones close with 1009. */
export const WS_MAX_PAYLOAD = 4 * MAX_MESSAGE_BYTES;

interface Limits {
  all: TokenBucket;
  /** jobs: job.commit/result/fail have their own (larger) budget. */
  jobs: TokenBucket;
  signal: TokenBucket;
  violations: number;
}

interface BrowserConn {
  id: string;
  ws: WebSocket;
  limits: Limits;
  reported: Set<string>;
}

const UNKNOWN_CLUSTER = "unplaced";
/** Apps go to nodes browsers reach best first (a NAT class a page's checks open easily). */
const APP_REACH_ORDER: Reachability[] = ["public", "nat-cone", "unknown", "nat-symmetric"];

export class CoordinatorServer {
  readonly db: CoordinatorDb;
  readonly registry: NodeRegistry;
  readonly content: ContentIndex;
  readonly rtt: RttMatrix;
  readonly clusters: LeaderClusters;
  readonly relay: SignallingRelay;
  readonly jobs: JobService; // jobs
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly browsers = new Map<string, BrowserConn>();
  private readonly timers: NodeJS.Timeout[] = [];
  private eagerPlacement: NodeJS.Timeout | undefined;
  private lastPlacementAt = -Infinity;
  private readonly landmarkIds: Set<string>;
  private pendingNodeConns = 0;
  /** apps (issue 7): app lifecycle (src/coordinator/apps/service.ts). */
  readonly apps: AppService;
  private stun: StunServer | undefined;

  constructor(
    readonly cfg: CoordinatorConfig,
    verifier: ManifestVerifier,
    private readonly now: () => number = Date.now,
  ) {
    this.db = new CoordinatorDb(cfg.dbPath);
    for (const did of cfg.publishers) this.db.addPublisher(did, "", this.now());
    this.registry = new NodeRegistry(cfg, this.db);
    this.content = new ContentIndex(this.db, verifier, cfg.placement.popularityHalfLifeMs);
    this.landmarkIds = new Set(cfg.landmarks.map((l) => l.id));
    this.rtt = new RttMatrix(this.landmarkIds);
    this.clusters = new LeaderClusters(this.rtt, cfg.clusterRadiusMs);
    this.relay = new SignallingRelay(
      cfg.signalling.sessionTtlMs,
      cfg.signalling.maxSessionsPerBrowser,
    );
    this.jobs = new JobService(
      cfg,
      this.db,
      this.registry,
      (n, near) => this.rtt.estimate(n, near),
      this.now,
    ); // jobs
    const appNode = (n: NodeEntry): AppNode => ({ id: n.id, send: (m) => n.link.send(m) });
    this.apps = new AppService({
      // Nodes browsers can reach directly and that are credible, the least loaded first.
      nodes: () =>
        this.servingNodes()
          .sort(
            (a, b) =>
              APP_REACH_ORDER.indexOf(a.capacity.reachability) -
                APP_REACH_ORDER.indexOf(b.capacity.reachability) ||
              a.capacity.load - b.capacity.load,
          )
          .map(appNode),
      node: (id) => {
        const n = this.registry.get(id);
        return n && appNode(n);
      },
      now: this.now,
      db: this.db,
    });
    this.registry.onLeave((id) => {
      this.jobs.nodeLost(id); // jobs
      this.apps.onNodeLeft(id); // apps
      this.content.dropNode(id);
      this.content.moveDemand(id, this.clusters.remove(id), this.now());
      this.rtt.remove(id);
      this.relay.closeNode(id);
    });
    const rest = new RestApi({
      cfg,
      db: this.db,
      content: this.content,
      statusData: () => this.statusData(),
      now: this.now,
      jobs: this.jobs, // jobs
      apps: this.apps, // apps
    });
    this.http = createServer((req, res) => {
      rest.handle(req, res).catch((e: unknown) => {
        process.stderr.write(`pear-fog-coordinator: ${req.method} ${req.url}: ${String(e)}\n`);
        if (!res.headersSent) sendJson(res, 500, { error: "internal", detail: "internal error" });
        else res.destroy();
      });
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD });
    this.http.on("upgrade", (req, socket, head) => this.handleUpgrade(req, socket, head));
  }

  /** Listens and starts the timers; resolves to the base URL ("http://host:port"). */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(this.cfg.port, this.cfg.host, () => {
        this.http.removeListener("error", reject);
        resolve();
      });
    });
    this.timers.push(
      setInterval(() => this.sweep(), this.cfg.sweepIntervalMs),
      setInterval(() => this.placeContent(), this.cfg.placement.intervalMs),
      setInterval(() => this.sendProbeLists(), this.cfg.probeIntervalMs),
    );
    if (this.cfg.ice.stunPort >= 0)
      this.stun = await startStunServer(this.cfg.ice.stunHost, this.cfg.ice.stunPort);
    const a = this.http.address() as AddressInfo;
    const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  /** UDP port of the STUN responder, undefined when it is off. */
  stunPort(): number | undefined {
    return this.stun?.port;
  }

  /** ICE servers for one browser or node (TURN credentials minted for `id`, stun.ts). */
  private iceServersFor(id: string): IceServer[] | undefined {
    const list = iceServersFor(this.cfg.ice, id, this.now());
    return list.length ? list : undefined;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.eagerPlacement);
    await this.stun?.close();
    for (const ws of this.wss.clients) ws.close(CLOSE.shutdown, "coordinator shutting down");
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        for (const ws of this.wss.clients) ws.terminate();
      }, 1000);
      this.wss.close(() => {
        clearTimeout(force);
        resolve();
      });
    });
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.registry.flush();
    this.jobs.close(); // jobs
    this.db.close();
  }

  // ---------------------------------------------------------------- periodic work
  /** Drops dead nodes and idle relay sessions. */
  sweep(): string[] {
    const now = this.now();
    this.relay.expire(now);
    this.jobs.tick(); // jobs
    return this.registry.sweep(now);
  }

  /** A placement round soon (next tick), unless one ran or is due within eagerGapMs. */
  private placeSoon(): void {
    const gap = this.cfg.placement.eagerGapMs;
    if (gap <= 0 || this.eagerPlacement || this.now() - this.lastPlacementAt < gap) return;
    this.eagerPlacement = setTimeout(() => {
      this.eagerPlacement = undefined;
      this.placeContent();
    }, 0);
  }

  /** Nodes given content or apps: browsers can reach them without a relay, and credible. */
  private servingNodes() {
    return this.registry
      .list()
      .filter(
        (n) =>
          n.capacity.reachability !== "relay-only" && n.credibility >= this.cfg.rank.minCredibility,
      );
  }

  /** One placement round; returns the number of hold instructions sent. */
  placeContent(): number {
    const now = this.now();
    this.lastPlacementAt = now;
    const nodes: (PlacementNode & { capBytes: number })[] = this.servingNodes()
      .filter((n) => n.capacity.storeCapBytes > 0)
      .map((n) => ({
        id: n.id,
        cluster: this.clusters.clusterOf(n.id),
        capBytes: n.capacity.storeCapBytes,
        freeBytes: Math.max(0, n.capacity.storeCapBytes - n.capacity.storeBytes),
      }));
    if (nodes.length === 0) return 0;
    const demanded = planPlacement({
      demands: this.content.demands(now, this.cfg.placement.minPopularity),
      nodes,
      holders: (c) => this.content.holdersOrPending(c, now),
      confirmed: (c) => this.content.holders(c),
      seedFirst: this.cfg.placement.seedFirst,
      rttToCluster: (n, c) => this.rtt.estimate(n, c),
      replication: this.cfg.placement.replication,
      maxChunksPerNodeRound: this.cfg.placement.maxChunksPerNodeRound,
      unknownRttMs: this.cfg.unknownRttMs,
      rttBandMs: this.cfg.placement.rttBandMs,
    });
    const plans = [...demanded, ...this.prepositionPlans(nodes, demanded, now)];
    let sent = 0;
    for (const p of plans) {
      const node = this.registry.get(p.node);
      if (!node) continue;
      // Holders are named with their chunk URL when they told us their HTTP port.
      const sources = p.sources.map((s) => {
        const base = s.kind === "node" ? this.registry.get(s.nodeId)?.chunkBase : undefined;
        return base ? { ...s, url: base } : s;
      });
      for (let i = 0; i < p.chunks.length; i += LIMITS.holdChunks) {
        const chunks = p.chunks.slice(i, i + LIMITS.holdChunks);
        node.link.send({ t: "node.hold", content: p.content, chunks, sources });
        this.content.markPending(p.node, chunks, now + this.cfg.placement.holdTimeoutMs);
        sent++;
      }
    }
    return sent;
  }

  /**
   * Content nobody asked for yet (planPreposition), in the room this round's demand plans and
   * the holds still pending leave on each node.
   */
  private prepositionPlans(
    nodes: (PlacementNode & { capBytes: number })[],
    demanded: HoldPlan[],
    now: number,
  ): HoldPlan[] {
    const share = this.cfg.placement.prepositionShare;
    if (share <= 0) return [];
    const given = new Map<string, number>();
    const soon = this.content.pendingBytes(now);
    const inDemand = new Set<string>();
    for (const p of demanded) {
      given.set(p.node, (given.get(p.node) ?? 0) + p.chunks.length);
      for (const c of p.chunks) {
        inDemand.add(c);
        soon.set(p.node, (soon.get(p.node) ?? 0) + this.content.chunkBytes(c));
      }
    }
    const taken = new Set(["demand"]);
    return planPreposition({
      contents: this.content.contents().reverse(),
      nodes: nodes.map((n) => ({
        ...n,
        freeBytes: Math.max(0, n.freeBytes - (soon.get(n.id) ?? 0)),
      })),
      holders: (c) => (inDemand.has(c) ? taken : this.content.holdersOrPending(c, now)),
      share,
      maxChunksPerNodeRound: this.cfg.placement.maxChunksPerNodeRound,
      assignedThisRound: given,
    });
  }

  private probeTargetsFor(selfId: string | undefined): ProbeTarget[] {
    const out: ProbeTarget[] = this.cfg.landmarks.slice(0, this.cfg.probeTargets);
    const peers = this.registry.list().filter((n) => n.id !== selfId && n.probeUrl);
    // Random sample, so over successive rounds every pair gets measured.
    for (let i = peers.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [peers[i], peers[j]] = [peers[j] as (typeof peers)[0], peers[i] as (typeof peers)[0]];
    }
    for (const p of peers) {
      if (out.length >= Math.min(this.cfg.probeTargets, LIMITS.probeTargets)) break;
      out.push({ id: p.id, url: p.probeUrl as string });
    }
    return out;
  }

  private sendProbeLists(): void {
    for (const n of this.registry.list()) {
      n.link.send({ t: "node.probe", targets: this.probeTargetsFor(n.id) });
    }
  }

  // ---------------------------------------------------------------- websockets
  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? "").split("?")[0];
    if (path === "/ws/node") {
      if (this.registry.size() + this.pendingNodeConns >= this.cfg.maxNodes) {
        return rejectUpgrade(socket, 503, "too many nodes");
      }
      const addr = req.socket.remoteAddress;
      this.wss.handleUpgrade(req, socket, head, (ws) => this.acceptNode(ws, addr));
    } else if (path === "/ws/browser") {
      if (this.browsers.size >= this.cfg.maxBrowsers) {
        return rejectUpgrade(socket, 503, "too many browsers");
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.acceptBrowser(ws));
    } else {
      rejectUpgrade(socket, 404, "no such endpoint");
    }
  }

  private newLimits(): Limits {
    const r = this.cfg.rateLimit;
    const now = this.now();
    return {
      all: new TokenBucket(r.messagesBurst, r.messagesPerSec, now),
      jobs: new TokenBucket(this.cfg.jobs.messagesBurst, this.cfg.jobs.messagesPerSec, now),
      signal: new TokenBucket(r.signalBurst, r.signalPerSec, now),
      violations: 0,
    };
  }

  /** Counts a violation; closes the socket past the limit. Returns false if closed. */
  private violation(ws: WebSocket, limits: Limits): boolean {
    limits.violations++;
    if (limits.violations > this.cfg.rateLimit.maxViolations) {
      ws.close(CLOSE.rateLimited, "too many rejected messages");
      return false;
    }
    return true;
  }

  private acceptNode(ws: WebSocket, remoteAddress: string | undefined): void {
    this.pendingNodeConns++;
    let pending = true;
    const donePending = () => {
      if (pending) this.pendingNodeConns--;
      pending = false;
    };
    const limits = this.newLimits();
    const send = (m: CoordinatorToNode) => sendWs(ws, encodeMessage(m));
    const link: NodeLink = { send, close: (code, reason) => ws.close(code, reason) };
    let phase: "hello" | "challenged" | "ready" | "closing" = "hello";
    let nodeId = "";
    let nonce = "";
    let version = "";
    let probeUrl: string | undefined;
    let chunkBase: string | undefined;
    const authTimer = setTimeout(() => {
      if (phase !== "ready") ws.close(CLOSE.authTimeout, "authentication timeout");
    }, this.cfg.authTimeoutMs);

    ws.on("message", (data, isBinary) => {
      const now = this.now();
      if (phase === "closing") return;
      let msg: NodeToCoordinator;
      try {
        msg = decodeNodeMessage(frameOf(data, isBinary));
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        send(errorMsg(e.code, e.detail));
        this.violation(ws, limits);
        return;
      }
      // jobs: a node streaming task results is charged to its own bucket.
      if (!(msg.t.startsWith("job.") && phase === "ready" ? limits.jobs : limits.all).take(now)) {
        send(errorMsg("rate_limited", "message rate exceeded"));
        this.violation(ws, limits);
        return;
      }
      if (phase === "hello") {
        if (msg.t !== "node.hello") {
          send(errorMsg("unauthorized", "send node.hello first"));
          phase = "closing";
          ws.close(CLOSE.authFailed, "expected node.hello");
          return;
        }
        nodeId = msg.nodeId;
        version = msg.version;
        probeUrl = msg.probeUrl;
        chunkBase = nodeChunkBase(remoteAddress, msg.httpPort);
        nonce = this.registry.newNonce();
        phase = "challenged";
        send({ t: "node.challenge", nonce, coordinatorId: this.cfg.coordinatorId });
        return;
      }
      if (phase === "challenged") {
        if (msg.t !== "node.auth" || !this.registry.verifyAuth(nodeId, nonce, msg.sig)) {
          send(errorMsg("unauthorized", "challenge signature does not verify"));
          phase = "closing";
          ws.close(CLOSE.authFailed, "bad signature");
          return;
        }
        clearTimeout(authTimer);
        donePending();
        phase = "ready";
        const entry = this.registry.register(nodeId, link, { version, probeUrl, chunkBase }, now);
        const nodeIce = this.iceServersFor(nodeId);
        send({
          t: "node.welcome",
          heartbeatMs: this.cfg.heartbeatMs,
          deadAfterMs: this.cfg.nodeDeadAfterMs,
          credibility: entry.credibility,
          ...(nodeIce && { iceServers: nodeIce }),
        });
        send({ t: "node.probe", targets: this.probeTargetsFor(nodeId) });
        this.apps.onNodeJoined(nodeId); // apps: run what should run there
        return;
      }
      try {
        this.onNodeMessage(nodeId, link, msg, limits, ws, now);
      } catch (e) {
        send(errorMsg("internal", e instanceof Error ? e.message : String(e)));
      }
    });
    ws.on("close", () => {
      clearTimeout(authTimer);
      donePending();
      if (phase === "ready") this.registry.disconnected(nodeId, link);
    });
    ws.on("error", () => ws.terminate());
  }

  private onNodeMessage(
    nodeId: string,
    link: NodeLink,
    msg: NodeToCoordinator,
    limits: Limits,
    ws: WebSocket,
    now: number,
  ): void {
    const node = this.registry.get(nodeId);
    // Gone (timed out) or replaced by a newer connection of the same node: ignore.
    if (!node || node.link !== link) return;
    switch (msg.t) {
      case "node.heartbeat":
        this.registry.heartbeat(nodeId, msg, now);
        this.content.applyInventory(
          nodeId,
          msg.inventory.add,
          msg.inventory.remove,
          msg.inventory.full ?? false,
        );
        this.jobs.onHeartbeat(nodeId, msg.facts); // jobs
        return;
      case "node.probes":
        for (const r of msg.results) {
          if (this.landmarkIds.has(r.target) || this.registry.get(r.target)) {
            this.rtt.add(nodeId, r.target, r.rttMs);
          }
        }
        this.clusters.place(nodeId);
        return;
      case "sig.answer":
      case "sig.candidate": {
        if (!limits.signal.take(now)) {
          node.link.send(errorMsg("rate_limited", "signalling rate exceeded"));
          this.violation(ws, limits);
          return;
        }
        const s = this.relay.fromNode(nodeId, msg.session, now);
        if (typeof s === "string") {
          node.link.send(errorMsg("not_found", `session: ${s}`));
          return;
        }
        const b = this.browsers.get(s.browserConn);
        if (!b) return;
        const out: CoordinatorToBrowser =
          msg.t === "sig.answer"
            ? { t: "sig.answer", session: s.browserSession, node: nodeId, sdp: msg.sdp }
            : {
                t: "sig.candidate",
                session: s.browserSession,
                node: nodeId,
                candidate: msg.candidate,
                ...(msg.mid !== undefined ? { mid: msg.mid } : {}),
              };
        sendWs(b.ws, encodeMessage(out));
        return;
      }
      case "node.hello":
      case "node.auth":
        node.link.send(errorMsg("invalid", "already authenticated"));
        return;
      // jobs: stale ones (cancelled, timed out) are dropped quietly
      case "job.commit":
      case "job.result":
      case "job.fail":
        this.jobs.onNodeMessage(nodeId, msg);
        return;
      case "app.state": // apps (issue 7)
      case "app.logs":
      case "app.stats":
        this.apps.onNodeMessage(nodeId, msg);
        return;
    }
  }

  private acceptBrowser(ws: WebSocket): void {
    const id = randomBytes(12).toString("base64url");
    const conn: BrowserConn = { id, ws, limits: this.newLimits(), reported: new Set() };
    this.browsers.set(id, conn);
    ws.on("message", (data, isBinary) => {
      const now = this.now();
      const send = (m: CoordinatorToBrowser) => sendWs(ws, encodeMessage(m));
      let msg: BrowserToCoordinator;
      try {
        msg = decodeBrowserMessage(frameOf(data, isBinary));
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        send(errorMsg(e.code, e.detail));
        this.violation(ws, conn.limits);
        return;
      }
      // jobs: a browser streaming task results is charged to its own bucket.
      if (!(msg.t.startsWith("job.") ? conn.limits.jobs : conn.limits.all).take(now)) {
        send(errorMsg("rate_limited", "message rate exceeded"));
        this.violation(ws, conn.limits);
        return;
      }
      try {
        this.onBrowserMessage(conn, msg, send, now);
      } catch (e) {
        send(errorMsg("internal", e instanceof Error ? e.message : String(e)));
      }
    });
    ws.on("close", () => {
      this.jobs.detachBrowser(id); // jobs
      this.browsers.delete(id);
      this.relay.closeBrowser(id);
      this.content.moveDemand(id, this.clusters.remove(id), this.now());
      this.rtt.remove(id);
    });
    ws.on("error", () => ws.terminate());
  }

  private onBrowserMessage(
    conn: BrowserConn,
    msg: BrowserToCoordinator,
    send: (m: CoordinatorToBrowser) => void,
    now: number,
  ): void {
    switch (msg.t) {
      case "browser.hello": {
        const ice = this.iceServersFor(conn.id);
        send({
          t: "browser.welcome",
          browser: conn.id,
          probe: this.probeTargetsFor(undefined),
          ...(ice && { iceServers: ice }),
        });
        return;
      }
      case "browser.find": {
        if (!this.content.get(msg.content)) {
          send({ ...errorMsg("not_found", `content ${msg.content}`), req: msg.req });
          return;
        }
        const cluster = this.clusters.clusterOf(conn.id) ?? UNKNOWN_CLUSTER;
        this.content.recordFind(msg.content, cluster, now);
        const nodes = this.find(conn.id, msg.chunks, msg.max);
        send({ t: "browser.found", req: msg.req, nodes });
        if (nodes.length === 0) this.placeSoon(); // cold content: fill it now
        return;
      }
      case "browser.rtt":
        for (const s of msg.samples) {
          if (this.landmarkIds.has(s.target) || this.registry.get(s.target)) {
            this.rtt.add(conn.id, s.target, s.rttMs);
          }
        }
        this.clusters.place(conn.id);
        return;
      case "browser.badchunk": {
        const key = `${msg.node}|${msg.chunk}|${msg.reason}`;
        if (conn.reported.has(key) || conn.reported.size >= LIMITS.findChunks * 4) return;
        conn.reported.add(key);
        this.registry.penalize(msg.node, msg.reason);
        if (msg.reason === "hash_mismatch") {
          this.content.applyInventory(msg.node, [], [msg.chunk], false);
        }
        return;
      }
      // jobs: a page that opted in to run tasks (SDK JobWorker)
      case "browser.jobs":
        this.jobs.attachBrowser(conn.id, send, msg.facts);
        return;
      case "job.commit":
      case "job.result":
      case "job.fail":
        this.jobs.onBrowserMessage(conn.id, msg);
        return;
      // apps (issue 7): the node(s) running an app that takes browser messages
      case "app.find":
        send({
          t: "app.found",
          req: msg.req,
          name: msg.name,
          nodes: this.apps.nodesFor(msg.name).filter((n) => this.registry.get(n)),
        });
        return;
      case "browser.stats":
        this.db.addOffload(Math.floor(now / this.cfg.statsBucketMs), msg.p2pBytes, msg.httpBytes);
        return;
      case "sig.offer":
      case "sig.candidate": {
        if (!conn.limits.signal.take(now)) {
          send(errorMsg("rate_limited", "signalling rate exceeded"));
          this.violation(conn.ws, conn.limits);
          return;
        }
        if (msg.t === "sig.offer") {
          const node = this.registry.get(msg.node);
          if (!node) {
            send(errorMsg("not_found", `node ${msg.node} is not connected`));
            return;
          }
          const s = this.relay.open(conn.id, msg.session, msg.node, now);
          if (typeof s === "string") {
            send(errorMsg(s === "too_many_sessions" ? "rate_limited" : "invalid", `session: ${s}`));
            return;
          }
          node.link.send({ t: "sig.offer", session: s.relayId, sdp: msg.sdp });
        } else {
          const s = this.relay.fromBrowser(conn.id, msg.session, now);
          const node = s && this.registry.get(s.node);
          if (!s || !node) {
            send(errorMsg("not_found", "session: unknown_session"));
            return;
          }
          node.link.send({
            t: "sig.candidate",
            session: s.relayId,
            candidate: msg.candidate,
            ...(msg.mid !== undefined ? { mid: msg.mid } : {}),
          });
        }
        return;
      }
    }
  }

  /** Ranked nodes holding any of `chunks`, for browser `browserId`. */
  find(browserId: string, chunks: string[], max: number = LIMITS.foundNodes) {
    const has = new Map<string, number[]>();
    chunks.forEach((c, i) => {
      for (const n of this.content.holders(c)) {
        const list = has.get(n) ?? [];
        list.push(i);
        has.set(n, list);
      }
    });
    const candidates: RankCandidate[] = [];
    for (const [id, idx] of has) {
      const n = this.registry.get(id);
      if (!n) continue;
      candidates.push({
        id,
        rttMs: this.rtt.estimate(browserId, id),
        uplinkCapBps: n.capacity.uplinkCapBps,
        uplinkUsedBps: n.capacity.uplinkUsedBps,
        load: n.capacity.load,
        credibility: n.credibility,
        reachability: n.capacity.reachability,
        has: idx,
      });
    }
    return rankNodes(
      { wanted: chunks.length, max },
      candidates,
      this.cfg.rank,
      this.cfg.unknownRttMs,
    ).map((r) => ({
      node: r.id,
      score: r.score,
      has: r.has,
      rttMs: Math.min(LIMITS.rttMs, r.rttMs),
    }));
  }

  // ---------------------------------------------------------------- HTTP
  statusData(): StatusData {
    this.registry.flush();
    const now = this.now();
    const bucket = Math.floor(now / this.cfg.statsBucketMs);
    const from = bucket - this.cfg.statsBuckets + 1;
    return {
      generatedAt: now,
      browsers: this.browsers.size,
      contents: this.content.contents().length,
      publishers: this.db.listPublishers().length,
      offload: this.db.offloadTotals(),
      bucketMs: this.cfg.statsBucketMs,
      nodes: this.registry.list().map((n) => {
        const series = new Array<number>(this.cfg.statsBuckets).fill(0);
        for (const p of this.db.bytesSeries(n.id, from)) series[p.bucket - from] = p.bytes;
        return {
          id: n.id,
          cluster: this.clusters.clusterOf(n.id) ?? UNKNOWN_CLUSTER,
          reachability: n.capacity.reachability,
          load: n.capacity.load,
          uplinkCapBps: n.capacity.uplinkCapBps,
          uplinkUsedBps: n.capacity.uplinkUsedBps,
          storeBytes: n.capacity.storeBytes,
          storeCapBytes: n.capacity.storeCapBytes,
          credibility: n.credibility,
          lastSeenAgoMs: now - n.lastSeen,
          chunks: this.content.inventorySize(n.id),
          bytesServed: n.bytesServed,
          series,
        };
      }),
    };
  }
}

function errorMsg(code: ErrorCode, detail: string) {
  return { t: "error" as const, code, detail: detail.slice(0, LIMITS.text) };
}

function frameOf(data: WebSocket.RawData, isBinary: boolean): string | Uint8Array {
  const buf = Array.isArray(data)
    ? Buffer.concat(data)
    : data instanceof ArrayBuffer
      ? Buffer.from(data)
      : data;
  return isBinary ? new Uint8Array(buf) : buf.toString("utf8");
}

/**
 * `http://<addr>:<port>/chunks/` for a node's HTTP port, from the address its coordinator
 * connection comes from (IPv4-mapped IPv6 unwrapped, IPv6 bracketed). Behind a NAT without a
 * forwarded port that address does not reach it: fills from it fail and fall back to origins.
 */
export function nodeChunkBase(
  remoteAddress: string | undefined,
  httpPort: number | undefined,
): string | undefined {
  if (!remoteAddress || !httpPort) return undefined;
  const a = remoteAddress.startsWith("::ffff:") ? remoteAddress.slice(7) : remoteAddress;
  const host = a.includes(":") ? `[${a}]` : a;
  return `http://${host}:${httpPort}/chunks/`;
}

function sendWs(ws: WebSocket, text: string): void {
  if (ws.readyState === ws.OPEN) ws.send(text);
}

function rejectUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

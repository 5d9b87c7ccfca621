// The node agent: pear-fogd's control plane. It signs in to the coordinator with the node key,
// relays browsers' offers to pear-fogd, fills the store as the coordinator says, and decides
// when the node shares (owner switch, hours, monthly cap; src/agent/policy.ts). All I/O goes
// through the Platform (src/platform/platform.ts), so this runs on Node and inside pear-fogd.
//
// Sharing stops gracefully: pear-fogd stops accepting sessions and the agent leaves the
// coordinator (so no browser is sent here), open sessions keep going for `graceMs`, then they
// are closed. Sharing resumes by the reverse.
import {
  NodeClient,
  BACKOFF_DEFAULTS,
  type BackoffOptions,
  type HeartbeatState,
} from "../coordinator/node-client";
import { encodeKeyFile, keyPairFromSeed, parseKeyFile, type KeyPair } from "../protocol/ed25519";
import type { CoordinatorToNode } from "../protocol/messages";
import type { AppCoordinatorToNode, AppRun } from "../protocol/app"; // apps
import { APP_MANAGER_DEFAULTS, AppManager, type AppManagerOptions } from "./apps"; // apps
import type { DaemonStatus, Platform } from "../platform/platform";
import type { AgentConfig } from "./config";
import { FILL_DEFAULTS, StoreFiller, type FillOptions, type FillStats } from "./fill";
import { JOB_RUNNER_DEFAULTS, JobRunner, type JobRunnerOptions, type JobRunnerStats } from "./jobs";
import { WIFI_STATE_PATH, WifiContext, type WifiStats } from "./wifi";
import {
  addServed,
  decideSharing,
  parseUsage,
  type MonthlyUsage,
  type SharingReason,
} from "./policy";

export interface AgentOptions {
  /** Reported to the coordinator in node.hello. Default "pear-fog-agent". */
  version: string;
  /** How often pear-fogd's status is read and the sharing policy applied, ms. Default 2000. */
  tickMs: number;
  /** Open sessions may finish for this long after sharing stops, ms. Default 60000. */
  graceMs: number;
  /** Monthly usage is written at most this often (flash wear), ms. Default 600000. */
  usageSaveMs: number;
  /**
   * The store's chunk list is re-read this often to find chunks that left it, ms; also at the
   * first tick after pear-fogd's eviction count moves (reported within ~tickMs). Default 60000.
   */
  inventoryRefreshMs: number;
  /** Chunks listed from pear-fogd at most (count). Default 200000. */
  maxInventory: number;
  /** Monthly usage state file. Default: "usage.json" beside the key file. */
  usagePath?: string;
  /** The router's Wi-Fi context file (src/agent/wifi.ts). Default WIFI_STATE_PATH. */
  wifiStatePath?: string;
  fill: Partial<FillOptions>;
  backoff: Partial<BackoffOptions>;
  /** jobs: edge-compute tasks (src/agent/jobs.ts). Default JOB_RUNNER_DEFAULTS (one slot). */
  jobs: Partial<JobRunnerOptions>;
  /** apps: edge-compute apps (src/agent/apps.ts). Default APP_MANAGER_DEFAULTS. */
  apps: Partial<Omit<AppManagerOptions, "httpBase">>;
}

export const AGENT_DEFAULTS: AgentOptions = {
  version: "pear-fog-agent",
  tickMs: 2_000,
  graceMs: 60_000,
  usageSaveMs: 600_000,
  inventoryRefreshMs: 60_000,
  maxInventory: 200_000,
  fill: FILL_DEFAULTS,
  backoff: BACKOFF_DEFAULTS,
  jobs: JOB_RUNNER_DEFAULTS,
  apps: {},
};

export interface AgentStats {
  did: string;
  sharing: boolean;
  reason: SharingReason;
  /** Signed in to the coordinator now. */
  connected: boolean;
  /** Offers answered / refused (not sharing or pear-fogd said no). */
  offersAnswered: number;
  offersRefused: number;
  /** Sessions closed at the end of a grace period. */
  sessionsClosed: number;
  usage: MonthlyUsage;
  fill: FillStats;
  heldChunks: number;
  /** Wi-Fi clients and the upload cap in force, when the router's watcher is on. */
  wifi: WifiStats | null;
  /** Upload cap given to pear-fogd now (upload_cap, lowered while the household is busy), B/s. */
  uploadCapBps: number;
  /** jobs: tasks run, failed, revealed; the reference kernel time. */
  jobs: JobRunnerStats;
}

export interface Agent {
  stats(): AgentStats;
  /**
   * Re-read pear-fogd and apply the sharing policy now (also runs every tickMs). Ticks never
   * overlap: called while one runs, it waits for it, then runs one that reads the clock anew.
   */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

/** The agent could not start; `what` names the part (key, daemon, config). */
export class AgentError extends Error {
  constructor(
    readonly what: string,
    message: string,
  ) {
    super(`${what}: ${message}`);
    this.name = "AgentError";
  }
}

/** The coordinator's HTTP base from its node WebSocket URL (wss://h/ws/node → https://h). */
export function coordinatorHttpBase(wsUrl: string): string {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === "wss:" ? "https:" : "http:";
  u.pathname = u.pathname.replace(/\/ws\/node\/?$/, "") || "/";
  u.search = "";
  return u.toString().replace(/\/$/, "");
}

/** Load the node key, or make one (mode 0600) on first run. */
export async function loadOrCreateKey(p: Platform, path: string): Promise<KeyPair> {
  const bytes = await p.readFile(path);
  if (bytes) {
    try {
      return parseKeyFile(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new AgentError("key", `${path}: ${String(e)}`);
    }
  }
  const kp = keyPairFromSeed(p.randomBytes(32));
  await p.writeFileAtomic(path, new TextEncoder().encode(encodeKeyFile(kp)), 0o600);
  p.log("info", `created node key ${path} (${kp.did})`);
  return kp;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

export async function startAgent(
  cfg: AgentConfig,
  p: Platform,
  options: Partial<AgentOptions> = {},
): Promise<Agent> {
  const o: AgentOptions = { ...AGENT_DEFAULTS, ...options };
  const key = await loadOrCreateKey(p, cfg.keyPath);
  const usagePath = o.usagePath ?? `${dirOf(cfg.keyPath)}/usage.json`;
  const httpBase = coordinatorHttpBase(cfg.coordinatorUrl);

  const wifi = new WifiContext(p, cfg.uploadCapBps, o.wifiStatePath ?? WIFI_STATE_PATH);
  let capBps = cfg.uploadCapBps;
  let status: DaemonStatus;
  try {
    await p.daemon.limits({ uploadCap: cfg.uploadCapBps, storeSize: cfg.storeSizeBytes });
    status = await p.daemon.status();
  } catch (e) {
    throw new AgentError("daemon", String(e));
  }

  const usageBytes = await p.readFile(usagePath);
  const savedUsage = usageBytes && parseUsage(new TextDecoder().decode(usageBytes));
  if (usageBytes && !savedUsage) p.log("warn", `${usagePath}: unreadable, counting from zero`);
  let usage: MonthlyUsage = savedUsage || { month: p.localTime(p.now()).month, bytes: 0 };
  let usageDirty = false;
  let usageSavedAt = p.now();

  // Inventory: what the store holds, and the changes the coordinator has not heard of yet.
  const held = new Set<string>();
  let added: string[] = [];
  let removed: string[] = [];
  async function listStore(): Promise<Set<string>> {
    const all = new Set<string>();
    for (let off = 0; off < o.maxInventory;) {
      const page = await p.daemon.chunkList(off, 1000);
      for (const c of page.chunks) all.add(c);
      off += page.chunks.length;
      if (page.chunks.length === 0 || off >= page.total) break;
    }
    return all;
  }
  for (const c of await listStore()) held.add(c);
  let inventoryAt = p.now();
  let evictionsSeen = status.storeEvictions;

  let lastServed = status.bytesServedRtc;
  let servedSinceBeat = 0;
  let usedBps = 0;
  const st = { offersAnswered: 0, offersRefused: 0, sessionsClosed: 0 };
  let decision = decideSharing(cfg, p.localTime(p.now()), usage);
  let applied: boolean | undefined;
  let graceTimer: unknown;
  let tickTimer: unknown;
  let stopped = false;

  const filler = new StoreFiller(
    p,
    (content) => `${httpBase}/api/manifests/${content}`,
    (id) => {
      if (!held.has(id)) {
        held.add(id);
        added.push(id);
        client.reportSoon(); // browsers can be sent here before the next heartbeat
      }
    },
    o.fill,
  );

  // jobs: tasks through Platform.runTask; facts ride on the heartbeat.
  // The router owner's job_slots caps what the agent's options ask for.
  const slots = Math.min(o.jobs.slots ?? cfg.jobSlots, cfg.jobSlots);
  const jobs = new JobRunner(p, key.did, (m) => client.send(m), { ...o.jobs, slots });
  await jobs.start();
  // apps (issue 7): sandboxes through Platform.apps where pear-fogd has them
  const apps = p.apps
    ? new AppManager(p, (m) => client.send(m), {
        ...APP_MANAGER_DEFAULTS,
        dir: p.stagingPath("apps"),
        ...o.apps,
        httpBase,
      })
    : undefined;

  const client = new NodeClient({
    url: cfg.coordinatorUrl,
    key,
    version: o.version,
    ...(status.httpPort ? { httpPort: status.httpPort } : {}),
    backoff: o.backoff,
    connect: (u) => p.connectWebSocket(u),
    heartbeat: (full): HeartbeatState => {
      const s: HeartbeatState = {
        capacity: {
          uplinkCapBps: capBps,
          uplinkUsedBps: Math.round(usedBps),
          storeBytes: status.storeBytes,
          storeCapBytes: status.storeCap,
          load: 0,
          // from pear-fogd's STUN answers (docs/reachability.md); rankNodes weighs it
          reachability: status.reachability,
        },
        add: full ? [...held] : added,
        remove: full ? [] : removed,
        bytesServed: servedSinceBeat,
        facts: jobs.currentFacts(), // jobs
      };
      added = [];
      removed = [];
      servedSinceBeat = 0;
      return s;
    },
    onMessage: (msg) => onCoordinatorMessage(msg),
    onState: (up) => {
      if (!up) jobs.reset(); // jobs: the coordinator reassigns what we held
      p.log("info", up ? "signed in to the coordinator" : "coordinator connection lost");
    },
  });

  // Trickle ICE (RFC 8838): the coordinator's relay session id → pear-fogd's session, and
  // candidates that arrive before pear-fogd answered the offer.
  const rtcSessions = new Map<string, string>();
  const earlyCandidates = new Map<string, string[]>();
  const toDaemon = (session: string, candidate: string) =>
    p.daemon
      .candidate(session, candidate)
      .catch((e: unknown) => p.log("debug", `candidate refused by pear-fogd: ${String(e)}`));

  function onCoordinatorMessage(msg: CoordinatorToNode): void {
    if (msg.t === "node.welcome") {
      // the coordinator's STUN servers (IP literals: pear-fogd resolves no names here)
      const servers = stunServersOf(msg.iceServers ?? []);
      p.daemon
        .stunServers(servers)
        .catch((e: unknown) => p.log("warn", `pear-fogd stun_servers: ${String(e)}`));
      return;
    }
    if (msg.t === "sig.candidate") {
      const rtc = rtcSessions.get(msg.session);
      if (rtc) void toDaemon(rtc, msg.candidate);
      else {
        const q = earlyCandidates.get(msg.session) ?? [];
        if (q.length < 32) q.push(msg.candidate);
        earlyCandidates.set(msg.session, q);
      }
      return;
    }
    if (msg.t === "sig.offer") {
      if (!decision.share) {
        // No refusal message exists in the protocol: the browser's connect deadline moves it
        // on to other nodes or HTTP. We left the coordinator already, so this is a race.
        st.offersRefused++;
        return;
      }
      p.daemon.offer(msg.sdp).then(
        (a) => {
          st.offersAnswered++;
          client.send({ t: "sig.answer", session: msg.session, sdp: a.sdp });
          if (rtcSessions.size >= 1024) rtcSessions.delete(rtcSessions.keys().next().value!);
          rtcSessions.set(msg.session, a.session);
          for (const c of earlyCandidates.get(msg.session) ?? []) void toDaemon(a.session, c);
          earlyCandidates.delete(msg.session);
        },
        (e: unknown) => {
          earlyCandidates.delete(msg.session);
          st.offersRefused++;
          p.log("warn", `offer refused by pear-fogd: ${String(e)}`);
        },
      );
    } else if (msg.t === "job.task" || msg.t === "job.reveal" || msg.t === "job.cancel") {
      jobs.onMessage(msg); // jobs
    } else if (msg.t === "node.hold") {
      filler.hold(msg).catch((e: unknown) => p.log("warn", `hold ${msg.content}: ${String(e)}`));
    } else if (msg.t.startsWith("app.")) {
      // apps (issue 7): src/agent/apps.ts
      if (apps) apps.handle(msg as AppCoordinatorToNode);
      else
        client.send({
          t: "app.state",
          name: (msg as { name?: string }).name ?? (msg as AppRun).manifest.name,
          version: msg.t === "app.run" ? (msg as AppRun).manifest.version : "0",
          state: "failed",
          reason: "no_sandbox",
        });
    }
  }

  async function closeAllSessions(): Promise<void> {
    graceTimer = undefined;
    let s: DaemonStatus;
    try {
      s = await p.daemon.status();
    } catch (e) {
      p.log("warn", `grace end: ${String(e)}`);
      return;
    }
    for (const id of s.peerIds) {
      await p.daemon.closeSession(id).then(
        () => st.sessionsClosed++,
        () => undefined, // gone already
      );
    }
    if (s.peerIds.length)
      p.log("info", `closed ${s.peerIds.length} session(s) after the grace period`);
  }

  async function apply(share: boolean): Promise<void> {
    if (applied === share) return;
    applied = share;
    await p.daemon.sharing(share);
    if (share) {
      if (graceTimer !== undefined) p.clearTimeout(graceTimer);
      graceTimer = undefined;
      client.start();
      p.log("info", "sharing");
    } else {
      client.stop();
      graceTimer = p.setTimeout(() => void closeAllSessions(), o.graceMs);
      p.log("info", `not sharing (${decision.reason}); open sessions end in ${o.graceMs} ms`);
    }
  }

  async function saveUsage(force: boolean): Promise<void> {
    if (!usageDirty || (!force && p.now() - usageSavedAt < o.usageSaveMs)) return;
    usageDirty = false;
    usageSavedAt = p.now();
    await p
      .writeFileAtomic(usagePath, new TextEncoder().encode(JSON.stringify(usage)))
      .catch((e: unknown) => p.log("warn", `${usagePath}: ${String(e)}`));
  }

  // The tick in progress (or the last one): ticks run one after another, so a tick that began
  // before a change (of the clock, the config, the usage) cannot finish after a later one and
  // undo its decision.
  let ticking: Promise<void> = Promise.resolve();
  function tick(): Promise<void> {
    const run = ticking.then(tickOnce);
    ticking = run.catch(() => undefined);
    return run;
  }

  async function tickOnce(): Promise<void> {
    const now = p.now();
    const local = p.localTime(now);
    try {
      status = await p.daemon.status();
    } catch (e) {
      p.log("warn", `pear-fogd status: ${String(e)}`);
      return;
    }
    // A restarted pear-fogd counts from zero again.
    const delta =
      status.bytesServedRtc >= lastServed
        ? status.bytesServedRtc - lastServed
        : status.bytesServedRtc;
    lastServed = status.bytesServedRtc;
    servedSinceBeat += delta;
    usedBps = (delta * 1000) / Math.max(1, o.tickMs);
    if (delta > 0 || usage.month !== local.month) {
      usage = addServed(usage, local.month, delta);
      usageDirty = true;
    }
    // Wi-Fi context: back off while the household is busy (policy.wifiUploadCap).
    const w = await wifi.update().catch(() => undefined);
    const ws = wifi.stats(); // apps: Wi-Fi context for apps granted it
    apps?.setWifi(ws && { clients: ws.clients, busy: ws.busy });
    if (w?.changed) {
      try {
        await p.daemon.limits({ uploadCap: w.uploadCapBps });
        capBps = w.uploadCapBps;
      } catch (e) {
        p.log("warn", `pear-fogd limits: ${String(e)}`);
      }
    }
    await jobs.refreshFacts(); // jobs
    const before = decision;
    decision = decideSharing(cfg, local, usage);
    await saveUsage(decision.reason === "monthly_cap" && before.reason !== "monthly_cap");
    await apply(decision.share);
    // Evicted chunks must leave the coordinator's index before browsers are sent here for them
    // (each such request is a NOT_FOUND and an HTTP fallback).
    const evicted = status.storeEvictions !== evictionsSeen;
    if (evicted || now - inventoryAt >= o.inventoryRefreshMs) {
      inventoryAt = now;
      evictionsSeen = status.storeEvictions;
      const listed = await listStore().catch(() => undefined);
      if (listed) {
        for (const c of held) {
          if (!listed.has(c)) {
            held.delete(c);
            removed.push(c);
          }
        }
        if (removed.length > 0 && evicted) client.reportSoon();
        for (const c of listed) {
          if (!held.has(c)) {
            held.add(c);
            added.push(c);
          }
        }
      }
    }
  }

  function schedule(): void {
    if (stopped) return;
    tickTimer = p.setTimeout(() => {
      tick()
        .catch((e: unknown) => p.log("error", `tick: ${String(e)}`))
        .finally(schedule);
    }, o.tickMs);
  }

  await apply(decision.share);
  schedule();
  p.log("info", `node ${key.did}, ${held.size} chunk(s) in the store, ${decision.reason}`);

  return {
    tick,
    stats: () => ({
      did: key.did,
      sharing: decision.share,
      reason: decision.reason,
      connected: client.authenticated,
      ...st,
      usage,
      fill: { ...filler.stats, failed: { ...filler.stats.failed } },
      heldChunks: held.size,
      wifi: wifi.stats(),
      uploadCapBps: capBps,
      jobs: { ...jobs.stats, failed: { ...jobs.stats.failed } },
    }),
    async stop() {
      stopped = true;
      if (tickTimer !== undefined) p.clearTimeout(tickTimer);
      if (graceTimer !== undefined) p.clearTimeout(graceTimer);
      client.stop();
      filler.stop();
      jobs.stop();
      usageDirty = true;
      await saveUsage(true);
    },
  };
}

/**
 * The STUN servers pear-fogd can use from ICE server URLs: "stun:198.51.100.2:3478" →
 * "198.51.100.2:3478", "stun:[2001:db8::1]" → "[2001:db8::1]:3478"; names are skipped
 * (pear-fogd's STUN client takes addresses), at most 4.
 */
export function stunServersOf(servers: { urls: string[] }[]): string[] {
  const out: string[] = [];
  for (const s of servers)
    for (const u of s.urls) {
      const m = /^stun:(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?$/.exec(u);
      if (m && out.length < 4) out.push(`${m[1]}:${m[2] ?? "3478"}`); // "[v6]:port" stays
    }
  return out;
}

// Edge-compute app lifecycle on the coordinator (issue 7, docs/apps.md): deploy / start / stop /
// update (with rollback) / delete, the state each app's node reports, logs on request.
// Bundles are kept by SHA-256 and served to nodes at /api/apps/bundles/<sha256> (content
// addressed: the node checks the hash and the developer's signature before running it).
// Deployments and bundles persist in the coordinator's SQLite file (db.ts migration 3); after a
// restart every app is "deploying" until its node signs in again and is told to run it.
import type { AppManifest, AppNodeToCoordinator, AppState } from "../../protocol/app";
import { AppError, verifyApp } from "../../protocol/app";
import type { CoordinatorToNode } from "../../protocol/messages";
import type { CoordinatorDb } from "../db";

export interface AppNode {
  id: string;
  send(msg: CoordinatorToNode): void;
}

export interface AppServiceDeps {
  /** Connected nodes that can take apps, in preference order (ties of placement go first). */
  nodes(): AppNode[];
  node(id: string): AppNode | undefined;
  now(): number;
  /** Persistence (absent: in memory only). */
  db?: CoordinatorDb;
}

export type AppOpError =
  | "not_found"
  | "forbidden"
  | "no_node"
  | "conflict"
  | "invalid"
  | "bad_signature"
  | "bad_bundle"
  | "too_large"
  | "timeout";

export class AppOpFailed extends Error {
  constructor(
    readonly code: AppOpError,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = "AppOpFailed";
  }
}

export interface AppRecord {
  name: string;
  developer: string;
  node: string;
  manifest: AppManifest;
  state: AppState;
  reason?: string;
  /** What the operator asked for last: running or stopped. */
  desired: "running" | "stopped";
  /** The version to go back to if an update fails to start. */
  previous?: AppManifest;
  /** Set while an update is in flight; a failure of this version rolls back. */
  updating?: string;
  rolledBack?: { from: string; reason: string };
  updatedAt: number;
  /** What it sent to browsers since it started (the node's app.stats; not persisted). */
  upload?: { bytes: number; refused: number };
}

export interface AppView {
  name: string;
  version: string;
  developer: string;
  node: string;
  state: AppState;
  reason?: string;
  desired: "running" | "stopped";
  previousVersion?: string;
  rolledBack?: { from: string; reason: string };
  updatedAt: number;
  /** Bytes its pear.send was granted and sends refused, since it started on the node. */
  upload?: { bytes: number; refused: number };
}

const LOGS_TIMEOUT_MS = 5000;

export class AppService {
  private readonly apps = new Map<string, AppRecord>();
  private readonly bundles = new Map<string, Uint8Array>();
  private readonly waiters = new Set<() => void>();
  private readonly logWaits = new Map<number, (text: string) => void>();
  private nextReq = 1;

  constructor(private readonly d: AppServiceDeps) {
    for (const row of d.db?.listApps() ?? []) {
      const manifest = JSON.parse(row.manifest) as AppManifest;
      this.apps.set(row.name, {
        name: row.name,
        developer: row.developer,
        node: row.node,
        manifest,
        ...(row.previous ? { previous: JSON.parse(row.previous) as AppManifest } : {}),
        state: row.desired === "running" ? "deploying" : "stopped",
        desired: row.desired === "running" ? "running" : "stopped",
        updatedAt: row.updatedAt,
      });
    }
  }

  /** Write the record through to the database. */
  private save(r: AppRecord): void {
    this.d.db?.putApp({
      name: r.name,
      developer: r.developer,
      node: r.node,
      manifest: JSON.stringify(r.manifest),
      previous: r.previous ? JSON.stringify(r.previous) : null,
      desired: r.desired,
      updatedAt: r.updatedAt,
    });
  }

  private keepBundle(sha256: string, bundle: Uint8Array): void {
    this.bundles.set(sha256, bundle);
    this.d.db?.putAppBundle(sha256, bundle);
  }

  list(): AppView[] {
    return [...this.apps.values()].map(view);
  }

  get(name: string): AppView | undefined {
    const r = this.apps.get(name);
    return r && view(r);
  }

  /** Nodes where app `name` runs now and takes browser messages (capability `messages`). */
  nodesFor(name: string): string[] {
    const r = this.apps.get(name);
    return r && r.state === "running" && r.manifest.capabilities.messages ? [r.node] : [];
  }

  bundle(sha256: string): Uint8Array | undefined {
    const b = this.bundles.get(sha256) ?? this.d.db?.getAppBundle(sha256);
    if (b) this.bundles.set(sha256, b);
    return b;
  }

  /**
   * Where a new app goes when the developer names no node: of the connected nodes that can
   * take apps (in the deps' preference order), the one with the fewest apps deployed on it.
   */
  private placeApp(): AppNode | undefined {
    const count = new Map<string, number>();
    for (const r of this.apps.values()) count.set(r.node, (count.get(r.node) ?? 0) + 1);
    let best: AppNode | undefined;
    for (const n of this.d.nodes()) {
      if (!best || (count.get(n.id) ?? 0) < (count.get(best.id) ?? 0)) best = n;
    }
    return best;
  }

  /** Verify and send to a node; state "deploying" until the node reports. */
  deploy(developer: string, manifest: unknown, bundle: Uint8Array, nodeId?: string): AppView {
    const m = this.check(developer, manifest, bundle);
    const existing = this.apps.get(m.name);
    if (existing) throw new AppOpFailed("conflict", `app ${m.name} exists: update or delete it`);
    const node = nodeId ? this.d.node(nodeId) : this.placeApp();
    if (!node)
      throw new AppOpFailed(
        "no_node",
        nodeId ? `node ${nodeId} is not connected` : "no node connected",
      );
    const r: AppRecord = {
      name: m.name,
      developer,
      node: node.id,
      manifest: m,
      state: "deploying",
      desired: "running",
      updatedAt: this.d.now(),
    };
    this.apps.set(m.name, r);
    this.keepBundle(m.bundle.sha256, bundle);
    this.save(r);
    this.sendRun(r, m);
    return view(r);
  }

  /** A new version; if it fails to start the previous one is run again (rolledBack). */
  update(developer: string, name: string, manifest: unknown, bundle: Uint8Array): AppView {
    const r = this.own(developer, name);
    const m = this.check(developer, manifest, bundle);
    if (m.name !== name) throw new AppOpFailed("invalid", `manifest names ${m.name}, not ${name}`);
    if (m.version === r.manifest.version) {
      throw new AppOpFailed("conflict", `version ${m.version} is the current one`);
    }
    this.keepBundle(m.bundle.sha256, bundle);
    r.previous = r.manifest;
    r.manifest = m;
    r.updating = m.version;
    r.rolledBack = undefined;
    r.desired = "running";
    r.state = "deploying";
    r.reason = undefined;
    r.updatedAt = this.d.now();
    this.save(r);
    this.sendRun(r, m);
    return view(r);
  }

  start(developer: string, name: string): AppView {
    const r = this.own(developer, name);
    r.desired = "running";
    this.save(r);
    if (r.state !== "running") {
      r.state = "deploying";
      this.sendRun(r, r.manifest);
    }
    return view(r);
  }

  stop(developer: string, name: string): AppView {
    const r = this.own(developer, name);
    r.desired = "stopped";
    this.save(r);
    this.nodeOf(r)?.send({ t: "app.stop", name });
    return view(r);
  }

  remove(developer: string, name: string): void {
    const r = this.own(developer, name);
    this.nodeOf(r)?.send({ t: "app.remove", name });
    this.apps.delete(name);
    this.d.db?.deleteApp(name);
    this.gcBundles();
  }

  async logs(developer: string, name: string): Promise<string> {
    const r = this.own(developer, name);
    const node = this.nodeOf(r);
    if (!node) throw new AppOpFailed("no_node", `node ${r.node} is not connected`);
    const req = this.nextReq++;
    return new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => {
        this.logWaits.delete(req);
        reject(new AppOpFailed("timeout", "the node did not answer"));
      }, LOGS_TIMEOUT_MS);
      this.logWaits.set(req, (text) => {
        clearTimeout(t);
        resolve(text);
      });
      node.send({ t: "app.logs", name, req });
    });
  }

  /** Resolves once `pred` holds for the app (checked on every state report), or rejects. */
  waitFor(
    name: string,
    pred: (v: AppView | undefined) => boolean,
    timeoutMs: number,
  ): Promise<AppView | undefined> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const v = this.get(name);
        if (!pred(v)) return false;
        this.waiters.delete(check);
        clearTimeout(t);
        resolve(v);
        return true;
      };
      const t = setTimeout(() => {
        this.waiters.delete(check);
        reject(new AppOpFailed("timeout", `app ${name}: state not reached in ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) this.waiters.add(check);
    });
  }

  /** A node's app.state / app.logs / app.stats. */
  onNodeMessage(nodeId: string, msg: AppNodeToCoordinator): void {
    if (msg.t === "app.logs") {
      this.logWaits.get(msg.req)?.(msg.text);
      this.logWaits.delete(msg.req);
      return;
    }
    const r = this.apps.get(msg.name);
    if (!r || r.node !== nodeId) return;
    // Reports of another version than the current one are stale (e.g. the old one stopping).
    if (msg.version !== r.manifest.version) return;
    if (msg.t === "app.stats") {
      r.upload = { bytes: msg.uploadBytes, refused: msg.uploadRefused };
      return;
    }
    r.state = msg.state;
    r.reason = msg.reason;
    r.updatedAt = this.d.now();
    if (msg.state === "stopped" && msg.reason === "owner_stopped" && r.desired !== "stopped") {
      // The router owner's stop sticks: not re-run when the node signs in again.
      r.desired = "stopped";
      this.save(r);
    }
    if (msg.state === "running" && r.updating === msg.version) r.updating = undefined;
    if (msg.state === "failed" && r.updating === msg.version && r.previous) {
      // Update with rollback: the new version failed to start: run the previous one again.
      r.rolledBack = { from: msg.version, reason: msg.reason ?? "failed" };
      r.manifest = r.previous;
      r.previous = undefined;
      r.updating = undefined;
      r.state = "deploying";
      this.save(r);
      this.sendRun(r, r.manifest);
    } else if (msg.state === "running" && r.previous) {
      this.save(r);
    }
    for (const w of [...this.waiters]) w();
  }

  /** A node left: its apps are failed until it returns (then they are run again). */
  onNodeLeft(nodeId: string): void {
    for (const r of this.apps.values()) {
      if (r.node === nodeId && r.state !== "stopped") {
        r.state = "failed";
        r.reason = "node_offline";
      }
    }
    for (const w of [...this.waiters]) w();
  }

  /** A node (re)joined: run what should run there. */
  onNodeJoined(nodeId: string): void {
    for (const r of this.apps.values()) {
      if (r.node === nodeId && r.desired === "running" && r.state !== "running") {
        this.sendRun(r, r.manifest);
      }
    }
  }

  private check(developer: string, manifest: unknown, bundle: Uint8Array): AppManifest {
    try {
      verifyApp(manifest as AppManifest, bundle);
    } catch (e) {
      if (e instanceof AppError) throw new AppOpFailed(e.code, e.detail);
      throw e;
    }
    const m = manifest as AppManifest;
    if (m.developer !== developer) {
      throw new AppOpFailed(
        "forbidden",
        `manifest is signed by ${m.developer}, request by ${developer}`,
      );
    }
    return m;
  }

  private own(developer: string, name: string): AppRecord {
    const r = this.apps.get(name);
    if (!r) throw new AppOpFailed("not_found", `no app ${name}`);
    if (r.developer !== developer) throw new AppOpFailed("forbidden", `app ${name} is not yours`);
    return r;
  }

  private nodeOf(r: AppRecord): AppNode | undefined {
    return this.d.node(r.node);
  }

  private sendRun(r: AppRecord, m: AppManifest): void {
    const node = this.nodeOf(r);
    if (!node) {
      r.state = "failed";
      r.reason = "node_offline";
      return;
    }
    node.send({
      t: "app.run",
      manifest: m,
      bundleUrl: `/api/apps/bundles/${m.bundle.sha256}`, // the node's coordinator HTTP base
    });
  }

  private gcBundles(): void {
    const used = new Set<string>();
    for (const r of this.apps.values()) {
      used.add(r.manifest.bundle.sha256);
      if (r.previous) used.add(r.previous.bundle.sha256);
    }
    for (const k of this.bundles.keys()) {
      if (!used.has(k)) {
        this.bundles.delete(k);
        this.d.db?.deleteAppBundle(k);
      }
    }
  }
}

function view(r: AppRecord): AppView {
  return {
    name: r.name,
    version: r.manifest.version,
    developer: r.developer,
    node: r.node,
    state: r.state,
    ...(r.reason ? { reason: r.reason } : {}),
    desired: r.desired,
    ...(r.previous ? { previousVersion: r.previous.version } : {}),
    ...(r.rolledBack ? { rolledBack: r.rolledBack } : {}),
    updatedAt: r.updatedAt,
    ...(r.upload ? { upload: r.upload } : {}),
  };
}

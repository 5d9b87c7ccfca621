// Coordinator persistence on SQLite (better-sqlite3, synchronous, WAL). Schema changes are
// numbered migrations recorded in `schema_migrations`; a restart replays nothing it already
// applied. Holds what must survive a restart: publishers, manifests, node identities and
// credibility, and the bytes-served time series. Live state (connections, inventories, RTTs)
// is rebuilt from reconnecting nodes and browsers.
import Database from "better-sqlite3";

const MIGRATIONS: string[] = [
  // 1: initial schema
  `CREATE TABLE publishers (
     did TEXT PRIMARY KEY,
     name TEXT NOT NULL DEFAULT '',
     created_at INTEGER NOT NULL
   );
   CREATE TABLE manifests (
     content_id TEXT PRIMARY KEY,
     publisher_did TEXT NOT NULL REFERENCES publishers(did),
     body TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE nodes (
     did TEXT PRIMARY KEY,
     first_seen INTEGER NOT NULL,
     last_seen INTEGER NOT NULL,
     credibility REAL NOT NULL,
     bytes_served INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE bytes_served (
     node_did TEXT NOT NULL,
     bucket INTEGER NOT NULL,
     bytes INTEGER NOT NULL,
     PRIMARY KEY (node_did, bucket)
   );
   CREATE TABLE offload (
     bucket INTEGER PRIMARY KEY,
     p2p_bytes INTEGER NOT NULL,
     http_bytes INTEGER NOT NULL
   );`,
  // 2: jobs (src/coordinator/jobs/ledger.ts): node job history and the work-unit ledger
  `CREATE TABLE job_nodes (
     did TEXT PRIMARY KEY,
     spot_passed INTEGER NOT NULL DEFAULT 0,
     spot_failed INTEGER NOT NULL DEFAULT 0,
     blacklisted_until INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE job_credits (
     node_did TEXT NOT NULL,
     job_id TEXT NOT NULL,
     units REAL NOT NULL,
     tasks INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (node_did, job_id)
   );`,
  // 3: apps (src/coordinator/apps/service.ts): deployments and their bundles by SHA-256
  `CREATE TABLE apps (
     name TEXT PRIMARY KEY,
     developer TEXT NOT NULL,
     node TEXT NOT NULL,
     manifest TEXT NOT NULL,
     previous TEXT,
     desired TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE app_bundles (sha256 TEXT PRIMARY KEY, bundle BLOB NOT NULL);`,
];

/** The schema version a fresh database ends at (the number of migrations). */
export const SCHEMA_VERSION = MIGRATIONS.length;

export interface PublisherRow {
  did: string;
  name: string;
  createdAt: number;
}
export interface ManifestRow {
  contentId: string;
  publisherDid: string;
  body: string;
  createdAt: number;
}
export interface NodeRow {
  did: string;
  firstSeen: number;
  lastSeen: number;
  credibility: number;
  bytesServed: number;
}
export interface JobNodeRow {
  did: string;
  passed: number;
  failed: number;
  blacklistedUntil: number;
}
/** apps: one deployment (manifests as canonical JSON text). */
export interface AppRow {
  name: string;
  developer: string;
  node: string;
  manifest: string;
  previous: string | null;
  desired: string;
  updatedAt: number;
}
export interface BytesPoint {
  bucket: number;
  bytes: number;
}

/** A typed wrapper over the coordinator's SQLite file. */
export class CoordinatorDb {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    if (path !== ":memory:") this.db.pragma("journal_mode = WAL");
    this.db.pragma("foreign_keys = ON");
    this.migrate();
  }

  /** Applies migrations not yet recorded; returns the schema version. */
  private migrate(): number {
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    );
    const row = this.db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as {
      v: number | null;
    };
    let version = row.v ?? 0;
    for (; version < MIGRATIONS.length; version++) {
      const sql = MIGRATIONS[version] as string;
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db
          .prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)")
          .run(version + 1, Date.now());
      })();
    }
    return version;
  }

  schemaVersion(): number {
    const row = this.db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as {
      v: number | null;
    };
    return row.v ?? 0;
  }

  // ---- publishers ----
  addPublisher(did: string, name = "", now = Date.now()): void {
    this.db
      .prepare(
        "INSERT INTO publishers (did, name, created_at) VALUES (?, ?, ?) ON CONFLICT(did) DO NOTHING",
      )
      .run(did, name, now);
  }
  getPublisher(did: string): PublisherRow | undefined {
    return this.db
      .prepare("SELECT did, name, created_at AS createdAt FROM publishers WHERE did = ?")
      .get(did) as PublisherRow | undefined;
  }
  listPublishers(): PublisherRow[] {
    return this.db
      .prepare("SELECT did, name, created_at AS createdAt FROM publishers ORDER BY created_at")
      .all() as PublisherRow[];
  }

  // ---- manifests ----
  putManifest(row: ManifestRow): void {
    this.db
      .prepare(
        `INSERT INTO manifests (content_id, publisher_did, body, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(content_id) DO UPDATE SET body = excluded.body, created_at = excluded.created_at
         WHERE manifests.publisher_did = excluded.publisher_did`,
      )
      .run(row.contentId, row.publisherDid, row.body, row.createdAt);
  }
  getManifest(contentId: string): ManifestRow | undefined {
    return this.db
      .prepare(
        "SELECT content_id AS contentId, publisher_did AS publisherDid, body, created_at AS createdAt FROM manifests WHERE content_id = ?",
      )
      .get(contentId) as ManifestRow | undefined;
  }
  listManifests(): ManifestRow[] {
    return this.db
      .prepare(
        "SELECT content_id AS contentId, publisher_did AS publisherDid, body, created_at AS createdAt FROM manifests ORDER BY created_at",
      )
      .all() as ManifestRow[];
  }
  deleteManifest(contentId: string, publisherDid: string): boolean {
    return (
      this.db
        .prepare("DELETE FROM manifests WHERE content_id = ? AND publisher_did = ?")
        .run(contentId, publisherDid).changes > 0
    );
  }

  // ---- nodes ----
  /** Records a node sighting; returns its stored row (created with `initialCredibility`). */
  touchNode(did: string, now: number, initialCredibility: number): NodeRow {
    this.db
      .prepare(
        `INSERT INTO nodes (did, first_seen, last_seen, credibility) VALUES (?, ?, ?, ?)
         ON CONFLICT(did) DO UPDATE SET last_seen = excluded.last_seen`,
      )
      .run(did, now, now, initialCredibility);
    return this.getNode(did) as NodeRow;
  }
  getNode(did: string): NodeRow | undefined {
    return this.db
      .prepare(
        "SELECT did, first_seen AS firstSeen, last_seen AS lastSeen, credibility, bytes_served AS bytesServed FROM nodes WHERE did = ?",
      )
      .get(did) as NodeRow | undefined;
  }
  listNodes(): NodeRow[] {
    return this.db
      .prepare(
        "SELECT did, first_seen AS firstSeen, last_seen AS lastSeen, credibility, bytes_served AS bytesServed FROM nodes ORDER BY first_seen",
      )
      .all() as NodeRow[];
  }
  setCredibility(did: string, credibility: number): void {
    this.db.prepare("UPDATE nodes SET credibility = ? WHERE did = ?").run(credibility, did);
  }

  // ---- apps (issue 7): src/coordinator/apps/service.ts ----
  putApp(r: AppRow): void {
    this.db
      .prepare(
        `INSERT INTO apps (name, developer, node, manifest, previous, desired, updated_at)
         VALUES (@name, @developer, @node, @manifest, @previous, @desired, @updatedAt)
         ON CONFLICT(name) DO UPDATE SET developer = excluded.developer, node = excluded.node,
           manifest = excluded.manifest, previous = excluded.previous,
           desired = excluded.desired, updated_at = excluded.updated_at`,
      )
      .run(r);
  }
  deleteApp(name: string): void {
    this.db.prepare("DELETE FROM apps WHERE name = ?").run(name);
  }
  listApps(): AppRow[] {
    return this.db
      .prepare(
        "SELECT name, developer, node, manifest, previous, desired, updated_at AS updatedAt FROM apps ORDER BY name",
      )
      .all() as AppRow[];
  }
  putAppBundle(sha256: string, bundle: Uint8Array): void {
    this.db
      .prepare("INSERT OR IGNORE INTO app_bundles (sha256, bundle) VALUES (?, ?)")
      .run(sha256, Buffer.from(bundle));
  }
  getAppBundle(sha256: string): Uint8Array | undefined {
    const row = this.db.prepare("SELECT bundle FROM app_bundles WHERE sha256 = ?").get(sha256) as
      { bundle: Buffer } | undefined;
    return row && new Uint8Array(row.bundle);
  }
  deleteAppBundle(sha256: string): void {
    this.db.prepare("DELETE FROM app_bundles WHERE sha256 = ?").run(sha256);
  }

  /** Runs `fn` in one transaction (many small writes cost one fsync). */
  batch(fn: () => void): void {
    this.db.transaction(fn)();
  }

  /** Adds `bytes` to a node's total and to its time-series bucket. */
  addBytesServed(did: string, bucket: number, bytes: number, now: number): void {
    if (bytes <= 0) return;
    this.db.transaction(() => {
      this.db
        .prepare("UPDATE nodes SET bytes_served = bytes_served + ?, last_seen = ? WHERE did = ?")
        .run(bytes, now, did);
      this.db
        .prepare(
          `INSERT INTO bytes_served (node_did, bucket, bytes) VALUES (?, ?, ?)
           ON CONFLICT(node_did, bucket) DO UPDATE SET bytes = bytes + excluded.bytes`,
        )
        .run(did, bucket, bytes);
    })();
  }
  bytesSeries(did: string, fromBucket: number): BytesPoint[] {
    return this.db
      .prepare(
        "SELECT bucket, bytes FROM bytes_served WHERE node_did = ? AND bucket >= ? ORDER BY bucket",
      )
      .all(did, fromBucket) as BytesPoint[];
  }

  // ---- offload (bytes browsers got from the fog vs from HTTP) ----
  addOffload(bucket: number, p2pBytes: number, httpBytes: number): void {
    this.db
      .prepare(
        `INSERT INTO offload (bucket, p2p_bytes, http_bytes) VALUES (?, ?, ?)
         ON CONFLICT(bucket) DO UPDATE SET p2p_bytes = p2p_bytes + excluded.p2p_bytes,
           http_bytes = http_bytes + excluded.http_bytes`,
      )
      .run(bucket, p2pBytes, httpBytes);
  }
  offloadTotals(fromBucket = 0): { p2pBytes: number; httpBytes: number } {
    const row = this.db
      .prepare(
        "SELECT COALESCE(SUM(p2p_bytes), 0) AS p2pBytes, COALESCE(SUM(http_bytes), 0) AS httpBytes FROM offload WHERE bucket >= ?",
      )
      .get(fromBucket) as { p2pBytes: number; httpBytes: number };
    return row;
  }

  // ---- jobs: node history and the work-unit ledger (src/coordinator/jobs/ledger.ts) ----
  getJobNode(did: string): JobNodeRow | undefined {
    return this.db
      .prepare(
        "SELECT did, spot_passed AS passed, spot_failed AS failed, blacklisted_until AS blacklistedUntil FROM job_nodes WHERE did = ?",
      )
      .get(did) as JobNodeRow | undefined;
  }
  putJobNode(r: JobNodeRow): void {
    this.db
      .prepare(
        `INSERT INTO job_nodes (did, spot_passed, spot_failed, blacklisted_until) VALUES (?, ?, ?, ?)
         ON CONFLICT(did) DO UPDATE SET spot_passed = excluded.spot_passed,
           spot_failed = excluded.spot_failed, blacklisted_until = excluded.blacklisted_until`,
      )
      .run(r.did, r.passed, r.failed, r.blacklistedUntil);
  }
  addJobCredit(did: string, jobId: string, units: number, tasks: number, now: number): void {
    this.db
      .prepare(
        `INSERT INTO job_credits (node_did, job_id, units, tasks, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(node_did, job_id) DO UPDATE SET units = units + excluded.units,
           tasks = tasks + excluded.tasks, updated_at = excluded.updated_at`,
      )
      .run(did, jobId, units, tasks, now);
  }
  /** Work units and accepted tasks per node (all jobs), or for one node. */
  jobCreditTotals(did?: string): { did: string; units: number; tasks: number }[] {
    const where = did === undefined ? "" : "WHERE node_did = ?";
    return this.db
      .prepare(
        `SELECT node_did AS did, SUM(units) AS units, SUM(tasks) AS tasks FROM job_credits ${where}
         GROUP BY node_did ORDER BY units DESC`,
      )
      .all(...(did === undefined ? [] : [did])) as { did: string; units: number; tasks: number }[];
  }

  close(): void {
    this.db.close();
  }
}

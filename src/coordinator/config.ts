// Coordinator options: ONE defaults object, every option with its default and unit.
// `startCoordinator(opts)` and the CLI take a Partial of this; nested objects merge per key.
import { JOBS_DEFAULTS, type JobsConfig } from "./jobs/config";

export interface CoordinatorConfig {
  /** TCP port to listen on; 0 = any free port. Default 8080. */
  port: number;
  /** Address to bind. Default "127.0.0.1" (put a TLS proxy in front for public use). */
  host: string;
  /** SQLite database file path; ":memory:" for a throwaway database. Default "pear-fog-coordinator.db". */
  dbPath: string;
  /** Identifies this deployment inside node challenge signatures. Default "pear-fog-coordinator". */
  coordinatorId: string;
  /** Publisher did:keys registered at start-up (in addition to those in the database). Default []. */
  publishers: string[];
  /** Bearer token for the admin REST endpoints (POST /api/publishers); "" disables them. Default "". */
  adminToken: string;

  /** Interval nodes are asked to heartbeat at, milliseconds. Default 1000. */
  heartbeatMs: number;
  /** A node with no heartbeat for this long is dropped, milliseconds. Default 5000. */
  nodeDeadAfterMs: number;
  /** How often the dead-node sweep runs, milliseconds. Default 500. */
  sweepIntervalMs: number;
  /** A node must answer the challenge within this long, milliseconds. Default 5000. */
  authTimeoutMs: number;

  /** Landmarks every node and browser measures RTT to: id + URL. Default []. */
  landmarks: { id: string; url: string }[];
  /** Leader-clustering radius: members are within this many ms of their leader. Default 25. */
  clusterRadiusMs: number;
  /** RTT assumed when nothing is known about a pair, milliseconds. Default 150. */
  unknownRttMs: number;
  /** Probe targets (landmarks + peers) sent to each node and browser. Default 16 (count). */
  probeTargets: number;
  /** How often nodes are sent a fresh probe list, milliseconds. Default 60000. */
  probeIntervalMs: number;

  /** Ranking weights (sum to 1); see proximity.ts rankNodes for the formula. */
  rank: {
    /** Weight of proximity, 1/(1 + rtt/rttScaleMs). Default 0.4. */
    proximity: number;
    /** Weight of free uplink, min(1, free/uplinkRefBps). Default 0.25. */
    uplink: number;
    /** Weight of idleness, 1 - load. Default 0.15. */
    load: number;
    /** Weight of credibility (0..1). Default 0.2. */
    credibility: number;
    /** RTT at which proximity is 0.5, milliseconds. Default 50. */
    rttScaleMs: number;
    /** Free uplink counted as "plenty", bytes/s. Default 2_500_000 (20 Mbit/s). */
    uplinkRefBps: number;
    /** Nodes below this credibility are never returned. Default 0.2. */
    minCredibility: number;
  };

  /** Credibility bookkeeping. */
  credibility: {
    /** Credibility of a node seen for the first time, 0..1. Default 0.8. */
    initial: number;
    /** Factor applied on a hash-mismatch report. Default 0.7. */
    hashMismatchFactor: number;
    /** Factor applied on a timeout/refused report. Default 0.97. */
    timeoutFactor: number;
    /** Fraction of the gap to 1 recovered per healthy heartbeat. Default 0.0005. */
    recoveryPerHeartbeat: number;
  };

  /** Content placement. */
  placement: {
    /** Replicas of each popular chunk wanted per demand cluster. Default 2 (count). */
    replication: number;
    /** Half-life of popularity (decayed find counts), milliseconds. Default 600000 (10 min). */
    popularityHalfLifeMs: number;
    /** Content below this decayed popularity is not placed. Default 0.5 (finds; one fresh find counts 1). */
    minPopularity: number;
    /** How often placement runs, milliseconds. Default 5000. */
    intervalMs: number;
    /**
     * A find that no node can answer runs a placement round at once (cold content is filled
     * without waiting for the next interval), at most once per this many milliseconds.
     * 0 = off. Default 1000.
     */
    eagerGapMs: number;
    /** Most chunks assigned to one node per placement round. Default 256 (chunks). */
    maxChunksPerNodeRound: number;
    /** An unconfirmed hold is re-planned after this long, milliseconds. Default 120000. */
    holdTimeoutMs: number;
    /**
     * A chunk no node holds yet goes to one node first; the other replicas fill from it once it
     * reports the chunk (the origin serves each chunk to the fog once). Default true.
     */
    seedFirst: boolean;
    /**
     * Content nobody has asked for yet is placed too (one replica, the start of every item
     * first) on nodes whose store is used below this fraction of its cap; demand placement
     * keeps the rest. 0..1, 0 = off (fill on demand only). Default 0.25.
     */
    prepositionShare: number;
    /**
     * Nodes whose RTT to the demand cluster falls in the same band of this width are equally
     * near: the replicas of each chunk spread among them by rendezvous hashing (chunk, node)
     * instead of all going to the same few nodes. Milliseconds, > 0. Default 10.
     */
    rttBandMs: number;
  };

  /** Per-connection rate limits (token buckets). */
  rateLimit: {
    /** Burst of messages of any kind, messages. Default 60. */
    messagesBurst: number;
    /** Sustained message rate, messages/s. Default 30. */
    messagesPerSec: number;
    /** Burst of signalling messages (offer/answer/candidate), messages. Default 40. */
    signalBurst: number;
    /** Sustained signalling rate, messages/s. Default 10. */
    signalPerSec: number;
    /** Rate-limited messages tolerated before the connection is closed (code 4008). Default 100. */
    maxViolations: number;
  };

  /** Signalling sessions. */
  signalling: {
    /** Relay session lifetime without traffic, milliseconds. Default 60000. */
    sessionTtlMs: number;
    /** Open relay sessions per browser connection, count. Default 32. */
    maxSessionsPerBrowser: number;
  };

  /** REST API. */
  api: {
    /** Largest request body (a manifest), bytes. Default 8 MiB (MANIFEST_LIMITS.maxManifestBytes). */
    maxBodyBytes: number;
    /** Accepted clock skew of signed requests, milliseconds. Default 300000 (5 min). */
    maxSkewMs: number;
  };

  /** jobs: edge-compute jobs (issue 7); every option and default in src/coordinator/jobs/config.ts. */
  jobs: JobsConfig;

  /** Reachability: the STUN responder and the ICE servers handed to browsers and nodes. */
  ice: {
    /** UDP port of the built-in STUN Binding responder (stun.ts); 0 = any free port, -1 = off. Default -1. */
    stunPort: number;
    /** Address the STUN responder binds. Default "0.0.0.0". */
    stunHost: string;
    /** STUN URLs handed out ("stun:host:3478"; usually this coordinator's public name). Default []. */
    stun: string[];
    /** TURN URLs handed out ("turn:host:3478?transport=udp"). Default [] (no relay). */
    turn: string[];
    /** coturn `static-auth-secret` (use-auth-secret) the TURN credentials are minted with. Default "". */
    turnSecret: string;
    /** Lifetime of minted TURN credentials, seconds. Default 86400 (a day). */
    turnTtlS: number;
  };

  /** Bytes-served time series bucket width, milliseconds. Default 60000. */
  statsBucketMs: number;
  /** Buckets shown on the status page, count. Default 60. */
  statsBuckets: number;
  /** Connected browsers at most, count. Default 10000. */
  maxBrowsers: number;
  /** Connected nodes at most (authenticated or not), count. Default 10000. */
  maxNodes: number;
}

export const COORDINATOR_DEFAULTS: CoordinatorConfig = {
  port: 8080,
  host: "127.0.0.1",
  dbPath: "pear-fog-coordinator.db",
  coordinatorId: "pear-fog-coordinator",
  publishers: [],
  adminToken: "",
  heartbeatMs: 1000,
  nodeDeadAfterMs: 5000,
  sweepIntervalMs: 500,
  authTimeoutMs: 5000,
  landmarks: [],
  clusterRadiusMs: 25,
  unknownRttMs: 150,
  probeTargets: 16,
  probeIntervalMs: 60_000,
  rank: {
    proximity: 0.4,
    uplink: 0.25,
    load: 0.15,
    credibility: 0.2,
    rttScaleMs: 50,
    uplinkRefBps: 2_500_000,
    minCredibility: 0.2,
  },
  credibility: {
    initial: 0.8,
    hashMismatchFactor: 0.7,
    timeoutFactor: 0.97,
    recoveryPerHeartbeat: 0.0005,
  },
  placement: {
    replication: 2,
    popularityHalfLifeMs: 600_000,
    minPopularity: 0.5,
    intervalMs: 5000,
    eagerGapMs: 1000,
    maxChunksPerNodeRound: 256,
    holdTimeoutMs: 120_000,
    rttBandMs: 10,
    seedFirst: true,
    prepositionShare: 0.25,
  },
  rateLimit: {
    messagesBurst: 60,
    messagesPerSec: 30,
    signalBurst: 40,
    signalPerSec: 10,
    maxViolations: 100,
  },
  signalling: {
    sessionTtlMs: 60_000,
    maxSessionsPerBrowser: 32,
  },
  api: {
    maxBodyBytes: 8 * 1024 * 1024,
    maxSkewMs: 300_000,
  },
  jobs: JOBS_DEFAULTS,
  ice: {
    stunPort: -1,
    stunHost: "0.0.0.0",
    stun: [],
    turn: [],
    turnSecret: "",
    turnTtlS: 86_400,
  },
  statsBucketMs: 60_000,
  statsBuckets: 60,
  maxBrowsers: 10_000,
  maxNodes: 10_000,
};

export type CoordinatorOptions = Partial<
  Omit<
    CoordinatorConfig,
    "rank" | "credibility" | "placement" | "rateLimit" | "signalling" | "api" | "jobs" | "ice"
  >
> & {
  rank?: Partial<CoordinatorConfig["rank"]>;
  credibility?: Partial<CoordinatorConfig["credibility"]>;
  placement?: Partial<CoordinatorConfig["placement"]>;
  rateLimit?: Partial<CoordinatorConfig["rateLimit"]>;
  signalling?: Partial<CoordinatorConfig["signalling"]>;
  api?: Partial<CoordinatorConfig["api"]>;
  jobs?: Partial<JobsConfig>;
  ice?: Partial<CoordinatorConfig["ice"]>;
};

/** Defaults overlaid with `opts` (nested groups merge key by key). */
export function resolveConfig(opts: CoordinatorOptions = {}): CoordinatorConfig {
  const d = COORDINATOR_DEFAULTS;
  const band = opts.placement?.rttBandMs;
  if (band !== undefined && !(band > 0)) {
    throw new RangeError(`coordinator config: placement.rttBandMs must be > 0, got ${band}`);
  }
  return {
    ...d,
    ...opts,
    rank: { ...d.rank, ...opts.rank },
    credibility: { ...d.credibility, ...opts.credibility },
    placement: { ...d.placement, ...opts.placement },
    rateLimit: { ...d.rateLimit, ...opts.rateLimit },
    signalling: { ...d.signalling, ...opts.signalling },
    api: { ...d.api, ...opts.api },
    jobs: { ...d.jobs, ...opts.jobs },
    ice: { ...d.ice, ...opts.ice },
  };
}

// SDK options: ONE defaults object, every option with its default and unit. `PearFog.create`
// and `PearFog.attachHls` take a Partial of this merged over SDK_DEFAULTS (see docs/sdk.md).

import type { FogPeers } from "./peers";

/** Constructor of RTCPeerConnection; browsers use the global, Node tests pass @roamhq/wrtc's. */
export type PeerConnectionCtor = new (config?: RTCConfiguration) => RTCPeerConnection;

export interface SdkOptions {
  /** Coordinator WebSocket URL, e.g. "wss://coord.example/ws/browser". Required unless `peers` is given. */
  coordinator: string;
  /**
   * The page's shared coordinator link + node connections (`PearFog.peers({ coordinator })`),
   * so that videos played one after another reuse open data channels. With `peers`, the
   * coordinator and connection options (coordinator…, reconnect…, connectTimeoutMs,
   * chunkTimeoutMs, idleCloseMs, badNodeMs, iceServers, peerConnection, webSocket) are the
   * peers' own. Default: none — the client opens its own and closes them with itself.
   */
  peers?: FogPeers;
  /** URL of the signed content manifest (canonical JSON bytes). Required. */
  manifestUrl: string;
  /** did:key the manifest must be signed by; "" accepts any valid signature. Default "". */
  publisher: string;

  /** Fog nodes a segment's chunks are spread over (top-ranked k), count. Default 3. */
  maxNodes: number;
  /** Chunk requests in flight per node, count. Default 4. */
  maxInflightPerNode: number;
  /** A chunk in flight on a node longer than stealFactor × (the segment's fastest time per chunk so far × its place in that node's batch) is also asked of a holder that has nothing left to send for the segment; the first verified copy wins and the other request is cancelled (the node's upload for a copy that loses is spent: ~1 % extra at 3 and ~3 % at 2 in the swarm bench). 0 = never. Ratio. Default 3. */
  stealFactor: number;
  /** Nodes asked for in one browser.find, count (capped at 32 by the protocol). Default 8. */
  findMax: number;
  /** A browser.find answer with nodes is reused for the same chunk list this long (an empty one is not), milliseconds. Default 10000. */
  findCacheMs: number;
  /** Playlist starts (the first segment of each rendition) whose holders are asked for as soon as the manifest is parsed (while its signature is checked), so a first segment does not wait for the coordinator; 0 = none. Count. Default 4. */
  startFinds: number;
  /** Connect to the nodes a browser.find names (the best `maxNodes` usable ones) as soon as its answer arrives — for the next segment's find, while this one plays — so a segment does not wait for ICE + DTLS + SCTP; false = connect when a chunk is first asked of the node. Default true. */
  preconnect: boolean;
  /** A browser.find (or any coordinator round trip) unanswered this long counts as "no nodes", milliseconds. Default 2000. */
  coordinatorTimeoutMs: number;
  /** First background reconnect to the coordinator after its socket drops, milliseconds (doubles per failure, ±25 % jitter). Default 1000. */
  reconnectMinMs: number;
  /** Longest wait between background reconnects, milliseconds. Default 30000. */
  reconnectMaxMs: number;

  /** Shortest fog deadline for a segment, milliseconds. Default 1500. */
  minDeadlineMs: number;
  /** Longest fog deadline for a segment, milliseconds. Default 8000. */
  maxDeadlineMs: number;
  /** Deadline = clamp(bufferAhead * deadlineFraction, min, max), bufferAhead in wall seconds (media s / playbackRate); 0..1. Default 0.5. */
  deadlineFraction: number;
  /** Deadline for pearFog.fetch(url) of a large file (no buffer to protect), milliseconds. Default 30000. */
  fetchDeadlineMs: number;

  /** Opening a peer connection + data channel may take this long, milliseconds. Default 5000. */
  connectTimeoutMs: number;
  /** One chunk request with no data for this long fails (ChunkClient), milliseconds. Default 4000. */
  chunkTimeoutMs: number;
  /** A peer connection with no request for this long is closed, milliseconds. Default 30000. */
  idleCloseMs: number;
  /** A node that failed to connect or errored is skipped this long, milliseconds. Default 30000. */
  badNodeMs: number;
  /** ICE servers for the peer connections, used before the coordinator's (browser.welcome). Default []. */
  iceServers: RTCIceServer[];

  /** HTTP fetches (fallback, manifest) are aborted after this long, milliseconds. Default 20000. */
  httpTimeoutMs: number;
  /** How often the "stats" event fires and browser.stats is sent, milliseconds; 0 = never. Default 5000. */
  statsIntervalMs: number;
  /** Window over which per-node throughput is computed, milliseconds. Default 10000. */
  throughputWindowMs: number;

  /** RTCPeerConnection constructor. Default globalThis.RTCPeerConnection. */
  peerConnection?: PeerConnectionCtor;
  /** WebSocket constructor. Default globalThis.WebSocket. */
  webSocket?: typeof WebSocket;
  /** fetch implementation for HTTP. Default globalThis.fetch. */
  fetch?: typeof fetch;
}

export type SdkConfig = Required<
  Omit<SdkOptions, "peerConnection" | "webSocket" | "fetch" | "peers">
> &
  Pick<SdkOptions, "peerConnection" | "webSocket" | "fetch" | "peers">;

/** What a client is created with: a manifest, and a coordinator URL or shared peers. */
export type ClientOptions = Partial<SdkOptions> &
  Pick<SdkOptions, "manifestUrl"> &
  ({ coordinator: string } | { peers: FogPeers });

/** The options FogPeers uses (the coordinator link's and the node pool's). */
const PEERS_KEYS = [
  "coordinator",
  "coordinatorTimeoutMs",
  "reconnectMinMs",
  "reconnectMaxMs",
  "connectTimeoutMs",
  "chunkTimeoutMs",
  "idleCloseMs",
  "badNodeMs",
  "iceServers",
  "peerConnection",
  "webSocket",
] as const;
export type PeersOptions = Partial<Pick<SdkOptions, (typeof PEERS_KEYS)[number]>> &
  Pick<SdkOptions, "coordinator">;
export type PeersConfig = Pick<SdkConfig, (typeof PEERS_KEYS)[number]>;

export const SDK_DEFAULTS: Omit<SdkConfig, "coordinator" | "manifestUrl"> = {
  publisher: "",
  maxNodes: 3,
  maxInflightPerNode: 4,
  stealFactor: 3,
  findMax: 8,
  findCacheMs: 10_000,
  startFinds: 4,
  preconnect: true,
  coordinatorTimeoutMs: 2_000,
  reconnectMinMs: 1_000,
  reconnectMaxMs: 30_000,
  minDeadlineMs: 1_500,
  maxDeadlineMs: 8_000,
  deadlineFraction: 0.5,
  fetchDeadlineMs: 30_000,
  connectTimeoutMs: 5_000,
  chunkTimeoutMs: 4_000,
  idleCloseMs: 30_000,
  badNodeMs: 30_000,
  iceServers: [],
  httpTimeoutMs: 20_000,
  statsIntervalMs: 5_000,
  throughputWindowMs: 10_000,
};

const bad = (name: string, why: string) => new SdkError("bad_option", `${name}: ${why}`);

function checkPeersConfig(cfg: PeersConfig): void {
  if (typeof cfg.coordinator !== "string" || !/^wss?:\/\//.test(cfg.coordinator)) {
    throw bad("coordinator", "expected ws:// or wss:// URL");
  }
  if (!(cfg.reconnectMinMs > 0 && cfg.reconnectMaxMs >= cfg.reconnectMinMs)) {
    throw bad("reconnectMinMs/reconnectMaxMs", "expected 0 < min <= max");
  }
}

/** FogPeers' options over SDK_DEFAULTS, checked; throws SdkError("bad_option"). */
export function resolvePeersConfig(opts: PeersOptions): PeersConfig {
  const cfg = { ...SDK_DEFAULTS, ...opts } as SdkConfig;
  checkPeersConfig(cfg);
  const out = {} as Record<string, unknown>;
  for (const k of PEERS_KEYS) out[k] = cfg[k];
  return out as PeersConfig;
}

/** Merge user options over SDK_DEFAULTS and check them; throws SdkError("bad_option"). */
export function resolveConfig(opts: ClientOptions): SdkConfig {
  const cfg = { ...SDK_DEFAULTS, ...opts } as SdkConfig;
  // With shared peers, their coordinator and connection options are the ones in use.
  if (cfg.peers) Object.assign(cfg, cfg.peers.config);
  checkPeersConfig(cfg);
  if (typeof cfg.manifestUrl !== "string" || cfg.manifestUrl === "") {
    throw bad("manifestUrl", "required");
  }
  for (const k of ["maxNodes", "maxInflightPerNode", "findMax"] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw bad(k, "expected integer >= 1");
  }
  if (!Number.isInteger(cfg.startFinds) || cfg.startFinds < 0) {
    throw bad("startFinds", "expected integer >= 0");
  }
  if (!(cfg.stealFactor === 0 || cfg.stealFactor >= 1) || !Number.isFinite(cfg.stealFactor)) {
    throw bad("stealFactor", "expected 0 (never) or a number >= 1");
  }
  if (typeof cfg.preconnect !== "boolean") throw bad("preconnect", "expected true or false");
  if (!(cfg.deadlineFraction > 0 && cfg.deadlineFraction <= 1)) {
    throw bad("deadlineFraction", "expected 0 < x <= 1");
  }
  if (!(cfg.minDeadlineMs > 0 && cfg.maxDeadlineMs >= cfg.minDeadlineMs)) {
    throw bad("minDeadlineMs/maxDeadlineMs", "expected 0 < min <= max");
  }
  return cfg;
}

export type SdkErrorCode =
  /** An option is missing or out of range. */
  | "bad_option"
  /** The manifest could not be fetched, parsed or verified. */
  | "manifest"
  /** The URL is not in the manifest (pearFog.fetch only accepts manifest content). */
  | "not_in_manifest"
  /** HTTP fallback failed (status, network, or bytes that do not match the manifest). */
  | "http"
  /** The client was destroyed or the request aborted. */
  | "aborted";

/** Every error the SDK hands to callers; `detail` is one line of context. */
export class SdkError extends Error {
  constructor(
    readonly code: SdkErrorCode,
    readonly detail: string,
  ) {
    super(`pear-fog: ${code}: ${detail}`);
    this.name = "SdkError";
  }
}

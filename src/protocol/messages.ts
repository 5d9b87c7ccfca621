// WebSocket messages between the coordinator, nodes (pear-fogd's agent) and browsers (SDK).
// Every message is a JSON object with a `t` type tag. Each direction has its own union; a
// receiver calls the matching decode function, which checks the frame size, parses JSON and
// validates the shape with a hand-written validator (no extra fields allowed, every string
// and array capped). Pure: no I/O, runs on Node, in browsers and in QuickJS.
//
// Wire flow (see docs/coordinator-api.md; edge-compute jobs: jobs.ts, docs/jobs.md):
//   node    -> node.hello {nodeId}          coordinator -> node.challenge {nonce}
//   node    -> node.auth {sig}              coordinator -> node.welcome {...}
//   node    -> node.heartbeat / node.probes / sig.answer / sig.candidate
//   browser -> browser.hello                coordinator -> browser.welcome {session}
//   browser -> browser.find / browser.rtt / browser.badchunk / browser.stats / sig.offer ...

import { ProtocolError, arr, bool, fail, num, obj, oneOf, str, type Check } from "./check";
// jobs: edge-compute job messages (issue 7), defined in jobs.ts
import {
  JOB_BROWSER_TO_COORDINATOR,
  JOB_COORDINATOR_TO_BROWSER,
  JOB_COORDINATOR_TO_NODE,
  JOB_NODE_TO_COORDINATOR,
  nodeFacts,
} from "./jobs";
import type {
  JobBrowserToCoordinator,
  JobCoordinatorToBrowser,
  JobCoordinatorToNode,
  JobNodeToCoordinator,
  NodeFacts,
} from "./jobs";
// apps: edge-compute app messages (issue 7), defined in app.ts
import {
  APP_BROWSER_TO_COORDINATOR,
  APP_COORDINATOR_TO_BROWSER,
  APP_COORDINATOR_TO_NODE,
  APP_NODE_TO_COORDINATOR,
} from "./app";
import type {
  AppBrowserToCoordinator,
  AppCoordinatorToBrowser,
  AppCoordinatorToNode,
  AppNodeToCoordinator,
} from "./app";

/** Largest accepted frame, bytes of UTF-8 JSON. An SDP offer (a few KiB) fits easily. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Caps on individual fields (characters or elements). */
export const LIMITS = {
  /** did:key strings (Ed25519 did:key is 56 characters). */
  did: 128,
  /** opaque ids: session ids, landmark ids, request ids as strings. */
  id: 128,
  /** content ids (manifest content id, any printable form). */
  contentId: 128,
  /** free text: versions, error details, reasons. */
  text: 512,
  /** an SDP blob, characters. */
  sdp: 32 * 1024,
  /** one ICE candidate line, characters. */
  candidate: 1024,
  /** a URL (origin, probe address). */
  url: 2048,
  /** chunk ids asked for in one find. */
  findChunks: 256,
  /** inventory delta entries (add + remove) in one heartbeat. */
  inventory: 512,
  /** RTT samples in one report. */
  rttSamples: 64,
  /** nodes returned for one find. */
  foundNodes: 32,
  /** landmarks/probe targets sent to a node. */
  probeTargets: 64,
  /** chunks in one hold instruction. */
  holdChunks: 256,
  /** sources (origins or peers) in one hold instruction. */
  holdSources: 16,
  /** an RTT in milliseconds. */
  rttMs: 60_000,
} as const;

/** Domain separation prefix for the node identity challenge signature. */
export const NODE_AUTH_DOMAIN = "pear-fog/node-auth/v1";

/** The bytes a node signs with its Ed25519 key to answer a challenge. */
export function nodeAuthPayload(nodeId: string, nonce: string, coordinatorId: string): Uint8Array {
  return new TextEncoder().encode(`${NODE_AUTH_DOMAIN}\n${coordinatorId}\n${nodeId}\n${nonce}`);
}

export type Reachability = "public" | "nat-cone" | "nat-symmetric" | "relay-only" | "unknown";
export const REACHABILITY: readonly Reachability[] = [
  "public",
  "nat-cone",
  "nat-symmetric",
  "relay-only",
  "unknown",
];

export interface RttSample {
  /** A node id (did:key) or a landmark id. */
  target: string;
  rttMs: number;
}

export interface Capacity {
  /** Configured upload cap, bytes per second. */
  uplinkCapBps: number;
  /** Upload currently in use, bytes per second. */
  uplinkUsedBps: number;
  /** Bytes held in the chunk store. */
  storeBytes: number;
  /** Store size cap, bytes. */
  storeCapBytes: number;
  /** CPU/IO load, 0 (idle) .. 1 (saturated). */
  load: number;
  reachability: Reachability;
}

// ---- node -> coordinator ----
export interface NodeHello {
  t: "node.hello";
  nodeId: string;
  version: string;
  /** Where browsers and peers can measure RTT to this node (e.g. "https://198.51.100.7:8443/ping"). */
  probeUrl?: string;
  /**
   * pear-fogd's HTTP port: other nodes fill from `http://<this node's address as the
   * coordinator sees it>:<httpPort>/chunks/<id>`. Absent: this node is no fill source.
   */
  httpPort?: number;
}
export interface NodeAuth {
  t: "node.auth";
  /** base64url Ed25519 signature over nodeAuthPayload(nodeId, nonce, coordinatorId). */
  sig: string;
}
export interface NodeHeartbeat {
  t: "node.heartbeat";
  seq: number;
  capacity: Capacity;
  /** Chunk inventory change since the last heartbeat; `full` = `add` is the whole inventory. */
  inventory: { add: string[]; remove: string[]; full?: boolean };
  /** Bytes served to browsers since the last heartbeat. */
  bytesServed: number;
  /** jobs: what the node offers for edge-compute tasks (matchmaking); absent = no tasks. */
  facts?: NodeFacts;
}
export interface NodeProbes {
  t: "node.probes";
  results: RttSample[];
}
export type NodeToCoordinator =
  | NodeHello
  | NodeAuth
  | NodeHeartbeat
  | NodeProbes
  | SigAnswer
  | SigCandidate
  | JobNodeToCoordinator // jobs
  | AppNodeToCoordinator; // apps

// ---- coordinator -> node ----
export interface NodeChallenge {
  t: "node.challenge";
  /** base64url random bytes. */
  nonce: string;
  /** Identifies the coordinator deployment; part of the signed payload. */
  coordinatorId: string;
}
export interface ProbeTarget {
  id: string;
  url: string;
}
/** One RTCConfiguration.iceServers entry (STUN, or TURN with time-limited credentials). */
export interface IceServerEntry {
  urls: string[];
  username?: string;
  credential?: string;
}
export interface NodeWelcome {
  t: "node.welcome";
  heartbeatMs: number;
  deadAfterMs: number;
  /** STUN/TURN servers (pear-fogd asks the STUN ones for its server-reflexive address). */
  iceServers?: IceServerEntry[];
  /** Credibility the coordinator holds for this node, 0..1. */
  credibility: number;
}
export interface NodeProbe {
  t: "node.probe";
  targets: ProbeTarget[];
}
/**
 * Where a node may fetch the chunks of a hold: an origin (byte ranges of the manifest's files),
 * or another node that holds them — `url` is its chunk base (`<url><chunk id>` answers the
 * whole chunk) when the coordinator knows one.
 */
export type HoldSource =
  { kind: "origin"; url: string } | { kind: "node"; nodeId: string; url?: string };
export interface NodeHold {
  t: "node.hold";
  content: string;
  chunks: string[];
  sources: HoldSource[];
}
export type CoordinatorToNode =
  | NodeChallenge
  | NodeWelcome
  | NodeProbe
  | NodeHold
  | SigOfferToNode
  | SigCandidateToNode
  | JobCoordinatorToNode // jobs
  | AppCoordinatorToNode // apps
  | ErrorMessage;

// ---- browser -> coordinator ----
export interface BrowserHello {
  t: "browser.hello";
  version: string;
}
export interface BrowserFind {
  t: "browser.find";
  /** Request id chosen by the browser, echoed in browser.found. */
  req: number;
  content: string;
  chunks: string[];
  /** Most nodes wanted; default and cap LIMITS.foundNodes. */
  max?: number;
}
export interface BrowserRtt {
  t: "browser.rtt";
  samples: RttSample[];
}
export type BadChunkReason = "hash_mismatch" | "timeout" | "refused";
export interface BrowserBadChunk {
  t: "browser.badchunk";
  node: string;
  content: string;
  chunk: string;
  reason: BadChunkReason;
}
export interface BrowserStats {
  t: "browser.stats";
  /** Bytes received from fog nodes since the last report. */
  p2pBytes: number;
  /** Bytes fetched over HTTP from the origin since the last report. */
  httpBytes: number;
}
export interface SigOffer {
  t: "sig.offer";
  /** Browser-chosen session id, one per peer connection. */
  session: string;
  /** Target node id. */
  node: string;
  sdp: string;
}
export interface SigCandidateFromBrowser {
  t: "sig.candidate";
  session: string;
  candidate: string;
  mid?: string;
}
export type BrowserToCoordinator =
  | BrowserHello
  | BrowserFind
  | BrowserRtt
  | BrowserBadChunk
  | BrowserStats
  | SigOffer
  | SigCandidateFromBrowser
  | JobBrowserToCoordinator // jobs: browsers that opted in to run tasks
  | AppBrowserToCoordinator; // apps: which node runs an app (SDK PearFog.app)

// ---- coordinator -> browser ----
export interface BrowserWelcome {
  t: "browser.welcome";
  /** Coordinator-assigned id of this browser connection. */
  browser: string;
  /** Nodes and landmarks worth measuring RTT to. */
  probe: ProbeTarget[];
  /** STUN/TURN servers for the page's peer connections (TURN credentials expire). */
  iceServers?: IceServerEntry[];
}
export interface FoundNode {
  node: string;
  score: number;
  /** Indices into the find's `chunks` that this node holds. */
  has: number[];
  /** Best RTT estimate, milliseconds (measured or from landmarks). */
  rttMs: number;
}
export interface BrowserFound {
  t: "browser.found";
  req: number;
  nodes: FoundNode[];
}
export interface SigAnswerToBrowser {
  t: "sig.answer";
  session: string;
  node: string;
  sdp: string;
}
export interface SigCandidateToBrowser {
  t: "sig.candidate";
  session: string;
  node: string;
  candidate: string;
  mid?: string;
}
export type CoordinatorToBrowser =
  | BrowserWelcome
  | BrowserFound
  | SigAnswerToBrowser
  | SigCandidateToBrowser
  | JobCoordinatorToBrowser // jobs
  | AppCoordinatorToBrowser // apps
  | ErrorMessage;

// ---- relayed between the coordinator and a node; `session` is a coordinator relay id ----
export interface SigOfferToNode {
  t: "sig.offer";
  session: string;
  sdp: string;
}
export interface SigAnswer {
  t: "sig.answer";
  session: string;
  sdp: string;
}
export interface SigCandidate {
  t: "sig.candidate";
  session: string;
  candidate: string;
  mid?: string;
}
export type SigCandidateToNode = SigCandidate;

export type ErrorCode =
  | "unknown_type"
  | "invalid"
  | "too_large"
  | "unauthorized"
  | "rate_limited"
  | "not_found"
  | "internal";
export interface ErrorMessage {
  t: "error";
  code: ErrorCode;
  detail: string;
  req?: number;
}

// ---- errors and the validation helpers: src/protocol/check.ts (shared with jobs.ts) ----
export { ProtocolError, type ProtocolErrorCode } from "./check";

// ---- field formats ----
/** did:key with a base58btc multibase value. */
export const DID_KEY_RE = /^did:key:z[1-9A-HJ-NP-Za-km-z]{1,100}$/;
/** SHA-256 chunk id: 64 lowercase hex characters (libs/webrtc-native/src/chunk_id.h). */
export const CHUNK_ID_RE = /^[0-9a-f]{64}$/;
/** Opaque ids and content ids: printable ASCII without spaces or quotes. */
export const OPAQUE_ID_RE = /^[A-Za-z0-9._:~+/=-]+$/;
const B64URL_RE = /^[A-Za-z0-9_-]+$/;
const URL_RE = /^(https?|wss?):\/\/[^\s]+$/;

const did = str(LIMITS.did, DID_KEY_RE);
const chunkId = str(64, CHUNK_ID_RE);
const opaque = str(LIMITS.id, OPAQUE_ID_RE);
const contentId = str(LIMITS.contentId, OPAQUE_ID_RE);
const text = str(LIMITS.text);
const rtt = obj({ target: str(LIMITS.did, OPAQUE_ID_RE), rttMs: num(0, LIMITS.rttMs) });
const bytes = num(0, Number.MAX_SAFE_INTEGER, true);
const probeTarget = obj({ id: str(LIMITS.did, OPAQUE_ID_RE), url: str(LIMITS.url, URL_RE) });
const holdSource = (v: unknown, path: string): HoldSource => {
  const kind = (v as { kind?: unknown } | null)?.kind;
  if (kind === "origin")
    return obj({ kind: oneOf(["origin"]), url: str(LIMITS.url, URL_RE) })(v, path);
  if (kind === "node")
    return obj({ kind: oneOf(["node"]), nodeId: did }, { url: str(LIMITS.url, URL_RE) })(v, path);
  return fail(`${path}.kind`, "expected origin|node");
};
const errorCodes: readonly ErrorCode[] = [
  "unknown_type",
  "invalid",
  "too_large",
  "unauthorized",
  "rate_limited",
  "not_found",
  "internal",
];
const errorMessage = obj(
  { t: oneOf(["error"]), code: oneOf(errorCodes), detail: text },
  { req: num(0, 2 ** 31, true) },
);
const mid = str(LIMITS.id);
const iceServers = arr(
  4,
  obj(
    { urls: arr(4, str(LIMITS.url)) },
    { username: str(LIMITS.url), credential: str(LIMITS.url) },
  ),
);

/**
 * One validator per `t`, per direction. The tables are typed loosely and the decode functions
 * narrow to the message unions; messages.test.ts keeps the two in step by round-tripping a
 * typed example of every message through its decoder.
 */
const NODE_TO_COORDINATOR: Record<string, Check<unknown>> = {
  "node.hello": obj(
    { t: oneOf(["node.hello"]), nodeId: did, version: text },
    { probeUrl: str(LIMITS.url, URL_RE), httpPort: num(1, 65535, true) },
  ),
  "node.auth": obj({ t: oneOf(["node.auth"]), sig: str(128, B64URL_RE) }),
  "node.heartbeat": obj(
    {
      t: oneOf(["node.heartbeat"]),
      seq: num(0, Number.MAX_SAFE_INTEGER, true),
      capacity: obj({
        uplinkCapBps: bytes,
        uplinkUsedBps: bytes,
        storeBytes: bytes,
        storeCapBytes: bytes,
        load: num(0, 1),
        reachability: oneOf(REACHABILITY),
      }),
      inventory: obj(
        { add: arr(LIMITS.inventory, chunkId), remove: arr(LIMITS.inventory, chunkId) },
        { full: bool() },
      ),
      bytesServed: bytes,
    },
    { facts: nodeFacts }, // jobs
  ),
  "node.probes": obj({ t: oneOf(["node.probes"]), results: arr(LIMITS.rttSamples, rtt) }),
  "sig.answer": obj({ t: oneOf(["sig.answer"]), session: opaque, sdp: str(LIMITS.sdp) }),
  "sig.candidate": obj(
    { t: oneOf(["sig.candidate"]), session: opaque, candidate: str(LIMITS.candidate) },
    { mid },
  ),
  ...JOB_NODE_TO_COORDINATOR, // jobs
  ...APP_NODE_TO_COORDINATOR, // apps
};

const COORDINATOR_TO_NODE: Record<string, Check<unknown>> = {
  "node.challenge": obj({
    t: oneOf(["node.challenge"]),
    nonce: str(128, B64URL_RE),
    coordinatorId: opaque,
  }),
  "node.welcome": obj(
    {
      t: oneOf(["node.welcome"]),
      heartbeatMs: num(1, 3_600_000, true),
      deadAfterMs: num(1, 3_600_000, true),
      credibility: num(0, 1),
    },
    { iceServers },
  ),
  "node.probe": obj({ t: oneOf(["node.probe"]), targets: arr(LIMITS.probeTargets, probeTarget) }),
  "node.hold": obj({
    t: oneOf(["node.hold"]),
    content: contentId,
    chunks: arr(LIMITS.holdChunks, chunkId),
    sources: arr(LIMITS.holdSources, holdSource),
  }),
  "sig.offer": obj({ t: oneOf(["sig.offer"]), session: opaque, sdp: str(LIMITS.sdp) }),
  "sig.candidate": NODE_TO_COORDINATOR["sig.candidate"] as Check<unknown>,
  ...JOB_COORDINATOR_TO_NODE, // jobs
  ...APP_COORDINATOR_TO_NODE, // apps
  error: errorMessage,
};

const BROWSER_TO_COORDINATOR: Record<string, Check<unknown>> = {
  "browser.hello": obj({ t: oneOf(["browser.hello"]), version: text }),
  "browser.find": obj(
    {
      t: oneOf(["browser.find"]),
      req: num(0, 2 ** 31, true),
      content: contentId,
      chunks: arr(LIMITS.findChunks, chunkId),
    },
    { max: num(1, LIMITS.foundNodes, true) },
  ),
  "browser.rtt": obj({ t: oneOf(["browser.rtt"]), samples: arr(LIMITS.rttSamples, rtt) }),
  "browser.badchunk": obj({
    t: oneOf(["browser.badchunk"]),
    node: did,
    content: contentId,
    chunk: chunkId,
    reason: oneOf(["hash_mismatch", "timeout", "refused"] as const),
  }),
  "browser.stats": obj({ t: oneOf(["browser.stats"]), p2pBytes: bytes, httpBytes: bytes }),
  "sig.offer": obj({ t: oneOf(["sig.offer"]), session: opaque, node: did, sdp: str(LIMITS.sdp) }),
  "sig.candidate": obj(
    { t: oneOf(["sig.candidate"]), session: opaque, candidate: str(LIMITS.candidate) },
    { mid },
  ),
  ...JOB_BROWSER_TO_COORDINATOR, // jobs
  ...APP_BROWSER_TO_COORDINATOR, // apps
};

const COORDINATOR_TO_BROWSER: Record<string, Check<unknown>> = {
  "browser.welcome": obj(
    {
      t: oneOf(["browser.welcome"]),
      browser: opaque,
      probe: arr(LIMITS.probeTargets, probeTarget),
    },
    { iceServers },
  ),
  "browser.found": obj({
    t: oneOf(["browser.found"]),
    req: num(0, 2 ** 31, true),
    nodes: arr(
      LIMITS.foundNodes,
      obj({
        node: did,
        score: num(0, 1),
        has: arr(LIMITS.findChunks, num(0, LIMITS.findChunks - 1, true)),
        rttMs: num(0, LIMITS.rttMs),
      }),
    ),
  }),
  "sig.answer": obj({
    t: oneOf(["sig.answer"]),
    session: opaque,
    node: did,
    sdp: str(LIMITS.sdp),
  }),
  "sig.candidate": obj(
    {
      t: oneOf(["sig.candidate"]),
      session: opaque,
      node: did,
      candidate: str(LIMITS.candidate),
    },
    { mid },
  ),
  ...JOB_COORDINATOR_TO_BROWSER, // jobs
  ...APP_COORDINATOR_TO_BROWSER, // apps
  error: errorMessage,
};

function byteLength(s: string): number {
  // UTF-8 length without allocating; lone surrogates count as 3 (U+FFFD).
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

function decodeWith(table: Record<string, Check<unknown>>, frame: string | Uint8Array): unknown {
  const size = typeof frame === "string" ? byteLength(frame) : frame.byteLength;
  if (size > MAX_MESSAGE_BYTES) {
    throw new ProtocolError("too_large", `frame of ${size} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  }
  let textFrame: string;
  if (typeof frame === "string") textFrame = frame;
  else {
    try {
      textFrame = new TextDecoder("utf-8", { fatal: true }).decode(frame);
    } catch {
      throw new ProtocolError("invalid", "frame is not valid UTF-8");
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(textFrame);
  } catch {
    throw new ProtocolError("invalid", "not JSON");
  }
  return validateWith(table, value);
}

function validateWith(table: Record<string, Check<unknown>>, value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("invalid", "message: expected object");
  }
  const t = (value as { t?: unknown }).t;
  if (typeof t !== "string") throw new ProtocolError("invalid", "message.t: missing");
  const check = Object.hasOwn(table, t) ? table[t] : undefined;
  if (!check)
    throw new ProtocolError("unknown_type", `unknown t ${JSON.stringify(t.slice(0, 64))}`);
  return check(value, t);
}

/** Decode and validate a frame a node sent. Throws ProtocolError. */
export function decodeNodeMessage(frame: string | Uint8Array): NodeToCoordinator {
  return decodeWith(NODE_TO_COORDINATOR, frame) as NodeToCoordinator;
}
/** Decode and validate a frame a browser sent. Throws ProtocolError. */
export function decodeBrowserMessage(frame: string | Uint8Array): BrowserToCoordinator {
  return decodeWith(BROWSER_TO_COORDINATOR, frame) as BrowserToCoordinator;
}
/** Decode and validate a frame the coordinator sent to a node (used by the agent). */
export function decodeCoordinatorToNode(frame: string | Uint8Array): CoordinatorToNode {
  return decodeWith(COORDINATOR_TO_NODE, frame) as CoordinatorToNode;
}
/** Decode and validate a frame the coordinator sent to a browser (used by the SDK). */
export function decodeCoordinatorToBrowser(frame: string | Uint8Array): CoordinatorToBrowser {
  return decodeWith(COORDINATOR_TO_BROWSER, frame) as CoordinatorToBrowser;
}

type AnyMessage =
  NodeToCoordinator | CoordinatorToNode | BrowserToCoordinator | CoordinatorToBrowser;

/**
 * Serialize a message. Throws ProtocolError("too_large") if the frame would exceed
 * MAX_MESSAGE_BYTES, so a sender never emits a frame the receiver must reject.
 */
export function encodeMessage(msg: AnyMessage): string {
  const s = JSON.stringify(msg);
  const size = byteLength(s);
  if (size > MAX_MESSAGE_BYTES) {
    throw new ProtocolError("too_large", `${msg.t}: ${size} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  }
  return s;
}

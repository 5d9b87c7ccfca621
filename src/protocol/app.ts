// Edge-compute apps (issue 7): the signed app manifest and the coordinator <-> node app messages.
// Pure: no I/O; runs on Node, in browsers and in QuickJS (the node verifies every deploy again).
// Spec: docs/apps.md.
//
// Manifest bytes = canonical JSON (canonical-json.ts). Signed bytes = APP_SIGNING_PREFIX ||
// canonical JSON of the manifest without `signature`, Ed25519 by the developer's did:key. The
// bundle (the app's JS) is named by its SHA-256 and size in the manifest, so a tampered bundle
// fails the hash and a tampered manifest fails the signature.
//
//   coordinator -> node  app.run {manifest, bundleUrl}   install (fetch + verify) and start
//   coordinator -> node  app.stop {name} / app.remove {name} / app.logs {name, req}
//   node -> coordinator  app.state {name, version, state, reason?}   every state change
//   node -> coordinator  app.logs {name, req, text}
//   node -> coordinator  app.stats {name, version, uploadBytes, uploadRefused}  pear.send totals
//   browser -> coordinator  app.find {req, name}            which nodes run app <name> for
//   coordinator -> browser  app.found {req, name, nodes}    browsers (docs/apps.md, docs/sdk.md)
import { sha256 } from "@noble/hashes/sha2.js";
import { canonicalJson } from "./canonical-json";
import { arr, bool, fail, num, obj, oneOf, str, type Check } from "./check";
import { publicKeyFromDidKey } from "./did-key";
import { ed25519Sign, ed25519Verify, type KeyPair } from "./ed25519";
import { hexDecode, hexEncode } from "./hex";

export const APP_SIGNING_PREFIX = "pear-fog/app/v1\n";
export const APP_LIMITS = {
  /** Bundle size, bytes. */
  bundleBytes: 1024 * 1024,
  memoryMiB: 256,
  storageMiB: 1024,
  /** CPU weight (relative; 1024 = default). */
  minShares: 2,
  maxShares: 65536,
  /** Upload allowance, KiB/s (0 = none). */
  uploadKiBps: 100_000,
  fetchHosts: 16,
  /** Log text a node returns, characters. */
  logText: 16 * 1024,
} as const;

export const APP_NAME_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const APP_VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z.+-]{0,31}$/;
const HOST_RE = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
const DID_RE = /^did:key:z[1-9A-HJ-NP-Za-km-z]{1,100}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

export interface AppResources {
  /** Hard heap limit of the app's runtime, MiB. */
  memoryMiB: number;
  /** CPU weight among running sandboxes (1024 = default). */
  cpuShares: number;
  /** Upload allowance, KiB/s (0 = the app sends nothing to browsers). */
  uploadKiBps: number;
  /** Key-value storage quota, MiB. */
  storageMiB: number;
}

export interface AppCapabilities {
  /** Key-value storage (pear.kv), within resources.storageMiB. */
  kv?: boolean;
  /** HTTP fetch (pear.fetch) to exactly these host names. */
  fetch?: string[];
  /** Messages to/from browsers over the data channel (pear.onMessage / pear.post). */
  messages?: boolean;
  /** Wi-Fi context, if the router owner allows it (option apps_wifi). */
  wifi?: boolean;
}

export interface UnsignedAppManifest {
  v: 1;
  name: string;
  version: string;
  /** The developer's did:key (Ed25519). */
  developer: string;
  bundle: { sha256: string; size: number };
  resources: AppResources;
  capabilities: AppCapabilities;
}
export interface AppManifest extends UnsignedAppManifest {
  /** Ed25519 over APP_SIGNING_PREFIX || canonical JSON of the rest, 128 hex. */
  signature: string;
}

export type AppErrorCode =
  | "invalid" // not a manifest (shape, ranges)
  | "bad_signature"
  | "bad_bundle" // hash or size differs from the manifest
  | "too_large";

/** A refused manifest or bundle; `code` is stable, `detail` says where. */
export class AppError extends Error {
  constructor(
    readonly code: AppErrorCode,
    readonly detail: string,
  ) {
    super(`app ${code}: ${detail}`);
    this.name = "AppError";
  }
}

const capsCheck: Check<AppCapabilities> = obj(
  {},
  {
    kv: bool(),
    fetch: arr(APP_LIMITS.fetchHosts, str(253, HOST_RE)),
    messages: bool(),
    wifi: bool(),
  },
);

const vCheck: Check<1> = (v, path) => (v === 1 ? 1 : fail(path, "must be 1"));
const UNSIGNED_SHAPE = {
  v: vCheck,
  name: str(32, APP_NAME_RE),
  version: str(32, APP_VERSION_RE),
  developer: str(120, DID_RE),
  bundle: obj({ sha256: str(64, HEX64), size: num(1, APP_LIMITS.bundleBytes, true) }),
  resources: obj({
    memoryMiB: num(1, APP_LIMITS.memoryMiB, true),
    cpuShares: num(APP_LIMITS.minShares, APP_LIMITS.maxShares, true),
    uploadKiBps: num(0, APP_LIMITS.uploadKiBps, true),
    storageMiB: num(0, APP_LIMITS.storageMiB, true),
  }),
  capabilities: capsCheck,
};
const manifestCheck = obj({
  ...UNSIGNED_SHAPE,
  signature: str(128, HEX128),
});

/** Shape and range check of a parsed manifest. Throws AppError "invalid". */
export function parseAppManifest(v: unknown): AppManifest {
  try {
    return manifestCheck(v, "manifest") as AppManifest;
  } catch (e) {
    throw new AppError("invalid", e instanceof Error ? e.message : String(e));
  }
}

export function appSigningBytes(m: UnsignedAppManifest | AppManifest): Uint8Array {
  const { signature: _s, ...rest } = m as AppManifest;
  const body = canonicalJson(rest);
  const prefix = new TextEncoder().encode(APP_SIGNING_PREFIX);
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix);
  out.set(body, prefix.length);
  return out;
}

/** The manifest of `bundle`, signed with the developer's key. */
export function signApp(
  m: Omit<UnsignedAppManifest, "v" | "bundle" | "developer">,
  bundle: Uint8Array,
  key: KeyPair,
): AppManifest {
  const unsigned: UnsignedAppManifest = {
    v: 1,
    name: m.name,
    version: m.version,
    developer: key.did,
    bundle: { sha256: hexEncode(sha256(bundle)), size: bundle.length },
    resources: m.resources,
    capabilities: m.capabilities,
  };
  parseAppManifest({ ...unsigned, signature: "0".repeat(128) });
  return { ...unsigned, signature: hexEncode(ed25519Sign(appSigningBytes(unsigned), key.seed)) };
}

export interface AppCrypto {
  sha256?: (data: Uint8Array) => Uint8Array;
  ed25519Verify?: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;
}

/**
 * Check a manifest's signature and, when given, that `bundle` is the one it names.
 * Throws AppError ("invalid", "bad_signature", "bad_bundle").
 */
export function verifyApp(m: AppManifest, bundle?: Uint8Array, crypto: AppCrypto = {}): void {
  parseAppManifest(m);
  const pub = publicKeyFromDidKey(m.developer);
  if (!pub) throw new AppError("invalid", "developer is not an Ed25519 did:key");
  const sig = hexDecode(m.signature, 64);
  if (!sig || !(crypto.ed25519Verify ?? ed25519Verify)(sig, appSigningBytes(m), pub)) {
    throw new AppError("bad_signature", `signature does not verify for ${m.developer}`);
  }
  if (bundle) {
    if (bundle.length !== m.bundle.size) {
      throw new AppError(
        "bad_bundle",
        `bundle is ${bundle.length} bytes, manifest says ${m.bundle.size}`,
      );
    }
    if (hexEncode((crypto.sha256 ?? sha256)(bundle)) !== m.bundle.sha256) {
      throw new AppError("bad_bundle", "bundle SHA-256 differs from the manifest");
    }
  }
}

// ---- messages ------------------------------------------------------------------------------

/** States of an app on a node (and in the coordinator's view). */
export type AppState = "deploying" | "running" | "stopped" | "failed";
export const APP_STATES: readonly AppState[] = ["deploying", "running", "stopped", "failed"];

export interface AppRun {
  t: "app.run";
  manifest: AppManifest;
  /** Where the node fetches the bundle: a path on the coordinator's HTTP (/api/apps/bundles/<sha256>) or a URL. */
  bundleUrl: string;
}
export interface AppStop {
  t: "app.stop";
  name: string;
}
export interface AppRemove {
  t: "app.remove";
  name: string;
}
export interface AppLogsRequest {
  t: "app.logs";
  name: string;
  req: number;
}
export type AppCoordinatorToNode = AppRun | AppStop | AppRemove | AppLogsRequest;

export interface AppStateReport {
  t: "app.state";
  name: string;
  version: string;
  state: AppState;
  /** Why it failed or stopped: "memory", "throw", "owner_stopped", "bad_bundle", ... */
  reason?: string;
}
export interface AppLogsReply {
  t: "app.logs";
  name: string;
  req: number;
  text: string;
}
/** What an app sent to browsers since it started (pear.send; sent when it changed). */
export interface AppStatsReport {
  t: "app.stats";
  name: string;
  version: string;
  /** Bytes granted by its upload allowance. */
  uploadBytes: number;
  /** pear.send calls refused (over an allowance, too large, none). */
  uploadRefused: number;
}
export type AppNodeToCoordinator = AppStateReport | AppLogsReply | AppStatsReport;

const appName = str(32, APP_NAME_RE);
const manifestMsg = manifestCheck as Check<AppManifest>;
const req = num(0, 2 ** 31, true);

export const APP_COORDINATOR_TO_NODE: Record<string, Check<unknown>> = {
  "app.run": obj({ t: oneOf(["app.run"]), manifest: manifestMsg, bundleUrl: str(2048) }),
  "app.stop": obj({ t: oneOf(["app.stop"]), name: appName }),
  "app.remove": obj({ t: oneOf(["app.remove"]), name: appName }),
  "app.logs": obj({ t: oneOf(["app.logs"]), name: appName, req }),
};

/** A page asks which nodes run app `name` and take browser messages (SDK PearFog.app). */
export interface AppFind {
  t: "app.find";
  req: number;
  name: string;
}
/** Node ids (did:key) running it now, best first; empty when none. */
export interface AppFound {
  t: "app.found";
  req: number;
  name: string;
  nodes: string[];
}
export type AppBrowserToCoordinator = AppFind;
export type AppCoordinatorToBrowser = AppFound;
/** Most nodes an app.found lists. */
export const APP_FOUND_MAX = 8;

export const APP_BROWSER_TO_COORDINATOR: Record<string, Check<unknown>> = {
  "app.find": obj({ t: oneOf(["app.find"]), req, name: appName }),
};
export const APP_COORDINATOR_TO_BROWSER: Record<string, Check<unknown>> = {
  "app.found": obj({
    t: oneOf(["app.found"]),
    req,
    name: appName,
    nodes: arr(APP_FOUND_MAX, str(120, DID_RE)),
  }),
};

export const APP_NODE_TO_COORDINATOR: Record<string, Check<unknown>> = {
  "app.state": obj(
    {
      t: oneOf(["app.state"]),
      name: appName,
      version: str(32, APP_VERSION_RE),
      state: oneOf(APP_STATES),
    },
    { reason: str(200) },
  ),
  "app.logs": obj({
    t: oneOf(["app.logs"]),
    name: appName,
    req,
    text: str(APP_LIMITS.logText),
  }),
  "app.stats": obj({
    t: oneOf(["app.stats"]),
    name: appName,
    version: str(32, APP_VERSION_RE),
    uploadBytes: num(0, Number.MAX_SAFE_INTEGER, true),
    uploadRefused: num(0, Number.MAX_SAFE_INTEGER, true),
  }),
};

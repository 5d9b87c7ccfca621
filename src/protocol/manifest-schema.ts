// Structural validation of a decoded manifest object: every field present, of the right type,
// inside its cap, no unknown fields; sizes add up. Signature and Merkle root are checked by
// verifyManifest (manifest.ts). Pure.
import { ManifestError } from "./manifest-error";
import type { Manifest, ManifestChunk, ManifestFile, ManifestType } from "./manifest-types";
import { MANIFEST_TYPES, MANIFEST_VERSION, type ManifestLimits } from "./manifest-types";

function fail(field: string, why: string): never {
  throw new ManifestError("bad_field", why, field);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function exactKeys(o: Record<string, unknown>, keys: readonly string[], field: string): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) fail(`${field}/${k}`, "unknown field");
  }
  for (const k of keys) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) fail(`${field}/${k}`, "missing");
  }
}

function int(v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) fail(field, "not an integer");
  if (v < min || v > max) fail(field, `${v} not in ${min}..${max}`);
  return v;
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function str(v: unknown, field: string, maxLen: number, allowEmpty = false): string {
  if (typeof v !== "string") fail(field, "not a string");
  if (v.length > maxLen) throw new ManifestError("over_limit", `longer than ${maxLen}`, field);
  if (!allowEmpty && v.length === 0) fail(field, "empty");
  if (hasControl(v)) fail(field, "control character");
  return v;
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;
// http(s) only, lowercase scheme, a host, no whitespace. Full URL grammar is the fetcher's job.
const URL_RE = /^https?:\/\/[^\s/?#@]+(?:[/?#]\S*)?$/;

/** True if `u` is an absolute http: or https: URL as the manifest accepts it. */
export function isManifestUrl(u: string, maxLen: number): boolean {
  return u.length <= maxLen && URL_RE.test(u) && !hasControl(u);
}

/** True if `p` is a safe relative path: '/'-separated, no empty, "." or ".." segments. */
export function isRelativePath(p: string, maxLen: number): boolean {
  if (p.length === 0 || p.length > maxLen || hasControl(p) || p.includes("\\")) return false;
  return p.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

function url(v: unknown, field: string, lim: ManifestLimits): string {
  const s = str(v, field, lim.maxUrlLength);
  if (!isManifestUrl(s, lim.maxUrlLength)) fail(field, "not an http(s) URL");
  return s;
}

function chunk(v: unknown, field: string, lim: ManifestLimits): ManifestChunk {
  if (!isObject(v)) fail(field, "not an object");
  exactKeys(v, ["id", "size"], field);
  if (typeof v.id !== "string" || !HEX64.test(v.id)) fail(`${field}/id`, "not 64 lowercase hex");
  return { id: v.id, size: int(v.size, `${field}/size`, 1, lim.maxChunkSize) };
}

function file(
  v: unknown,
  field: string,
  type: ManifestType,
  chunkSize: number,
  lim: ManifestLimits,
  budget: { chunks: number },
): ManifestFile {
  if (!isObject(v)) fail(field, "not an object");
  const stream = type === "hls" || type === "dash";
  exactKeys(v, [stream ? "uri" : "path", "size", "chunks"], field);
  const size = int(v.size, `${field}/size`, 0);
  if (!Array.isArray(v.chunks)) fail(`${field}/chunks`, "not an array");
  budget.chunks += v.chunks.length;
  if (budget.chunks > lim.maxChunks) {
    throw new ManifestError("over_limit", `more than ${lim.maxChunks} chunks`, `${field}/chunks`);
  }
  const chunks = v.chunks.map((c, i) => chunk(c, `${field}/chunks/${i}`, lim));
  // Every chunk but the last is exactly chunkSize; the last is 1..chunkSize; sum = size.
  const want = Math.ceil(size / chunkSize);
  if (chunks.length !== want) {
    throw new ManifestError("bad_size", `${chunks.length} chunks for ${size} bytes`, field);
  }
  chunks.forEach((c, i) => {
    const expect = i < want - 1 ? chunkSize : size - chunkSize * (want - 1);
    if (c.size !== expect) {
      throw new ManifestError(
        "bad_size",
        `size ${c.size}, expected ${expect}`,
        `${field}/chunks/${i}`,
      );
    }
  });
  if (stream) return { uri: url(v.uri, `${field}/uri`, lim), size, chunks };
  const path = str(v.path, `${field}/path`, lim.maxPathLength);
  if (!isRelativePath(path, lim.maxPathLength)) fail(`${field}/path`, "not a safe relative path");
  return { path, size, chunks };
}

const TOP_KEYS = [
  "v",
  "type",
  "name",
  "version",
  "created",
  "chunkSize",
  "size",
  "origins",
  "files",
  "merkleRoot",
  "publisher",
  "signature",
] as const;

/**
 * Validate a decoded manifest object (with or without `signature`, as `signed` says) and
 * return it typed. Throws ManifestError.
 */
export function validateManifestObject(v: unknown, lim: ManifestLimits, signed = true): Manifest {
  if (!isObject(v)) fail("", "not a JSON object");
  if (v.v !== MANIFEST_VERSION) {
    throw new ManifestError("unsupported_version", `format version ${String(v.v)}`, "/v");
  }
  exactKeys(v, signed ? TOP_KEYS : TOP_KEYS.filter((k) => k !== "signature"), "");
  if (typeof v.type !== "string" || !(MANIFEST_TYPES as readonly string[]).includes(v.type)) {
    fail("/type", `not one of ${MANIFEST_TYPES.join(", ")}`);
  }
  const type = v.type as ManifestType;
  const name = str(v.name, "/name", lim.maxNameLength);
  const version = int(v.version, "/version", 0);
  const created = int(v.created, "/created", 0);
  const chunkSize = int(v.chunkSize, "/chunkSize", lim.minChunkSize, lim.maxChunkSize);
  const size = int(v.size, "/size", 0);
  if (!Array.isArray(v.origins)) fail("/origins", "not an array");
  if (v.origins.length > lim.maxOrigins) {
    throw new ManifestError("over_limit", `more than ${lim.maxOrigins} origins`, "/origins");
  }
  const origins = v.origins.map((o, i) => url(o, `/origins/${i}`, lim));
  if (!Array.isArray(v.files)) fail("/files", "not an array");
  if (v.files.length > lim.maxFiles) {
    throw new ManifestError("over_limit", `more than ${lim.maxFiles} files`, "/files");
  }
  if (type === "file" && v.files.length !== 1) fail("/files", "type file needs exactly one entry");
  const budget = { chunks: 0 };
  const files = v.files.map((f, i) => file(f, `/files/${i}`, type, chunkSize, lim, budget));
  const seen = new Set<string>();
  files.forEach((f, i) => {
    const key = f.path ?? f.uri ?? "";
    if (seen.has(key)) fail(`/files/${i}`, `duplicate ${f.path !== undefined ? "path" : "uri"}`);
    seen.add(key);
  });
  const total = files.reduce((n, f) => n + f.size, 0);
  if (total !== size) throw new ManifestError("bad_size", `files add up to ${total}`, "/size");
  if (typeof v.merkleRoot !== "string" || !HEX64.test(v.merkleRoot)) {
    fail("/merkleRoot", "not 64 lowercase hex");
  }
  const publisher = str(v.publisher, "/publisher", 128);
  if (!publisher.startsWith("did:key:z6Mk")) fail("/publisher", "not an Ed25519 did:key");
  const m: Manifest = {
    v: MANIFEST_VERSION,
    type,
    name,
    version,
    created,
    chunkSize,
    size,
    origins,
    files,
    merkleRoot: v.merkleRoot,
    publisher,
    signature: "",
  };
  if (signed) {
    if (typeof v.signature !== "string" || !HEX128.test(v.signature)) {
      fail("/signature", "not 128 lowercase hex");
    }
    m.signature = v.signature;
  }
  return m;
}

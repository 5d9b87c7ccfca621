// The signed content manifest: build, sign, encode, parse, verify (docs/manifest.md).
// Bytes on disk / on the wire = canonical JSON (canonical-json.ts) of the signed manifest.
// Signed bytes = MANIFEST_SIGNING_PREFIX || canonical JSON of the manifest without `signature`.
// Content id = SHA-256 of the bytes on disk, 64 hex. Pure.
import { sha256 } from "@noble/hashes/sha2.js";
import { canonicalJson } from "./canonical-json";
import { publicKeyFromDidKey } from "./did-key";
import { ed25519Sign, ed25519Verify, type KeyPair } from "./ed25519";
import { bytesEqual, hexDecode, hexEncode } from "./hex";
import { ManifestError } from "./manifest-error";
import { validateManifestObject } from "./manifest-schema";
import {
  MANIFEST_LIMITS,
  MANIFEST_SIGNING_PREFIX,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestFile,
  type ManifestLimits,
  type ManifestType,
  type UnsignedManifest,
} from "./manifest-types";
import { merkleProof, merkleRoot } from "./merkle";
import { utf8Decode, utf8Encode } from "./utf8";

/** A SHA-256 implementation; the CLI passes node:crypto's, which is faster than @noble's. */
export type Sha256Fn = (data: Uint8Array) => Uint8Array;

/**
 * Crypto used by verification. Defaults are @noble (pure JS); a platform with native
 * crypto (pear-fogd's OpenSSL under QuickJS, node:crypto) passes its own for speed.
 */
export interface ManifestCrypto {
  sha256?: Sha256Fn;
  /** RFC 8032 verify; must return false (not throw) on any bad input. */
  ed25519Verify?: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;
}

/** What buildManifest needs; size and merkleRoot are computed. */
export interface ManifestInput {
  type: ManifestType;
  name: string;
  version: number;
  /** Unix seconds. */
  created: number;
  chunkSize: number;
  origins: string[];
  files: ManifestFile[];
  publisher: string;
}

/** Length of `,"signature":"<128 hex>"` in the encoded manifest, bytes. */
const SIGNATURE_MEMBER_BYTES = 143;

/** Chunk ids of all files, in order, as 32-byte values (the Merkle leaves). */
export function manifestChunkIds(m: Pick<Manifest, "files">): Uint8Array[] {
  const ids: Uint8Array[] = [];
  for (const f of m.files) for (const c of f.chunks) ids.push(hexDecode(c.id, 32)!);
  return ids;
}

/** Assemble and validate an unsigned manifest. Throws ManifestError. */
export function buildManifest(
  input: ManifestInput,
  limits: ManifestLimits = MANIFEST_LIMITS,
): UnsignedManifest {
  const files = input.files.map((f) => ({ ...f, chunks: f.chunks.map((c) => ({ ...c })) }));
  const m: UnsignedManifest = {
    v: MANIFEST_VERSION,
    type: input.type,
    name: input.name,
    version: input.version,
    created: input.created,
    chunkSize: input.chunkSize,
    size: files.reduce((n, f) => n + f.size, 0),
    origins: [...input.origins],
    files,
    merkleRoot: "0".repeat(64),
    publisher: input.publisher,
  };
  validateManifestObject(m, limits, false); // ids, sizes, caps, before hashing them
  m.merkleRoot = hexEncode(merkleRoot(manifestChunkIds(m)));
  const bytes = canonicalJson(m).length + SIGNATURE_MEMBER_BYTES;
  if (bytes > limits.maxManifestBytes) {
    throw new ManifestError(
      "too_large",
      `manifest would be ${bytes} bytes, limit ${limits.maxManifestBytes}`,
    );
  }
  return m;
}

function unsignedPart(m: UnsignedManifest | Manifest): UnsignedManifest {
  const { signature: _signature, ...rest } = m as Manifest;
  return rest;
}

/** The bytes the publisher signs: prefix || canonical JSON of everything but `signature`. */
export function manifestSigningBytes(m: UnsignedManifest | Manifest): Uint8Array {
  const body = canonicalJson(unsignedPart(m));
  const prefix = utf8Encode(MANIFEST_SIGNING_PREFIX);
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix, 0);
  out.set(body, prefix.length);
  return out;
}

/** Sign with the publisher key; `m.publisher` must be that key's did. */
export function signManifest(m: UnsignedManifest, key: KeyPair): Manifest {
  if (m.publisher !== key.did) {
    throw new ManifestError("wrong_publisher", `manifest names ${m.publisher}, key is ${key.did}`);
  }
  return { ...m, signature: hexEncode(ed25519Sign(manifestSigningBytes(m), key.seed)) };
}

/** The manifest's bytes: canonical JSON of the signed manifest, no trailing newline. */
export function encodeManifest(m: Manifest): Uint8Array {
  return canonicalJson(m);
}

/** Content id: SHA-256 of {@link encodeManifest}, 64 lowercase hex. */
export function contentId(m: Manifest, hash: Sha256Fn = sha256): string {
  return hexEncode(hash(encodeManifest(m)));
}

/**
 * Decode and structurally validate manifest bytes: size cap first, then strict UTF-8, JSON,
 * every field and cap, and that the bytes are the canonical encoding. Does not check the
 * signature or Merkle root: call {@link verifyManifest}. Throws ManifestError.
 */
export function parseManifest(
  bytes: Uint8Array,
  limits: ManifestLimits = MANIFEST_LIMITS,
): Manifest {
  if (bytes.length > limits.maxManifestBytes) {
    throw new ManifestError("too_large", `${bytes.length} bytes, limit ${limits.maxManifestBytes}`);
  }
  if (bytes.length === 0) throw new ManifestError("malformed", "empty");
  const text = utf8Decode(bytes);
  if (text === undefined) throw new ManifestError("malformed", "not valid UTF-8");
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ManifestError("malformed", `not JSON (truncated?): ${why}`);
  }
  const m = validateManifestObject(obj, limits, true);
  if (!bytesEqual(encodeManifest(m), bytes)) {
    throw new ManifestError(
      "non_canonical",
      "bytes are not the canonical encoding (whitespace, key order or duplicate keys)",
    );
  }
  return m;
}

/**
 * Check Merkle root and publisher signature (and, when given, that the publisher is
 * `publisherDid`). Throws ManifestError ("bad_merkle", "bad_signature", "wrong_publisher").
 */
export function verifyManifest(
  m: Manifest,
  publisherDid?: string,
  crypto: ManifestCrypto = {},
): void {
  if (publisherDid !== undefined && m.publisher !== publisherDid) {
    throw new ManifestError(
      "wrong_publisher",
      `signed by ${m.publisher}, expected ${publisherDid}`,
    );
  }
  const root = hexEncode(merkleRoot(manifestChunkIds(m), crypto.sha256 ?? sha256));
  if (root !== m.merkleRoot) {
    throw new ManifestError("bad_merkle", `chunk ids hash to ${root}`, "/merkleRoot");
  }
  const pub = publicKeyFromDidKey(m.publisher);
  if (!pub) throw new ManifestError("bad_field", "not an Ed25519 did:key", "/publisher");
  const sig = hexDecode(m.signature, 64);
  const verify = crypto.ed25519Verify ?? ed25519Verify;
  if (!sig || !verify(sig, manifestSigningBytes(m), pub)) {
    throw new ManifestError("bad_signature", `signature does not verify for ${m.publisher}`);
  }
}

/** Where a chunk sits: global index (Merkle leaf), file index, byte offset in the file. */
export interface ChunkLocation {
  index: number;
  file: number;
  offset: number;
  id: string;
  size: number;
}

/**
 * Locate a chunk by global index (O(files)) or by id (O(chunks), first occurrence; build a
 * Map from {@link chunkLocations} for many lookups). Undefined if absent.
 */
export function findChunk(m: Manifest, ref: number | string): ChunkLocation | undefined {
  if (typeof ref === "number") {
    if (!Number.isSafeInteger(ref) || ref < 0) return undefined;
    let first = 0;
    for (let fi = 0; fi < m.files.length; fi++) {
      const chunks = m.files[fi]!.chunks;
      if (ref < first + chunks.length) {
        const ci = ref - first;
        const c = chunks[ci]!;
        return { index: ref, file: fi, offset: ci * m.chunkSize, id: c.id, size: c.size };
      }
      first += chunks.length;
    }
    return undefined;
  }
  for (const loc of chunkLocations(m)) if (loc.id === ref) return loc;
  return undefined;
}

/** Every chunk's location, in global index order. */
export function* chunkLocations(m: Manifest): Generator<ChunkLocation> {
  let index = 0;
  for (let fi = 0; fi < m.files.length; fi++) {
    const chunks = m.files[fi]!.chunks;
    for (let ci = 0; ci < chunks.length; ci++, index++) {
      const c = chunks[ci]!;
      yield { index, file: fi, offset: ci * m.chunkSize, id: c.id, size: c.size };
    }
  }
}

/** Check chunk bytes against a known location: length, then SHA-256. Throws "bad_chunk". */
export function checkChunk(loc: ChunkLocation, bytes: Uint8Array, hash: Sha256Fn = sha256): void {
  if (bytes.length !== loc.size) {
    throw new ManifestError(
      "bad_chunk",
      `chunk ${loc.index}: ${bytes.length} bytes, expected ${loc.size}`,
    );
  }
  const got = hexEncode(hash(bytes));
  if (got !== loc.id) {
    throw new ManifestError("bad_chunk", `chunk ${loc.index}: SHA-256 ${got}, expected ${loc.id}`);
  }
}

/**
 * Check chunk bytes against the manifest entry (global index or id): length and SHA-256.
 * Throws ManifestError ("no_such_chunk", "bad_chunk").
 */
export function verifyChunk(
  m: Manifest,
  ref: number | string,
  bytes: Uint8Array,
  hash: Sha256Fn = sha256,
): ChunkLocation {
  const loc = findChunk(m, ref);
  if (!loc) throw new ManifestError("no_such_chunk", `no chunk ${String(ref)} in manifest`);
  checkChunk(loc, bytes, hash);
  return loc;
}

/** Merkle inclusion proof of chunk `index` (RFC 6962 audit path), hex. */
export function manifestChunkProof(m: Manifest, index: number): string[] {
  return merkleProof(manifestChunkIds(m), index).map(hexEncode);
}

/** Split `data` into chunks of `chunkSize` and describe them (ids via `hash`). */
export function chunkBytes(
  data: Uint8Array,
  chunkSize: number,
  hash: Sha256Fn = sha256,
): ManifestFile["chunks"] {
  const chunks: ManifestFile["chunks"] = [];
  for (let off = 0; off < data.length; off += chunkSize) {
    const part = data.subarray(off, Math.min(off + chunkSize, data.length));
    chunks.push({ id: hexEncode(hash(part)), size: part.length });
  }
  return chunks;
}

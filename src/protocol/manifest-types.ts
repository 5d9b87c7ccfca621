// Types, format constants and hard caps of the signed content manifest (docs/manifest.md). Pure.

/** Format version written in field `v`. */
export const MANIFEST_VERSION = 1;

/**
 * What the manifest describes: one file, a directory tree of files, or the segments of an HLS
 * or DASH presentation (entries keyed by absolute segment URL).
 */
export const MANIFEST_TYPES = ["file", "dir", "hls", "dash"] as const;
export type ManifestType = (typeof MANIFEST_TYPES)[number];

export interface ManifestChunk {
  /** SHA-256 of the chunk bytes, 64 lowercase hex (same text form as C chunk_id_format). */
  id: string;
  /** Chunk length, bytes. chunkSize for all but the last chunk of a file. */
  size: number;
}

export interface ManifestFile {
  /** Relative '/'-separated path (types file and dir). */
  path?: string;
  /** Absolute http(s) URL of the segment (types hls and dash). */
  uri?: string;
  /** File length, bytes. */
  size: number;
  /** Chunks in file order; chunk i covers bytes [i*chunkSize, i*chunkSize + size). */
  chunks: ManifestChunk[];
}

export interface Manifest {
  v: typeof MANIFEST_VERSION;
  type: ManifestType;
  /** Human-readable content name. */
  name: string;
  /** Publisher-chosen content version, non-negative integer; higher is newer. */
  version: number;
  /** Creation time, Unix seconds. */
  created: number;
  /** Chunk length, bytes, for every chunk but the last of each file. */
  chunkSize: number;
  /** Sum of file sizes, bytes. */
  size: number;
  /** Where the content can be fetched over HTTP(S) (fallback, cache fill). */
  origins: string[];
  files: ManifestFile[];
  /** RFC 6962 Merkle tree head over all chunk ids in order (files in order), 64 hex. */
  merkleRoot: string;
  /** did:key of the publisher's Ed25519 public key. */
  publisher: string;
  /** Ed25519 signature over the signing bytes, 128 lowercase hex. */
  signature: string;
}

/** A manifest before signing. */
export type UnsignedManifest = Omit<Manifest, "signature">;

/** Hard caps against hostile manifests. Every one is enforced by parseManifest. */
export interface ManifestLimits {
  /** Largest manifest accepted, bytes. */
  maxManifestBytes: number;
  /** Most chunks over all files. */
  maxChunks: number;
  /** Most file/segment entries. */
  maxFiles: number;
  /** Smallest chunkSize, bytes. */
  minChunkSize: number;
  /** Largest chunkSize (and so chunk), bytes. */
  maxChunkSize: number;
  /** Longest name, UTF-16 code units. */
  maxNameLength: number;
  /** Longest relative path, UTF-16 code units. */
  maxPathLength: number;
  /** Longest URL, characters. */
  maxUrlLength: number;
  /** Most origin URLs. */
  maxOrigins: number;
}

export const MANIFEST_LIMITS: Readonly<ManifestLimits> = Object.freeze({
  maxManifestBytes: 8 * 1024 * 1024, // 8 MiB
  // 65536 chunk entries are ~5.7 MB of canonical JSON, under maxManifestBytes; 16 GiB of
  // content at the default chunk size.
  maxChunks: 65_536,
  maxFiles: 65_536,
  minChunkSize: 1024, // 1 KiB
  maxChunkSize: 16 * 1024 * 1024, // 16 MiB
  maxNameLength: 256,
  maxPathLength: 1024,
  maxUrlLength: 2048,
  maxOrigins: 16,
});

/** Default chunk length for publishing, bytes (256 KiB). */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;

/** Domain separation prefix of the signed bytes (UTF-8, ends in a newline). */
export const MANIFEST_SIGNING_PREFIX = "pear-fog manifest v1\n";

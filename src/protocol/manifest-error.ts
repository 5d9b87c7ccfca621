// Typed errors for the signed content manifest (see docs/manifest.md). Pure.

/** Why a manifest (or a chunk checked against one) was refused. */
export type ManifestErrorCode =
  /** More bytes than MANIFEST_LIMITS.maxManifestBytes. */
  | "too_large"
  /** Not UTF-8 JSON (includes truncated input). */
  | "malformed"
  /** Valid JSON but not the canonical encoding of itself (whitespace, key order, duplicates). */
  | "non_canonical"
  /** Format version `v` is not one this code knows. */
  | "unsupported_version"
  /** A field is missing, unknown, of the wrong type or out of its allowed range. */
  | "bad_field"
  /** Over a hard cap (chunks, files, origins, string length). */
  | "over_limit"
  /** Sizes do not add up (chunk sizes vs chunkSize, file size, total size). */
  | "bad_size"
  /** merkleRoot is not the Merkle tree head of the listed chunk ids. */
  | "bad_merkle"
  /** The Ed25519 signature does not verify against `publisher`. */
  | "bad_signature"
  /** Signed by someone other than the expected publisher. */
  | "wrong_publisher"
  /** Chunk bytes do not hash to the listed id, or have the wrong size. */
  | "bad_chunk"
  /** The manifest lists no such chunk (index out of range or unknown id). */
  | "no_such_chunk";

export class ManifestError extends Error {
  /**
   * @param code machine-readable reason
   * @param detail human-readable reason, one line
   * @param field JSON-pointer-like location of the offending field, when there is one
   */
  constructor(
    readonly code: ManifestErrorCode,
    readonly detail: string,
    readonly field?: string,
  ) {
    super(field ? `${code}: ${field}: ${detail}` : `${code}: ${detail}`);
    this.name = "ManifestError";
  }
}

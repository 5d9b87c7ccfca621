// `pear-fog verify <manifest> [chunks dir]`: signature, Merkle root and every chunk.
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  checkChunk,
  chunkLocations,
  contentId,
  parseManifest,
  verifyManifest,
} from "../protocol/manifest";
import { ManifestError } from "../protocol/manifest-error";
import { MANIFEST_LIMITS, type Manifest } from "../protocol/manifest-types";
import { parseCommandArgs } from "./args";
import { ChunkDir, nodeSha256 } from "./chunk-dir";
import { CliError, oneLine, UsageError } from "./errors";

/** Read at most `max + 1` bytes, so an oversized file is detected without reading it all. */
function readCapped(path: string, max: number): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const size = statSync(path).size;
    const buf = Buffer.allocUnsafe(Math.min(size, max) + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0 || (n += r) === buf.length) break;
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export interface VerifyResult {
  manifest: Manifest;
  contentId: string;
  /** Chunks checked (0 when no chunks dir). */
  chunksChecked: number;
}

/**
 * Load and check a manifest and, if `chunksDir` is given, every chunk in it.
 * Throws CliError naming the first problem (and how many chunks are bad in all).
 */
export function verifyPublished(
  manifestPath: string,
  chunksDir?: string,
  publisher?: string,
): VerifyResult {
  const what = `verify ${manifestPath}`;
  let bytes: Uint8Array;
  try {
    bytes = readCapped(manifestPath, MANIFEST_LIMITS.maxManifestBytes);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(what, code === "ENOENT" ? "no such file" : oneLine(e));
  }
  let m: Manifest;
  try {
    if (bytes.length > MANIFEST_LIMITS.maxManifestBytes) {
      throw new ManifestError("too_large", `more than ${MANIFEST_LIMITS.maxManifestBytes} bytes`);
    }
    m = parseManifest(bytes);
    verifyManifest(m, publisher, { sha256: nodeSha256 });
  } catch (e) {
    if (e instanceof ManifestError) throw new CliError(what, e.message);
    throw e;
  }
  let checked = 0;
  if (chunksDir !== undefined) {
    const store = new ChunkDir(chunksDir);
    const bad: string[] = [];
    for (const loc of chunkLocations(m)) {
      const f = m.files[loc.file]!;
      const data = store.get(loc.id);
      if (!data) {
        bad.push(
          `bad_chunk: chunk ${loc.index} (${f.path ?? f.uri}): missing ${store.path(loc.id)}`,
        );
        continue;
      }
      try {
        checkChunk(loc, data, nodeSha256);
      } catch (e) {
        if (!(e instanceof ManifestError)) throw e;
        bad.push(`${e.message} (${store.path(loc.id)})`);
      }
      checked++;
    }
    if (bad.length) {
      const more = bad.length > 1 ? ` (and ${bad.length - 1} more bad chunks)` : "";
      throw new CliError(what, bad[0]! + more);
    }
  }
  return { manifest: m, contentId: contentId(m, nodeSha256), chunksChecked: checked };
}

export const VERIFY_HELP = `usage: pear-fog verify <manifest.json> [chunks dir] [--publisher <did:key>] [--no-chunks]

Check a manifest: size caps, canonical encoding, every field, the Merkle root over the chunk
ids, the publisher's Ed25519 signature, and then every chunk file in the chunks directory
(default: 'chunks' next to the manifest) for length and SHA-256. Exit 0 only if all hold.

  --publisher <did>   also require this publisher (did:key:z6Mk...)
  --no-chunks         check the manifest only
`;

export function verifyCommand(argv: string[], out: (s: string) => void): number {
  const p = parseCommandArgs("verify", argv, {
    publisher: { type: "string" },
    "no-chunks": { type: "boolean" },
  });
  if (p.values.help) {
    out(VERIFY_HELP);
    return 0;
  }
  if (p.positionals.length < 1 || p.positionals.length > 2) {
    throw new UsageError("verify", "expected <manifest> [chunks dir] (see pear-fog verify --help)");
  }
  const [manifestPath, dirArg] = p.positionals as [string, string | undefined];
  let chunksDir: string | undefined;
  if (!p.values["no-chunks"]) {
    chunksDir = dirArg ?? join(dirname(manifestPath), "chunks");
    if (!existsSync(chunksDir))
      throw new CliError(
        `verify ${manifestPath}`,
        `no chunks directory ${chunksDir} (use --no-chunks to check the manifest only)`,
      );
  } else if (dirArg !== undefined) {
    throw new UsageError("verify", "--no-chunks and a chunks dir exclude each other");
  }
  const publisher = typeof p.values.publisher === "string" ? p.values.publisher : undefined;
  const r = verifyPublished(manifestPath, chunksDir, publisher);
  const m = r.manifest;
  const nChunks = m.files.reduce((n, f) => n + f.chunks.length, 0);
  out(
    `ok ${m.name} (${m.type}): signature by ${m.publisher}, Merkle root ok, ` +
      (chunksDir === undefined ? "chunks not checked" : `${r.chunksChecked}/${nChunks} chunks ok`) +
      `, ${m.size} bytes\ncontent id ${r.contentId}\n`,
  );
  return 0;
}

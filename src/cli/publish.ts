// `pear-fog publish`: cut content into chunks, write <out>/chunks/<id> and a signed
// <out>/manifest.json. Content: a file, a directory tree, or an HLS/DASH presentation by URL.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseKeyFile, type KeyPair } from "../protocol/ed25519";
import { buildManifest, contentId, encodeManifest, signManifest } from "../protocol/manifest";
import { ManifestError } from "../protocol/manifest-error";
import { isManifestUrl } from "../protocol/manifest-schema";
import { DEFAULT_CHUNK_SIZE, MANIFEST_LIMITS, type Manifest } from "../protocol/manifest-types";
import { intOption, parseCommandArgs, requireString } from "./args";
import { writeFileAtomic } from "./atomic-file";
import { ChunkDir } from "./chunk-dir";
import { CliError, oneLine, UsageError } from "./errors";
import { localSource, streamSource } from "./sources";

/** Defaults of every publish option. */
export const PUBLISH_DEFAULTS = {
  /** Chunk length, bytes (256 KiB). */
  chunkSize: DEFAULT_CHUNK_SIZE,
  /** Manifest `version` field (publisher-chosen integer). */
  contentVersion: 1,
  /** Per-request timeout when fetching playlists, MPDs and segments, milliseconds. */
  fetchTimeoutMs: 30_000,
  /** Largest playlist or MPD fetched, bytes (4 MiB). */
  maxPlaylistBytes: 4 * 1024 * 1024,
  /** Largest media segment fetched, bytes (256 MiB). */
  maxSegmentBytes: 256 * 1024 * 1024,
  /** Most HLS playlists (master + variants + renditions) followed. */
  maxPlaylists: 64,
  /** Segments fetched at once. */
  fetchConcurrency: 4,
  /** fsync every chunk file before renaming it into place (the manifest is always synced). */
  fsyncChunks: false,
};

export interface PublishOptions {
  key: KeyPair;
  outDir: string;
  /** Manifest name; default: file/dir basename or the last URL path segment. */
  name?: string;
  chunkSize?: number;
  contentVersion?: number;
  /** Unix seconds; default now. */
  created?: number;
  /** Origin URLs; for HLS/DASH the playlist/MPD URL is always first. */
  origins?: string[];
  fetchTimeoutMs?: number;
  fsyncChunks?: boolean;
}

export interface PublishResult {
  manifest: Manifest;
  contentId: string;
  manifestPath: string;
  chunksWritten: number;
  chunksReused: number;
}

/** Publish `input` (path or http(s) URL). Nothing but complete files is ever written. */
export async function publish(input: string, opts: PublishOptions): Promise<PublishResult> {
  const o = { ...PUBLISH_DEFAULTS, ...opts };
  const chunkSize = o.chunkSize;
  if (chunkSize < MANIFEST_LIMITS.minChunkSize || chunkSize > MANIFEST_LIMITS.maxChunkSize) {
    throw new UsageError(
      "publish",
      `--chunk-size must be ${MANIFEST_LIMITS.minChunkSize}..${MANIFEST_LIMITS.maxChunkSize} bytes`,
    );
  }
  const isUrl = /^https?:\/\//i.test(input);
  if (!isUrl && !existsSync(input))
    throw new CliError(`publish ${input}`, "no such file or directory");
  const store = new ChunkDir(join(opts.outDir, "chunks"), o.fsyncChunks);
  try {
    store.create();
  } catch (e) {
    throw new CliError(`publish --out ${opts.outDir}`, oneLine(e));
  }
  const src = isUrl
    ? await streamSource(input, chunkSize, store, o)
    : localSource(input, chunkSize, store, opts.outDir);
  let manifest: Manifest;
  try {
    const unsigned = buildManifest({
      type: src.type,
      name: opts.name ?? src.name,
      version: o.contentVersion,
      created: opts.created ?? Math.floor(Date.now() / 1000),
      chunkSize,
      origins: [...src.origins, ...(opts.origins ?? []).filter((u) => !src.origins.includes(u))],
      files: src.files,
      publisher: opts.key.did,
    });
    manifest = signManifest(unsigned, opts.key);
  } catch (e) {
    if (e instanceof ManifestError) throw new CliError(`publish ${input}`, e.message);
    throw e;
  }
  const manifestPath = join(opts.outDir, "manifest.json");
  writeFileAtomic(manifestPath, encodeManifest(manifest));
  return {
    manifest,
    contentId: contentId(manifest),
    manifestPath,
    chunksWritten: store.written,
    chunksReused: store.reused,
  };
}

export const PUBLISH_HELP = `usage: pear-fog publish <file|dir|HLS playlist URL|DASH MPD URL> --key <key file> --out <dir>
                        [--name <name>] [--chunk-size <bytes>] [--content-version <n>]
                        [--origin <url>]... [--created <unix seconds>]

Cut content into chunks named by their SHA-256 and write <out>/chunks/<id> and a signed
<out>/manifest.json (format: docs/manifest.md). Every file is written under a temporary name
and renamed into place; the manifest is written last.

  --key <path>            publisher key file from 'pear-fog keygen'
  --out <dir>             output directory (created if missing)
  --name <name>           content name (default: file/dir name or last URL path segment)
  --chunk-size <bytes>    chunk length, K/M suffixes allowed (default ${PUBLISH_DEFAULTS.chunkSize})
  --content-version <n>   manifest version number (default ${PUBLISH_DEFAULTS.contentVersion})
  --origin <url>          origin URL of the content, repeatable (http/https)
  --created <seconds>     creation time (default: now)
`;

export async function publishCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const p = parseCommandArgs("publish", argv, {
    key: { type: "string", short: "k" },
    out: { type: "string", short: "o" },
    name: { type: "string" },
    "chunk-size": { type: "string" },
    "content-version": { type: "string" },
    origin: { type: "string", multiple: true },
    created: { type: "string" },
  });
  if (p.values.help) {
    out(PUBLISH_HELP);
    return 0;
  }
  if (p.positionals.length !== 1)
    throw new UsageError(
      "publish",
      "expected exactly one <file|dir|URL> (see pear-fog publish --help)",
    );
  const keyPath = requireString("publish", p, "key");
  const outDir = requireString("publish", p, "out");
  let key: KeyPair;
  try {
    key = parseKeyFile(readFileSync(keyPath, { encoding: "utf8" }).slice(0, 8192));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`publish --key ${keyPath}`, code === "ENOENT" ? "no such file" : oneLine(e));
  }
  const origins = (p.values.origin as string[] | undefined) ?? [];
  for (const u of origins) {
    if (!isManifestUrl(u, MANIFEST_LIMITS.maxUrlLength)) {
      throw new UsageError("publish", `--origin ${u}: not an http(s) URL`);
    }
  }
  const r = await publish(p.positionals[0]!, {
    key,
    outDir,
    name: typeof p.values.name === "string" ? p.values.name : undefined,
    chunkSize: intOption("publish", p, "chunk-size", PUBLISH_DEFAULTS.chunkSize, true),
    contentVersion: intOption("publish", p, "content-version", PUBLISH_DEFAULTS.contentVersion),
    created: p.values.created === undefined ? undefined : intOption("publish", p, "created", 0),
    origins,
  });
  const m = r.manifest;
  const nChunks = m.files.reduce((n, f) => n + f.chunks.length, 0);
  out(
    `published ${m.name} (${m.type}): ${m.files.length} files, ${m.size} bytes, ${nChunks} chunks (${r.chunksWritten} written, ${r.chunksReused} already present)\n` +
      `manifest ${r.manifestPath}\ncontent id ${r.contentId}\n`,
  );
  return 0;
}

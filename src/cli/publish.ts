// `pear-fog publish`: cut content into chunks, write <out>/chunks/<id> and a signed
// <out>/manifest.json. Content: a file, a directory tree, or an HLS/DASH presentation by URL.
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  statSync,
} from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseKeyFile, type KeyPair } from "../protocol/ed25519";
import { hexEncode } from "../protocol/hex";
import {
  buildManifest,
  chunkBytes,
  contentId,
  encodeManifest,
  signManifest,
} from "../protocol/manifest";
import { ManifestError } from "../protocol/manifest-error";
import { isManifestUrl } from "../protocol/manifest-schema";
import {
  DEFAULT_CHUNK_SIZE,
  MANIFEST_LIMITS,
  type Manifest,
  type ManifestFile,
  type ManifestType,
} from "../protocol/manifest-types";
import { utf8Decode } from "../protocol/utf8";
import { intOption, parseCommandArgs, requireString } from "./args";
import { writeFileAtomic } from "./atomic-file";
import { ChunkDir, nodeSha256 } from "./chunk-dir";
import { parseMpd } from "./dash";
import { CliError, oneLine, UsageError } from "./errors";
import { fetchBytes } from "./fetch";
import { parseM3u8 } from "./hls";

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

interface Source {
  type: ManifestType;
  name: string;
  origins: string[];
  files: ManifestFile[];
}

function chunkFile(path: string, rel: string, chunkSize: number, store: ChunkDir): ManifestFile {
  const what = `publish ${path}`;
  const size = statSync(path).size;
  const fd = openSync(path, "r");
  const buf = Buffer.allocUnsafe(chunkSize);
  const chunks: ManifestFile["chunks"] = [];
  let total = 0;
  try {
    for (;;) {
      let n = 0;
      while (n < chunkSize) {
        const r = readSync(fd, buf, n, chunkSize - n, null);
        if (r === 0) break;
        n += r;
      }
      if (n === 0) break;
      const bytes = buf.subarray(0, n);
      const id = hexEncode(nodeSha256(bytes));
      store.put(id, bytes);
      chunks.push({ id, size: n });
      total += n;
      if (n < chunkSize) break;
    }
  } finally {
    closeSync(fd);
  }
  if (total !== size)
    throw new CliError(what, `file changed while reading (${size} -> ${total} bytes)`);
  return { path: rel, size, chunks };
}

/** Regular files under `dir`, as sorted '/'-separated relative paths. Refuses symlinks. */
function listTree(dir: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (abs: string, rel: string): void => {
    const entries = readdirSync(abs, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const e of entries) {
      const a = join(abs, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (a === skip) continue;
      if (e.isDirectory()) walk(a, r);
      else if (e.isFile()) out.push(r);
      else
        throw new CliError(
          `publish ${a}`,
          e.isSymbolicLink() ? "symbolic links are not supported" : "not a regular file",
        );
    }
  };
  walk(dir, "");
  return out;
}

function localSource(input: string, chunkSize: number, store: ChunkDir, outDir: string): Source {
  let st;
  try {
    st = statSync(input);
  } catch (e) {
    throw new CliError(
      `publish ${input}`,
      (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : oneLine(e),
    );
  }
  const name = basename(resolve(input));
  if (st.isFile())
    return { type: "file", name, origins: [], files: [chunkFile(input, name, chunkSize, store)] };
  if (!st.isDirectory()) throw new CliError(`publish ${input}`, "not a file, directory or URL");
  const root = realpathSync(input);
  const out = resolve(outDir);
  const outReal = (() => {
    try {
      return realpathSync(out);
    } catch {
      return out;
    }
  })();
  // An output directory inside the input tree is skipped while walking it.
  if (outReal === root) {
    throw new CliError(`publish ${input}`, "--out must not be the published directory itself");
  }
  const files = listTree(root, outReal);
  let chunks = 0;
  for (const f of files) chunks += Math.ceil(statSync(join(root, f)).size / chunkSize);
  if (chunks > MANIFEST_LIMITS.maxChunks) {
    throw new CliError(
      `publish ${input}`,
      `${chunks} chunks, limit ${MANIFEST_LIMITS.maxChunks}; use a larger --chunk-size`,
    );
  }
  if (files.length > MANIFEST_LIMITS.maxFiles)
    throw new CliError(
      `publish ${input}`,
      `${files.length} files, limit ${MANIFEST_LIMITS.maxFiles}`,
    );
  return {
    type: "dir",
    name,
    origins: [],
    files: files.map((f) => chunkFile(join(root, f), f, chunkSize, store)),
  };
}

function text(bytes: Uint8Array, what: string): string {
  const t = utf8Decode(bytes);
  if (t === undefined) throw new CliError(what, "not UTF-8 text");
  return t.replace(/^\ufeff/, "");
}

async function hlsSegments(
  url: string,
  first: string,
  o: typeof PUBLISH_DEFAULTS,
): Promise<string[]> {
  const queue = [url];
  const seen = new Set(queue);
  const segments: string[] = [];
  for (let i = 0; i < queue.length; i++) {
    const u = queue[i]!;
    const body =
      i === 0
        ? first
        : text(
            await fetchBytes(u, { maxBytes: o.maxPlaylistBytes, timeoutMs: o.fetchTimeoutMs }),
            `fetch ${u}`,
          );
    const pl = parseM3u8(body, u);
    for (const p of pl.playlists) {
      if (seen.has(p)) continue;
      if (seen.size >= o.maxPlaylists)
        throw new CliError(`hls ${url}`, `more than ${o.maxPlaylists} playlists`);
      seen.add(p);
      queue.push(p);
    }
    for (const s of pl.segments) if (!segments.includes(s)) segments.push(s);
  }
  if (!segments.length) throw new CliError(`hls ${url}`, "no media segments");
  return segments;
}

async function streamSource(
  url: string,
  chunkSize: number,
  store: ChunkDir,
  o: typeof PUBLISH_DEFAULTS,
): Promise<Source> {
  const body = text(
    await fetchBytes(url, { maxBytes: o.maxPlaylistBytes, timeoutMs: o.fetchTimeoutMs }),
    `fetch ${url}`,
  );
  let type: ManifestType;
  let segments: string[];
  if (body.trimStart().startsWith("#EXTM3U")) {
    type = "hls";
    segments = await hlsSegments(url, body, o);
  } else if (/<(?:\w+:)?MPD[\s>]/.test(body)) {
    type = "dash";
    segments = parseMpd(body, url);
    if (!segments.length) throw new CliError(`dash ${url}`, "no media segments");
  } else {
    throw new CliError(`publish ${url}`, "not an HLS playlist (#EXTM3U) or a DASH MPD");
  }
  if (segments.length > MANIFEST_LIMITS.maxFiles)
    throw new CliError(
      `publish ${url}`,
      `${segments.length} segments, limit ${MANIFEST_LIMITS.maxFiles}`,
    );
  const files: ManifestFile[] = new Array(segments.length);
  let next = 0;
  let chunks = 0;
  const worker = async (): Promise<void> => {
    while (next < segments.length) {
      const i = next++;
      const uri = segments[i]!;
      const data = await fetchBytes(uri, {
        maxBytes: o.maxSegmentBytes,
        timeoutMs: o.fetchTimeoutMs,
      });
      const list = chunkBytes(data, chunkSize, nodeSha256);
      chunks += list.length;
      if (chunks > MANIFEST_LIMITS.maxChunks)
        throw new CliError(
          `publish ${url}`,
          `more than ${MANIFEST_LIMITS.maxChunks} chunks; use a larger --chunk-size`,
        );
      list.forEach((c, k) => store.put(c.id, data.subarray(k * chunkSize, k * chunkSize + c.size)));
      files[i] = { uri, size: data.length, chunks: list };
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.fetchConcurrency, segments.length) }, worker));
  const last = new URL(url).pathname.split("/").filter(Boolean).pop();
  return { type, name: last ?? new URL(url).host, origins: [url], files };
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

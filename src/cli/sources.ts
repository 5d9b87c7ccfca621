// Where publish gets content from: a local file or directory tree, or the segments of an
// HLS/DASH presentation fetched over HTTP(S). Each source chunks and stores as it reads.
import { closeSync, openSync, readdirSync, readSync, realpathSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { hexEncode } from "../protocol/hex";
import { chunkBytes } from "../protocol/manifest";
import { MANIFEST_LIMITS, type ManifestFile, type ManifestType } from "../protocol/manifest-types";
import { utf8Decode } from "../protocol/utf8";
import { type ChunkDir, nodeSha256 } from "./chunk-dir";
import { parseMpd } from "./dash";
import { CliError, oneLine } from "./errors";
import { fetchBytes } from "./fetch";
import { parseM3u8 } from "./hls";

/** Fetch limits of a stream source (defaults in PUBLISH_DEFAULTS, publish.ts). */
export interface StreamOptions {
  /** Per-request timeout, milliseconds. */
  fetchTimeoutMs: number;
  /** Largest playlist or MPD, bytes. */
  maxPlaylistBytes: number;
  /** Largest media segment, bytes. */
  maxSegmentBytes: number;
  /** Most HLS playlists followed. */
  maxPlaylists: number;
  /** Segments fetched at once. */
  fetchConcurrency: number;
}

/** Content read from a local path or a playlist/MPD URL, chunks already stored. */
export interface Source {
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

export function localSource(
  input: string,
  chunkSize: number,
  store: ChunkDir,
  outDir: string,
): Source {
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

async function hlsSegments(url: string, first: string, o: StreamOptions): Promise<string[]> {
  const queue = [url];
  const seen = new Set(queue);
  const segments: string[] = [];
  const segmentSet = new Set<string>();
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
    for (const s of pl.segments) {
      if (!segmentSet.has(s)) segments.push(s);
      segmentSet.add(s);
    }
  }
  if (!segments.length) throw new CliError(`hls ${url}`, "no media segments");
  return segments;
}

export async function streamSource(
  url: string,
  chunkSize: number,
  store: ChunkDir,
  o: StreamOptions,
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
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < segments.length && !failed) {
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
  // The first failure stops the other workers from starting new fetches.
  const guarded = (): Promise<void> =>
    worker().catch((e: unknown) => {
      failed = true;
      throw e;
    });
  await Promise.all(Array.from({ length: Math.min(o.fetchConcurrency, segments.length) }, guarded));
  const last = new URL(url).pathname.split("/").filter(Boolean).pop();
  return { type, name: last ?? new URL(url).host, origins: [url], files };
}

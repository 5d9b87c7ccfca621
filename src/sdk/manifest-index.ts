// The signed manifest the SDK trusts: fetched from manifestUrl, parsed (caps, canonical form),
// verified (Merkle root, Ed25519 signature, expected publisher), then indexed by URL.
//
// URL of a manifest entry: hls/dash → the entry's absolute `uri`; file/dir → `path` resolved
// against every origin (origin treated as a directory), and for type "file" also the origin
// itself. URLs are compared after WHATWG normalisation (new URL(u).href).
import { contentId, parseManifest, verifyManifest } from "../protocol/manifest";
import { ManifestError } from "../protocol/manifest-error";
import type { Manifest, ManifestFile } from "../protocol/manifest-types";
import { SdkError } from "./config";

export interface FileEntry {
  /** The URL it was found under. */
  url: string;
  file: ManifestFile;
  /** Chunk length of the manifest, bytes. */
  chunkSize: number;
}

export class ManifestIndex {
  readonly contentId: string;
  private readonly byUrl = new Map<string, ManifestFile>();
  private readonly position = new Map<ManifestFile, number>();

  constructor(readonly manifest: Manifest) {
    this.contentId = contentId(manifest);
    for (const [i, f] of manifest.files.entries()) {
      this.position.set(f, i);
      if (f.uri) this.add(f.uri, f);
      if (f.path !== undefined) {
        for (const o of manifest.origins) {
          const base = o.endsWith("/") ? o : `${o}/`;
          this.add(new URL(f.path, base).href, f);
          if (manifest.type === "file") this.add(o, f);
        }
      }
    }
  }

  /** The entry for `url`, or undefined if the manifest does not list it. */
  lookup(url: string): FileEntry | undefined {
    const key = normalize(url);
    const file = key === undefined ? undefined : this.byUrl.get(key);
    return file ? { url, file, chunkSize: this.manifest.chunkSize } : undefined;
  }

  /** The file listed after `file` (the next segment of a stream), if any. */
  next(file: ManifestFile): ManifestFile | undefined {
    const i = this.position.get(file);
    return i === undefined ? undefined : this.manifest.files[i + 1];
  }

  /**
   * Where playback starts: the first media file of each playlist group (a file listed right
   * after a playlist, or the first file if it is not one), at most `max`. For a download, the
   * first file.
   */
  starts(max: number): ManifestFile[] {
    const out: ManifestFile[] = [];
    const files = this.manifest.files;
    for (let i = 0; i < files.length && out.length < max; i++) {
      const f = files[i]!;
      if (isPlaylist(f) || f.chunks.length === 0) continue;
      if (i === 0 || isPlaylist(files[i - 1]!)) out.push(f);
    }
    return out;
  }

  private add(url: string, f: ManifestFile): void {
    const key = normalize(url);
    if (key !== undefined && !this.byUrl.has(key)) this.byUrl.set(key, f);
  }
}

/** An HLS or DASH playlist (by its name): hls.js loads those itself, not through the SDK. */
function isPlaylist(f: ManifestFile): boolean {
  const name = (f.uri ?? f.path ?? "").split(/[?#]/)[0]!.toLowerCase();
  return name.endsWith(".m3u8") || name.endsWith(".mpd");
}

function normalize(url: string): string | undefined {
  try {
    const u = new URL(url);
    u.hash = "";
    return u.href;
  } catch {
    return undefined;
  }
}

/**
 * Fetch, parse and verify the manifest. Throws SdkError("manifest"). `onParsed` sees the index
 * after parsing and before the signature check (~2 ms of Ed25519 in JS): a caller may ask the
 * coordinator about its chunks meanwhile, and must use nothing of it unless this resolves.
 */
export async function loadManifest(
  url: string,
  publisher: string,
  fetchFn: typeof fetch,
  timeoutMs: number,
  onParsed?: (unverified: ManifestIndex) => void,
): Promise<ManifestIndex> {
  let bytes: Uint8Array;
  try {
    const res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new SdkError("manifest", `GET ${url}: HTTP ${res.status}`);
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    if (e instanceof SdkError) throw e;
    throw new SdkError("manifest", `GET ${url}: ${(e as Error).message}`);
  }
  try {
    const m = parseManifest(bytes);
    const index = new ManifestIndex(m);
    onParsed?.(index);
    verifyManifest(m, publisher === "" ? undefined : publisher);
    return index;
  } catch (e) {
    if (e instanceof ManifestError) throw new SdkError("manifest", `${url}: ${e.message}`);
    throw e;
  }
}

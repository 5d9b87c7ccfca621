// The chunk files of a published manifest: <dir>/<64-hex chunk id>, each written atomically.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./atomic-file";

/** SHA-256 with node:crypto (OpenSSL), same result as @noble/hashes sha256, faster. */
export function nodeSha256(data: Uint8Array): Uint8Array {
  return createHash("sha256").update(data).digest();
}

export class ChunkDir {
  /** Chunks written by put() so far. */
  written = 0;
  /** Chunks put() found already present with the right size. */
  reused = 0;

  constructor(
    readonly dir: string,
    /** fsync each chunk before renaming it into place. */
    readonly fsync = false,
  ) {}

  path(id: string): string {
    return join(this.dir, id);
  }

  /** Create the directory (and parents). */
  create(): void {
    mkdirSync(this.dir, { recursive: true });
  }

  /**
   * Store chunk `bytes` under `id` (which the caller computed from them). A present file of
   * the same size is kept: names are content hashes, and verify re-hashes every chunk.
   */
  put(id: string, bytes: Uint8Array): void {
    const p = this.path(id);
    try {
      if (statSync(p).size === bytes.length) {
        this.reused++;
        return;
      }
    } catch {
      // absent: write it
    }
    writeFileAtomic(p, bytes, { fsync: this.fsync });
    this.written++;
  }

  /** Bytes of chunk `id`, or undefined if there is no such file. */
  get(id: string): Uint8Array | undefined {
    try {
      return readFileSync(this.path(id));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }
}

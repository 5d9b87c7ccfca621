// Whole-file writes that never leave a partial file under the final name: write to a unique
// temporary name in the same directory, optionally fsync, then rename(2) over the target.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export interface AtomicWriteOptions {
  /** File mode for a new file. Default 0o644. */
  mode?: number;
  /** fsync the data before the rename. Default true. */
  fsync?: boolean;
}

export const ATOMIC_WRITE_DEFAULTS: Required<AtomicWriteOptions> = { mode: 0o644, fsync: true };

/** Temporary name used while writing `path` (dot-prefixed, so listings can skip it). */
export function tempNameFor(path: string): string {
  return join(
    dirname(path),
    `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`,
  );
}

/** Write `data` to `path` atomically. On failure the temporary file is removed. */
export function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  opts: AtomicWriteOptions = {},
): void {
  const o = { ...ATOMIC_WRITE_DEFAULTS, ...opts };
  const tmp = tempNameFor(path);
  const fd = openSync(tmp, "wx", o.mode);
  try {
    try {
      const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      if (o.fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

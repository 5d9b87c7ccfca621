// Deterministic tar (POSIX ustar) and gzip writers for ipk packages.
//
// Every entry gets the same mtime, uid/gid 0 and owner/group "root"; entries are written in
// the order given (callers sort them). gzip comes from node:zlib, whose header carries no
// file name and mtime 0, so equal input gives equal bytes.
//
// Format: POSIX.1-1988 ustar header (512-byte blocks; name/prefix split for long paths),
// as read by GNU tar, busybox tar and opkg's libbb unarchive.
import { gzipSync } from "node:zlib";

/** Tar defaults. */
export const TAR_DEFAULTS = {
  /** Modification time of every entry, seconds since the epoch (SOURCE_DATE_EPOCH if set). */
  mtime: 0,
  /** Owner written for every entry (numeric ids; names as opkg and ipkg-build write them). */
  uid: 0,
  gid: 0,
  uname: "root",
  gname: "root",
  /** zlib level for gzip (9 = smallest, like ipkg-build's `gzip -9n`). */
  gzipLevel: 9,
};

const BLOCK = 512;

export class TarError extends Error {
  /** @param {string} path @param {string} reason */
  constructor(path, reason) {
    super(`tar: ${path}: ${reason}`);
    this.name = "TarError";
    this.path = path;
  }
}

/** @param {Buffer} buf @param {number} off @param {number} len @param {string} s */
function putString(buf, off, len, s, path) {
  const b = Buffer.from(s, "utf8");
  if (b.length > len) throw new TarError(path, `field too long (${b.length} > ${len} bytes)`);
  b.copy(buf, off);
}

/** Octal number field: digits, zero-padded, NUL-terminated (len - 1 digits). */
function putOctal(buf, off, len, n, path) {
  const s = n.toString(8);
  if (s.length > len - 1) throw new TarError(path, `number ${n} does not fit`);
  putString(buf, off, len, s.padStart(len - 1, "0") + "\0", path);
}

/** Splits a path into ustar name (<= 100 bytes) and prefix (<= 155 bytes) at a '/'. */
function splitPath(path) {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: "" };
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== "/") continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) {
      return { name, prefix };
    }
  }
  throw new TarError(path, "path too long for ustar");
}

/**
 * @typedef {{ path: string, type: "file", mode: number, data: Buffer | Uint8Array | string }
 *   | { path: string, type: "dir", mode: number }
 *   | { path: string, type: "symlink", mode?: number, target: string }} TarEntry
 */

/** One ustar header block. */
function header(entry, opts) {
  const h = Buffer.alloc(BLOCK);
  const { name, prefix } = splitPath(entry.path);
  const size = entry.type === "file" ? Buffer.byteLength(entry.data) : 0;
  const mode = entry.type === "symlink" ? (entry.mode ?? 0o777) : entry.mode;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new TarError(entry.path, `bad mode ${mode}`);
  }
  putString(h, 0, 100, name, entry.path);
  putOctal(h, 100, 8, mode, entry.path);
  putOctal(h, 108, 8, opts.uid, entry.path);
  putOctal(h, 116, 8, opts.gid, entry.path);
  putOctal(h, 124, 12, size, entry.path);
  putOctal(h, 136, 12, opts.mtime, entry.path);
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  h[156] = { file: 0x30, dir: 0x35, symlink: 0x32 }[entry.type];
  if (entry.type === "symlink") putString(h, 157, 100, entry.target, entry.path);
  putString(h, 257, 6, "ustar\0", entry.path);
  putString(h, 263, 2, "00", entry.path);
  putString(h, 265, 32, opts.uname, entry.path);
  putString(h, 297, 32, opts.gname, entry.path);
  putOctal(h, 329, 8, 0, entry.path);
  putOctal(h, 337, 8, 0, entry.path);
  putString(h, 345, 155, prefix, entry.path);
  let sum = 0;
  for (const b of h) sum += b;
  putString(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ", entry.path);
  return h;
}

/**
 * A tar archive of entries, in the order given.
 * @param {TarEntry[]} entries
 * @param {Partial<typeof TAR_DEFAULTS>} [options]
 * @returns {Buffer}
 */
export function tarPack(entries, options = {}) {
  const opts = { ...TAR_DEFAULTS, ...options };
  const parts = [];
  const seen = new Set();
  for (const e of entries) {
    if (seen.has(e.path)) throw new TarError(e.path, "duplicate entry");
    seen.add(e.path);
    parts.push(header(e, opts));
    if (e.type === "file") {
      const data = Buffer.from(e.data);
      parts.push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK)); // end of archive: two zero blocks
  return Buffer.concat(parts);
}

/**
 * gzip with a fixed header (no name, mtime 0): same input, same bytes.
 * @param {Buffer} data
 * @param {number} [level]
 */
export function gzip(data, level = TAR_DEFAULTS.gzipLevel) {
  return gzipSync(data, { level });
}

/**
 * The directory entries ("./a/", "./a/b/") that files under `paths` need, plus "./".
 * @param {string[]} paths entries like "./usr/sbin/pear-fogd"
 * @returns {string[]}
 */
export function parentDirs(paths) {
  const dirs = new Set(["./"]);
  for (const p of paths) {
    const parts = p.replace(/^\.\//, "").split("/");
    for (let i = 1; i < parts.length; i++) dirs.add("./" + parts.slice(0, i).join("/") + "/");
  }
  return [...dirs];
}

// A cpio "newc" archive writer (the format the Linux kernel unpacks as an initramfs), so the
// test images need neither the cpio package nor root: every entry is owned by 0:0.
//
//   const c = new Cpio(); c.dir("/etc"); c.file("/init", bytes, 0o755); c.symlink("/var", "tmp");
//   gzipSync(c.finish())
import { posix } from "node:path";

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

function hex8(n) {
  return n.toString(16).padStart(8, "0");
}

function pad4(len) {
  return (4 - (len % 4)) % 4;
}

export class Cpio {
  constructor({ mtime = 0 } = {}) {
    this.parts = [];
    this.ino = 1;
    this.mtime = mtime;
    this.seen = new Set();
  }

  entry(name, mode, data = Buffer.alloc(0)) {
    const n = name.replace(/^\/+/, "") || ".";
    const nameBuf = Buffer.from(n + "\0");
    const header =
      "070701" +
      hex8(this.ino++) +
      hex8(mode) +
      hex8(0) + // uid
      hex8(0) + // gid
      hex8(1) + // nlink
      hex8(this.mtime) +
      hex8(data.length) +
      hex8(0) + // devmajor
      hex8(0) +
      hex8(0) + // rdevmajor
      hex8(0) +
      hex8(nameBuf.length) +
      hex8(0); // check
    this.parts.push(Buffer.from(header, "ascii"), nameBuf);
    this.parts.push(Buffer.alloc(pad4(110 + nameBuf.length)));
    if (data.length) {
      this.parts.push(data, Buffer.alloc(pad4(data.length)));
    }
  }

  /** Parent directories of `path` that were not added yet. */
  parents(path) {
    const dirs = [];
    for (let d = posix.dirname(path); d !== "/" && d !== "."; d = posix.dirname(d)) dirs.push(d);
    for (const d of dirs.reverse()) this.dir(d);
  }

  dir(path, mode = 0o755) {
    if (this.seen.has(path)) return;
    this.parents(path);
    this.seen.add(path);
    this.entry(path, S_IFDIR | mode);
  }

  file(path, data, mode = 0o644) {
    this.parents(path);
    this.seen.add(path);
    this.entry(path, S_IFREG | mode, Buffer.isBuffer(data) ? data : Buffer.from(data));
  }

  symlink(path, target) {
    this.parents(path);
    this.seen.add(path);
    this.entry(path, S_IFLNK | 0o777, Buffer.from(target));
  }

  /** The archive with its trailer. */
  finish() {
    this.entry("TRAILER!!!", 0);
    const out = Buffer.concat(this.parts);
    // The kernel reads archives in 512-byte blocks; pad like cpio(1) does.
    return Buffer.concat([out, Buffer.alloc((512 - (out.length % 512)) % 512)]);
  }
}

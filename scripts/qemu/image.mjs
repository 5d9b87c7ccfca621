#!/usr/bin/env node
// QEMU test images of pear-fog routers: a Debian kernel for the router's CPU, an initramfs
// with busybox-static of that arch laid out like OpenWrt (/etc/config, /etc/init.d,
// /etc/rc.common, /lib/functions, /overlay, /var -> /tmp) plus this image's stand-ins for
// what OpenWrt has and Debian does not (uci, procd, opkg: images/qemu/rootfs/), and the pear-fog
// ipk built from the router build, to be installed by the guest as opkg would.
//
//   node scripts/qemu/image.mjs --arch mipsel_24kc|armhf|arm64|all [--no-ipk] [--json]
//
// Downloads (kernel and busybox-static .debs, through the private apt config of
// scripts/router/apt.mjs) and what is extracted from them live under
// $PEAR_FOG_CACHE/qemu/<arch>/ (default ~/.cache/pear-fog); nothing in the work tree.
// See docs/qemu.md.
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { ensureAptPackages } from "../bootstrap.mjs";
import { debFile, origTarball, resolveVersion, sourceDir } from "../router/apt.mjs";
import { archOf } from "../router/arches.mjs";
import { ensureToolchain } from "../router/toolchain.mjs";
import {
  acquireLock,
  defaults,
  keyOf,
  ROOT,
  run,
  RouterBuildError,
  stamp,
  stamped,
} from "../router/lib.mjs";
import { Cpio } from "./cpio.mjs";
import { QEMU_ARCH_NAMES, qemuArch } from "./arches.mjs";

export const ROOTFS = join(ROOT, "images", "qemu", "rootfs");

/** <cache>/qemu[/...parts], created. */
export function qemuCache(...parts) {
  const dir = join(defaults.cache, "qemu", ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function say(msg) {
  process.stderr.write(`[qemu-image] ${msg}\n`);
}

/**
 * qemu-system for the arches (system-wide, scripts/bootstrap.mjs's installer):
 * qemu-system-mips (mipsel) and qemu-system-arm (armhf and arm64).
 */
export function ensureQemuPackages(arches) {
  try {
    ensureAptPackages([...new Set(arches.map((a) => a.package))]);
  } catch (e) {
    throw new RouterBuildError("qemu packages", e.message);
  }
}

/** Extracts members matching `patterns` (tar wildcards) of a .deb's data into `into`. */
function extractFromDeb(deb, into, patterns) {
  mkdirSync(into, { recursive: true });
  // A pattern that matches nothing makes tar complain; what is needed is checked afterwards.
  const r = spawnSync(
    "sh",
    [
      "-c",
      'd="$1"; i="$2"; shift 2; dpkg-deb --fsys-tarfile "$d" | tar -x -C "$i" --wildcards "$@"',
      "sh",
      deb,
      into,
      ...patterns,
    ],
    { encoding: "utf8" },
  );
  const errs = (r.stderr ?? "")
    .split("\n")
    .filter((l) => l && !/Exiting with failure|Not found in archive/.test(l));
  if (errs.length) throw new RouterBuildError("extract", `${deb}: ${errs.join("\n")}`);
}

function findFiles(dir, test, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) findFiles(p, test, out);
    else if (test(name, p)) out.push(p);
  }
  return out;
}

/**
 * Kernel, NIC modules and busybox-static for one arch, from Debian bookworm (cached; the
 * stamp names the resolved versions). Returns { kernel, modules: [paths], busybox, versions }.
 */
export function ensureGuestParts(arch, { refresh = false } = {}) {
  const dir = qemuCache(arch.short);
  const metaVersion = resolveVersion("bookworm", arch.kernelMeta, { arch: arch.debArch, refresh });
  const bbVersion = resolveVersion("bookworm", "busybox-static", { arch: arch.debArch, refresh });
  const key = keyOf({
    metaVersion,
    bbVersion,
    modules: arch.modules,
    file: String(arch.kernelFile),
  });
  const partsDir = join(dir, "parts");
  const infoFile = join(partsDir, "parts.json");
  if (stamped(partsDir, key) && existsSync(infoFile))
    return JSON.parse(readFileSync(infoFile, "utf8"));

  say(`${arch.short}: kernel ${arch.kernelMeta} ${metaVersion}, busybox-static ${bbVersion}`);
  const meta = debFile("bookworm", arch.kernelMeta, arch.debArch, metaVersion);
  const depends = run("dpkg-deb -f", "dpkg-deb", ["-f", meta, "Depends"], { capture: true });
  const imagePkg = /(linux-image-[0-9][^\s,(]*)/.exec(depends)?.[1];
  if (!imagePkg)
    throw new RouterBuildError(
      "kernel",
      `no linux-image-<abi> in ${arch.kernelMeta}'s Depends: ${depends}`,
    );
  const imageVersion = resolveVersion("bookworm", imagePkg, { arch: arch.debArch, refresh });
  const imageDeb = debFile("bookworm", imagePkg, arch.debArch, imageVersion);
  const bbDeb = debFile("bookworm", "busybox-static", arch.debArch, bbVersion);

  const x = join(partsDir, "x");
  spawnSync("rm", ["-rf", partsDir]);
  extractFromDeb(imageDeb, x, ["./boot/vmlinu*", ...arch.modules.map((m) => `*/${m}.ko*`)]);
  extractFromDeb(bbDeb, x, ["./bin/busybox"]);
  const kernel = findFiles(join(x, "boot"), (n) => arch.kernelFile.test(n))[0];
  if (!kernel) throw new RouterBuildError("kernel", `no /boot/${arch.kernelFile} in ${imageDeb}`);
  const modules = arch.modules.map((m) => {
    const f = findFiles(join(x, "lib"), (n) => n === `${m}.ko` || n.startsWith(`${m}.ko.`))[0];
    if (!f) throw new RouterBuildError("kernel", `module ${m} not in ${imageDeb}`);
    if (!f.endsWith(".ko"))
      throw new RouterBuildError("kernel", `${f}: compressed modules not handled`);
    return f;
  });
  const info = {
    kernel,
    modules,
    busybox: join(x, "bin", "busybox"),
    versions: { kernel: `${imagePkg} ${imageVersion}`, busybox: `busybox-static ${bbVersion}` },
  };
  writeFileSync(infoFile, JSON.stringify(info, null, 2));
  stamp(partsDir, key);
  return info;
}

/**
 * A soft-float busybox for an FPU-less router CPU (mipsel 24Kc), as OpenWrt's is: Debian's
 * busybox-static for mipsel is hard-float, and on a 24Kc every floating-point instruction (awk
 * does all its arithmetic in doubles) traps into the kernel's FPU emulator. That made the
 * shell side of the image (uci, the init script's awk) several times slower than on a router
 * and is not what a router runs. Built from Debian's busybox source with the router build's
 * musl toolchain (scripts/router/toolchain.mjs): defconfig, static, without `tc` (does not
 * build against current kernel headers). Cached under <cache>/qemu/<arch>/busybox/.
 */
export function ensureSoftFloatBusybox(arch, { refresh = false } = {}) {
  // the router build's toolchain is shared: build under its lock (a concurrent
  // build-router may be making the same toolchain)
  const release = acquireLock();
  try {
    return buildSoftFloatBusybox(arch, refresh);
  } finally {
    release();
  }
}

function buildSoftFloatBusybox(arch, refresh) {
  const ra = archOf(arch.openwrt);
  const tc = ensureToolchain(ra, { refresh });
  const version = resolveVersion("bookworm", "busybox", { source: true, refresh });
  const dir = qemuCache(arch.short, "busybox");
  const out = join(dir, "busybox");
  const key = keyOf({
    version,
    tc: tc.versions,
    cflags: ra.cflags,
    config: "defconfig static -tc",
  });
  if (stamped(dir, key) && existsSync(out))
    return { busybox: out, version: `busybox ${version} (soft-float, from source)` };
  const src = origTarball(sourceDir("bookworm", "busybox", version));
  const work = join(dir, "src");
  const logFile = join(dir, "build.log");
  say(`${arch.short}: building soft-float busybox ${version} from source (~2 min)`);
  spawnSync("rm", ["-rf", work]);
  mkdirSync(work, { recursive: true });
  run("busybox source", "tar", ["-xf", src, "-C", work, "--strip-components=1"], { logFile });
  const mk = ["-C", work, `CROSS_COMPILE=${ra.triple}-`, `CC=${tc.cc}`, "HOSTCC=cc"];
  run("busybox defconfig", "make", [...mk, "defconfig"], { logFile });
  const cfgFile = join(work, ".config");
  const cfg = readFileSync(cfgFile, "utf8")
    .replace(/^# CONFIG_STATIC is not set$/m, "CONFIG_STATIC=y")
    .replace(/^CONFIG_TC=y$/m, "# CONFIG_TC is not set")
    .replace(/^CONFIG_FEATURE_TC_INGRESS=y$/m, "");
  writeFileSync(cfgFile, cfg);
  run(
    "busybox oldconfig",
    "sh",
    ["-c", `yes "" | make ${mk.map((a) => `'${a}'`).join(" ")} oldconfig`],
    { logFile },
  );
  run("busybox build", "make", [...mk, `-j${defaults.jobs}`, "busybox"], { logFile, nice: true });
  const fpu = spawnSync(
    "sh",
    ["-c", `${ra.triple}-objdump -d "$1" | grep -c '\\$f[0-9]'`, "sh", join(work, "busybox")],
    {
      encoding: "utf8",
    },
  );
  if (fpu.stdout.trim() !== "0")
    throw new RouterBuildError(
      "busybox",
      `${fpu.stdout.trim()} FPU instructions in busybox`,
      logFile,
    );
  run("busybox copy", "cp", [join(work, "busybox"), out]);
  spawnSync("rm", ["-rf", work]);
  stamp(dir, key);
  return { busybox: out, version: `busybox ${version} (soft-float, from source)` };
}

/** dist/<arch>/pear-fogd (scripts/build-router.mjs, cached) and its ipk (scripts/ipk). */
export function ensureIpk(arch) {
  const bin = join(ROOT, "dist", arch.openwrt, "pear-fogd");
  // PEAR_FOG_QEMU_PREBUILT=1 takes dist/<arch>/pear-fogd as it is (while another router build
  // holds the build lock, say); otherwise the router build runs (a no-op relink when cached).
  if (process.env.PEAR_FOG_QEMU_PREBUILT === "1" && existsSync(bin)) {
    say(`${arch.short}: PEAR_FOG_QEMU_PREBUILT=1: ${bin} as it is`);
  } else {
    say(`${arch.short}: router build of pear-fogd (cached under $PEAR_FOG_CACHE/router)`);
    const r = spawnSync(
      "node",
      ["scripts/build-router.mjs", "--arch", arch.openwrt, "--no-verify"],
      {
        cwd: ROOT,
        encoding: "utf8",
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    if (r.status !== 0) throw new RouterBuildError("build-router", (r.stderr ?? "").slice(-3000));
  }
  // a fresh feed dir: an ipk of an older version must not be picked up
  spawnSync("rm", ["-rf", join(defaults.cache, "qemu", arch.short, "feed")]);
  const out = qemuCache(arch.short, "feed");
  const p = spawnSync(
    "node",
    ["scripts/ipk/build.mjs", "--arch", arch.openwrt, "--bin", bin, "--out", out],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  if (p.status !== 0) throw new RouterBuildError("build-ipk", `${p.stdout}${p.stderr}`);
  const ipk = readdirSync(out).find((f) => f.startsWith("pear-fog_") && f.endsWith(".ipk"));
  if (!ipk) throw new RouterBuildError("build-ipk", `no pear-fog_*.ipk in ${out}`);
  return join(out, ipk);
}

/** Empty directories of the image (git keeps none in images/qemu/rootfs/). */
const GUEST_DIRS = [
  "/dev",
  "/proc",
  "/sys",
  "/tmp",
  "/root",
  "/overlay",
  "/etc/config",
  "/etc/init.d",
  "/etc/rc.d",
  "/etc/uci-defaults",
  "/usr/lib/opkg/info",
];

/** Every file of images/qemu/rootfs/ into the archive, modes as in the tree. */
function addTree(cpio, dir, prefix = "") {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    const at = `${prefix}/${name}`;
    if (st.isDirectory()) {
      cpio.dir(at);
      addTree(cpio, p, at);
    } else {
      cpio.file(at, readFileSync(p), st.mode & 0o111 ? 0o755 : 0o644);
    }
  }
}

/**
 * The initramfs (gzip'd newc cpio): busybox, the NIC modules, images/qemu/rootfs/, and
 * `extra` files ({ guestPath: hostPath }), e.g. the ipk under /root/pkgs/.
 */
export function buildInitramfs(arch, parts, extra = {}, out) {
  const c = new Cpio();
  for (const d of GUEST_DIRS) c.dir(d);
  c.symlink("/var", "tmp");
  c.file("/bin/busybox", readFileSync(parts.busybox), 0o755);
  c.symlink("/bin/sh", "busybox");
  addTree(c, ROOTFS);
  parts.modules.forEach((m, i) =>
    c.file(`/lib/modules/qemu/${i}-${arch.modules[i]}.ko`, readFileSync(m)),
  );
  c.file(
    "/etc/qemu-image",
    [
      `arch=${arch.openwrt}`,
      `console=${arch.console}`,
      `kernel=${parts.versions.kernel}`,
      `busybox=${parts.versions.busybox}`,
      "",
    ].join("\n"),
  );
  for (const [guest, host] of Object.entries(extra)) c.file(guest, readFileSync(host));
  const file = out ?? join(qemuCache(arch.short), "initramfs.cpio.gz");
  // written beside and renamed: a QEMU of another run may be reading the previous one
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, gzipSync(c.finish(), { level: 6 }));
  renameSync(tmp, file);
  return file;
}

/** Everything for one arch: { arch, kernel, initrd, ipk, versions }. */
export function ensureImage(name, { ipk = true, refresh = false } = {}) {
  const arch = qemuArch(name);
  ensureQemuPackages([arch]);
  // the router build first: it makes the toolchain the mipsel busybox is built with
  const ipkFile = ipk ? ensureIpk(arch) : null;
  let parts = ensureGuestParts(arch, { refresh });
  if (arch.softFloatBusybox) {
    const bb = ensureSoftFloatBusybox(arch, { refresh });
    parts = { ...parts, busybox: bb.busybox, versions: { ...parts.versions, busybox: bb.version } };
  }
  const extra = ipkFile ? { [`/root/pkgs/${ipkFile.split("/").pop()}`]: ipkFile } : {};
  const initrd = buildInitramfs(arch, parts, extra);
  return { arch, kernel: parts.kernel, initrd, ipk: ipkFile, versions: parts.versions };
}

async function main() {
  const { values } = parseArgs({
    options: {
      arch: { type: "string", multiple: true },
      ipk: { type: "boolean", default: true },
      refresh: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
    allowNegative: true,
  });
  const names = (values.arch ?? ["mipsel_24kc"]).flatMap((a) =>
    a === "all" ? QEMU_ARCH_NAMES : [a],
  );
  for (const n of names) {
    const img = ensureImage(n, { ipk: values.ipk, refresh: values.refresh });
    const rel = (p) => (p.startsWith(ROOT) ? relative(ROOT, p) : p);
    if (values.json) console.log(JSON.stringify({ ...img, arch: img.arch.openwrt }));
    else
      console.log(
        `${img.arch.openwrt}: kernel ${rel(img.kernel)}\n  initrd ${rel(img.initrd)}\n  ipk ${img.ipk ? rel(img.ipk) : "-"}`,
      );
  }
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
}

#!/usr/bin/env node
// Builds the pear-fog ipk packages and an opkg feed index without the OpenWrt SDK.
//
//   node scripts/ipk/build.mjs --arch x86_64 [--bin PATH] [--out DIR] [--key FILE.sec]
//   node scripts/ipk/build.mjs --gen-key DIR     (usign key pair for signing the feed)
//
// Output in DIR (default dist/feed/<arch>/): pear-fog_<ver>-r<rel>_<arch>.ipk,
// luci-app-pear-fog_<ver>-r<rel>_all.ipk, Packages, Packages.gz and, with --key,
// Packages.sig.  The binary defaults to dist/<arch>/pear-fogd (scripts/build-router.mjs); its
// ELF machine must match --arch.  Version: package.json "version"; release: PKG_RELEASE in
// openwrt/Makefile (the SDK package's), so both builds name the same version.
//
// The file layout (PEARFOG_FILES, LUCI_FILES) is the one openwrt/Makefile and
// openwrt/luci-app-pear-fog install; test/openwrt/ipk.test.ts checks they agree.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildIndex, buildIpk, usignGenerate, usignSign } from "./ipk.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const OPENWRT = join(ROOT, "openwrt");

/** Build defaults (each overridable by a flag of the same name). */
export const BUILD_DEFAULTS = {
  /** Target architecture, OpenWrt spelling. */
  arch: "x86_64",
  /** pear-fogd binary; "" = dist/<arch>/pear-fogd. */
  bin: "",
  /** Output directory; "" = dist/feed/<arch>. */
  out: "",
  /** usign secret key for Packages.sig; "" = unsigned feed. */
  key: "",
};

/** ELF e_machine (and byte order) per OpenWrt architecture. */
const ELF_MACHINE = {
  x86_64: { machine: 62, little: true },
  "aarch64_cortex-a53": { machine: 183, little: true },
  "arm_cortex-a7_neon-vfpv4": { machine: 40, little: true },
  mipsel_24kc: { machine: 8, little: true },
  mips_24kc: { machine: 8, little: false },
};

/** pear-fog package: install path → [source under openwrt/files, mode]. */
export const PEARFOG_FILES = {
  "/usr/sbin/pear-fog": ["pear-fog.cli", 0o755],
  "/etc/init.d/pear-fog": ["pear-fog.init", 0o755],
  "/etc/config/pear-fog": ["pear-fog.config", 0o644],
  "/etc/uci-defaults/90-pear-fog": ["pear-fog.uci-defaults", 0o755],
  "/usr/libexec/rpcd/pear-fog": ["pear-fog.rpcd", 0o755],
  "/usr/share/rpcd/acl.d/pear-fog.json": ["pear-fog.acl.json", 0o644],
  "/usr/share/pear-fog/lib.sh": ["pear-fog.lib.sh", 0o644],
  "/usr/libexec/pear-fog/wifi-context": ["pear-fog.wifi", 0o755],
  // the node key (the node's identity) survives sysupgrade
  "/lib/upgrade/keep.d/pear-fog": ["pear-fog.keep", 0o644],
};
export const PEARFOG_CONFFILES = ["/etc/config/pear-fog"];

const DESCRIPTION = `pear-fog node daemon: serves signed content chunks to browsers over WebRTC
data channels (ICE-lite, DTLS, SCTP), with a chunk store, upload limits, procd
service, UCI configuration, rpcd plugin (ubus pear-fog) and the pear-fog CLI.`;

const LUCI_DESCRIPTION = `LuCI support for pear-fog: settings (UCI pear-fog) and a live status page.`;

function fail(msg) {
  process.stderr.write(`build-ipk: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { ...BUILD_DEFAULTS, genKey: "" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.replace(/^--/, "").replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!a.startsWith("--") || !(name in opts) || i + 1 >= argv.length) {
      fail(`usage: build.mjs --arch ARCH [--bin PATH] [--out DIR] [--key FILE] | --gen-key DIR`);
    }
    opts[name] = argv[++i];
  }
  return opts;
}

/** PKG_* values from openwrt/Makefile. */
export function readMakefileVars() {
  const mk = readFileSync(join(OPENWRT, "Makefile"), "utf8");
  const get = (v) => new RegExp(`^${v}:=(.*)$`, "m").exec(mk)?.[1]?.trim();
  return { version: get("PKG_VERSION"), release: get("PKG_RELEASE"), license: get("PKG_LICENSE") };
}

/** Checks the ELF header: machine matches arch; returns whether it is dynamically linked. */
function inspectElf(path, arch) {
  const b = readFileSync(path);
  if (b.length < 64 || b.toString("latin1", 0, 4) !== "\x7fELF") fail(`${path}: not an ELF file`);
  const is64 = b[4] === 2;
  const little = b[5] === 1;
  const u16 = (o) => (little ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o) => (little ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const want = ELF_MACHINE[arch];
  if (!want) fail(`no ELF machine known for ${arch}`);
  if (u16(18) !== want.machine || little !== want.little) {
    fail(`${path}: ELF machine ${u16(18)} (${little ? "LE" : "BE"}) is not ${arch}`);
  }
  const phoff = is64 ? Number(little ? b.readBigUInt64LE(32) : b.readBigUInt64BE(32)) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  for (let i = 0; i < phnum; i++) if (u32(phoff + i * phentsize) === 3) return true; // PT_INTERP
  return false;
}

/**
 * The OpenWrt packages a dynamically linked pear-fogd needs, from the sonames in its dynamic
 * string table (DT_NEEDED entries): libmbedtls (the SDK build, openwrt/Makefile) or
 * libopenssl3 (a TLS=openssl build), and libusrsctp.
 */
function dynamicDepends(b) {
  const strings = b.toString("latin1");
  const needs = (lib) => new RegExp(`\\0${lib}\\.so[.0-9]*\\0`).test(strings);
  return [
    needs("libmbed(tls|x509|crypto)") && "libmbedtls",
    needs("lib(ssl|crypto)") && "libopenssl3",
    needs("libusrsctp") && "libusrsctp",
  ].filter(Boolean);
}

function sourceDateEpoch() {
  if (process.env.SOURCE_DATE_EPOCH) return Number(process.env.SOURCE_DATE_EPOCH);
  try {
    return Number(execFileSync("git", ["-C", ROOT, "log", "-1", "--format=%ct"]).toString().trim());
  } catch {
    return 0;
  }
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

/** luci-app-pear-fog files: htdocs/ → /www/, root/ → / (as luci.mk installs them). */
export function luciFiles() {
  const app = join(OPENWRT, "luci-app-pear-fog");
  const files = [];
  for (const [sub, prefix] of [
    ["htdocs", "/www"],
    ["root", ""],
  ]) {
    for (const p of walk(join(app, sub))) {
      files.push({
        path: `${prefix}/${relative(join(app, sub), p)}`,
        mode: 0o644,
        data: readFileSync(p),
      });
    }
  }
  return files;
}

/** Builds both packages and the index; returns what was written. */
export function buildFeed(opts) {
  const arch = opts.arch;
  const bin = opts.bin || join(ROOT, "dist", arch, "pear-fogd");
  if (!existsSync(bin)) fail(`${bin}: no pear-fogd binary (build it, or pass --bin)`);
  const dynamic = inspectElf(bin, arch) ? dynamicDepends(readFileSync(bin)) : [];
  if (dynamic.length) {
    process.stderr.write(
      `build-ipk: warning: ${bin} is dynamically linked; Depends adds ${dynamic.join(", ")}\n`,
    );
  }
  const mk = readMakefileVars();
  const pkgJson = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  if (mk.version !== pkgJson.version) {
    fail(`openwrt/Makefile PKG_VERSION ${mk.version} != package.json version ${pkgJson.version}`);
  }
  if (!/^[0-9]+$/.test(mk.release ?? "")) fail(`PKG_RELEASE '${mk.release}' is not an integer`);
  const version = `${mk.version}-r${mk.release}`;
  const epoch = sourceDateEpoch();
  const common = {
    Version: version,
    License: mk.license ?? pkgJson.license,
    SourceDateEpoch: String(epoch),
    Maintainer: "pear-fog developers",
  };
  const files = [
    { path: "/usr/sbin/pear-fogd", mode: 0o755, data: readFileSync(bin) },
    ...Object.entries(PEARFOG_FILES).map(([path, [src, mode]]) => ({
      path,
      mode,
      data: readFileSync(join(OPENWRT, "files", src)),
    })),
  ];
  const core = buildIpk({
    control: {
      Package: "pear-fog",
      ...common,
      // ca-bundle: the embedded agent's TLS to the coordinator (CA certificates under
      // /etc/ssl, which either TLS backend reads).
      Depends: ["libc", "ca-bundle", ...dynamic].join(", "),
      Source: "feeds/pearfog/openwrt",
      SourceName: "pear-fog",
      Section: "net",
      "Require-User": "pear-fog=470:pear-fog=470",
      Architecture: arch,
      Description: DESCRIPTION,
    },
    files,
    conffiles: PEARFOG_CONFFILES,
    scripts: {
      postinst: readFileSync(join(OPENWRT, "files", "pear-fog.postinst"), "utf8"),
      prerm: readFileSync(join(OPENWRT, "files", "pear-fog.prerm"), "utf8"),
    },
    mtime: epoch,
  });
  const luci = buildIpk({
    control: {
      Package: "luci-app-pear-fog",
      ...common,
      Depends: "libc, pear-fog, luci-base",
      Source: "feeds/pearfog/openwrt/luci-app-pear-fog",
      SourceName: "luci-app-pear-fog",
      Section: "luci",
      Architecture: "all",
      Description: LUCI_DESCRIPTION,
    },
    files: luciFiles(),
    mtime: epoch,
  });
  const out = opts.out || join(ROOT, "dist", "feed", arch);
  mkdirSync(out, { recursive: true });
  for (const p of [core, luci]) writeFileSync(join(out, p.filename), p.ipk);
  const index = buildIndex([core, luci]);
  writeFileSync(join(out, "Packages"), index.packages);
  writeFileSync(join(out, "Packages.gz"), index.packagesGz);
  const written = [core.filename, luci.filename, "Packages", "Packages.gz"];
  if (opts.key) {
    writeFileSync(
      join(out, "Packages.sig"),
      usignSign(readFileSync(opts.key, "utf8"), index.packages),
    );
    written.push("Packages.sig");
  }
  return { out, written };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.genKey) {
    const k = usignGenerate();
    mkdirSync(opts.genKey, { recursive: true });
    writeFileSync(join(opts.genKey, `${k.keynum}.sec`), k.secretKey, { mode: 0o600 });
    writeFileSync(join(opts.genKey, k.keynum), k.publicKey);
    process.stdout.write(
      `${join(opts.genKey, k.keynum)}  (public: copy to the router's /etc/opkg/keys/${k.keynum})\n`,
    );
    return;
  }
  const { out, written } = buildFeed(opts);
  for (const f of written) process.stdout.write(`${join(out, f)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();

// ipk packages and the opkg feed index, without the OpenWrt SDK.
//
// Package layout, as OpenWrt's scripts/ipkg-build writes it and opkg (24.10, opkg-lede)
// reads it: an outer gzip'd tar holding ./debian-binary ("2.0\n"), ./data.tar.gz and
// ./control.tar.gz, in that order.  opkg's libbb unarchive accepts this form as well as the
// Debian ar form; ipkg-build has produced the tar.gz form since OpenWrt 18.06, so that is
// what routers are fed today.
//
// control.tar.gz: ./control (RFC 822-style fields), ./conffiles (one absolute path a line,
// files opkg keeps on upgrade/removal if changed), ./postinst, ./prerm (mode 0755).
// data.tar.gz: the files, "./"-prefixed, directories first, sorted.
//
// Index: ipkg-make-index.sh output — one stanza a package (control fields, then Filename,
// Size, SHA256sum, Description), a blank line between; Packages.gz is the same text gzip'd;
// Packages.sig is a usign (Ed25519) signature of Packages, checked by opkg when
// /etc/opkg.conf has `option check_signature` (the 24.10 default).
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from "node:crypto";
import { gzip, parentDirs, tarPack } from "./tar.mjs";

/** Architecture names as OpenWrt spells them (ARCH_PACKAGES), plus "all". */
export const OPENWRT_ARCHS = [
  "mipsel_24kc",
  "mips_24kc",
  "arm_cortex-a7_neon-vfpv4",
  "aarch64_cortex-a53",
  "x86_64",
  "all",
];

/** Fields every control file needs, in the order ipkg-build writes them. */
export const CONTROL_FIELD_ORDER = [
  "Package",
  "Version",
  "Depends",
  "Source",
  "SourceName",
  "License",
  "Section",
  "Require-User",
  "SourceDateEpoch",
  "Maintainer",
  "Architecture",
  "Installed-Size",
  "Description",
];

export class IpkError extends Error {
  /** @param {string} pkg @param {string} reason */
  constructor(pkg, reason) {
    super(`ipk ${pkg}: ${reason}`);
    this.name = "IpkError";
    this.pkg = pkg;
  }
}

/**
 * @typedef {{ Package: string, Version: string, Architecture: string, Description: string,
 *   [field: string]: string | undefined }} Control
 * @typedef {{ path: string, mode: number, data: Buffer | string } | { path: string, link: string }} PkgFile
 *   path is absolute ("/usr/sbin/pear-fogd"); `link` makes a symlink.
 * @typedef {{ control: Control, files: PkgFile[], conffiles?: string[],
 *   scripts?: { postinst?: string, prerm?: string, postrm?: string, preinst?: string },
 *   mtime?: number }} IpkSpec
 */

const NAME_RE = /^[a-z0-9][a-z0-9+.-]*$/;
// Version: upstream version + "-r" + integer release (apk-compatible, as OpenWrt 24.10 names).
const VERSION_RE = /^[0-9][0-9A-Za-z.~+_]*-r[0-9]+$/;

/** Checks a control record; throws IpkError naming the field. */
export function validateControl(c) {
  const pkg = c.Package ?? "?";
  for (const f of ["Package", "Version", "Architecture", "Description"]) {
    if (!c[f]) throw new IpkError(pkg, `missing ${f}`);
  }
  if (!NAME_RE.test(c.Package)) throw new IpkError(pkg, `bad Package name '${c.Package}'`);
  if (!VERSION_RE.test(c.Version)) {
    throw new IpkError(pkg, `bad Version '${c.Version}' (expected <version>-r<integer>)`);
  }
  if (!OPENWRT_ARCHS.includes(c.Architecture)) {
    throw new IpkError(pkg, `unknown Architecture '${c.Architecture}'`);
  }
  for (const [k, v] of Object.entries(c)) {
    if (v !== undefined && k !== "Description" && /\n/.test(v)) {
      throw new IpkError(pkg, `field ${k} has a newline`);
    }
  }
}

/** Description text as a control field value: first line, continuation lines indented. */
function formatDescription(text) {
  return text
    .trim()
    .split("\n")
    .map((l, i) => (i === 0 ? l : " " + (l.trim() === "" ? "." : l.trimEnd())))
    .join("\n");
}

/** Control file text (fields in CONTROL_FIELD_ORDER, then any others, sorted). */
export function formatControl(c) {
  validateControl(c);
  const keys = [
    ...CONTROL_FIELD_ORDER.filter((k) => c[k] !== undefined),
    ...Object.keys(c)
      .filter((k) => !CONTROL_FIELD_ORDER.includes(k) && c[k] !== undefined)
      .sort(),
  ];
  return (
    keys.map((k) => `${k}: ${k === "Description" ? formatDescription(c[k]) : c[k]}`).join("\n") +
    "\n"
  );
}

/** Parses control / Packages stanza text into fields (continuation lines joined with "\n"). */
export function parseControl(text) {
  /** @type {Record<string, string>} */
  const out = {};
  let last = "";
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith(" ") && last) {
      out[last] += "\n" + line.slice(1);
      continue;
    }
    const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
    if (!m) throw new Error(`control: bad line '${line}'`);
    last = m[1];
    out[last] = m[2];
  }
  return out;
}

function fileData(f) {
  return typeof f.data === "string" ? Buffer.from(f.data, "utf8") : f.data;
}

/**
 * Builds an ipk.  Installed-Size is the sum of file sizes in bytes.
 * @param {IpkSpec} spec
 * @returns {{ ipk: Buffer, control: Control, filename: string }}
 */
export function buildIpk(spec) {
  const mtime = spec.mtime ?? 0;
  const files = [...spec.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of files) {
    if (!f.path.startsWith("/") || f.path.includes("/../") || f.path.endsWith("/")) {
      throw new IpkError(spec.control.Package, `bad file path '${f.path}'`);
    }
  }
  for (const cf of spec.conffiles ?? []) {
    if (!files.some((f) => f.path === cf && !("link" in f))) {
      throw new IpkError(spec.control.Package, `conffile ${cf} is not a file in the package`);
    }
  }
  const installedSize = files.reduce((n, f) => n + ("link" in f ? 0 : fileData(f).length), 0);
  const control = { ...spec.control, "Installed-Size": String(installedSize) };

  const paths = files.map((f) => "." + f.path);
  /** @type {import("./tar.mjs").TarEntry[]} */
  const dataEntries = parentDirs(paths)
    .sort()
    .map((p) => ({ path: p, type: "dir", mode: 0o755 }));
  for (const f of files) {
    dataEntries.push(
      "link" in f
        ? { path: "." + f.path, type: "symlink", target: f.link }
        : { path: "." + f.path, type: "file", mode: f.mode, data: fileData(f) },
    );
  }
  const dataTgz = gzip(tarPack(dataEntries, { mtime }));

  /** @type {import("./tar.mjs").TarEntry[]} */
  const controlEntries = [
    { path: "./", type: "dir", mode: 0o755 },
    { path: "./control", type: "file", mode: 0o644, data: formatControl(control) },
  ];
  if (spec.conffiles?.length) {
    controlEntries.push({
      path: "./conffiles",
      type: "file",
      mode: 0o644,
      data: spec.conffiles.join("\n") + "\n",
    });
  }
  for (const [name, body] of Object.entries(spec.scripts ?? {}).sort()) {
    if (body) controlEntries.push({ path: "./" + name, type: "file", mode: 0o755, data: body });
  }
  const controlTgz = gzip(tarPack(controlEntries, { mtime }));

  const outer = tarPack(
    [
      { path: "./debian-binary", type: "file", mode: 0o644, data: "2.0\n" },
      { path: "./data.tar.gz", type: "file", mode: 0o644, data: dataTgz },
      { path: "./control.tar.gz", type: "file", mode: 0o644, data: controlTgz },
    ],
    { mtime },
  );
  const filename = `${control.Package}_${control.Version}_${control.Architecture}.ipk`;
  return { ipk: gzip(outer), control, filename };
}

/** Fields of a Packages stanza, in ipkg-make-index order. */
export const INDEX_FIELD_ORDER = [
  "Package",
  "Version",
  "Depends",
  "Source",
  "SourceName",
  "License",
  "Section",
  "Require-User",
  "SourceDateEpoch",
  "Maintainer",
  "Architecture",
  "Installed-Size",
  "Filename",
  "Size",
  "SHA256sum",
  "Description",
];

/**
 * One Packages stanza for a built ipk.
 * @param {Control} control the control record buildIpk returned
 * @param {Buffer} ipk
 * @param {string} filename
 */
export function indexStanza(control, ipk, filename) {
  const rec = {
    ...control,
    Filename: filename,
    Size: String(ipk.length),
    SHA256sum: createHash("sha256").update(ipk).digest("hex"),
  };
  return (
    INDEX_FIELD_ORDER.filter((k) => rec[k] !== undefined)
      .map((k) => `${k}: ${k === "Description" ? formatDescription(rec[k]) : rec[k]}`)
      .join("\n") + "\n"
  );
}

/**
 * Packages and Packages.gz for a feed directory (stanzas sorted by package name).
 * @param {{ control: Control, ipk: Buffer, filename: string }[]} pkgs
 */
export function buildIndex(pkgs) {
  const text = [...pkgs]
    .sort((a, b) => (a.control.Package < b.control.Package ? -1 : 1))
    .map((p) => indexStanza(p.control, p.ipk, p.filename))
    .join("\n");
  return { packages: Buffer.from(text), packagesGz: gzip(Buffer.from(text)) };
}

// ---- usign (OpenWrt's signify-compatible Ed25519 signatures) -------------------------------
//
// Public key file:  "untrusted comment: <text>\n" + base64("Ed" | keynum[8] | pubkey[32]) + "\n"
// Secret key file:  "untrusted comment: <text>\n" + base64("Ed" | "BK" | rounds u32be (0) |
//                   salt[16] | checksum[8] = sha512(seckey)[0..8] | keynum[8] | seckey[64]) + "\n"
// Signature file:   "untrusted comment: <text>\n" + base64("Ed" | keynum[8] | sig[64]) + "\n"
// opkg looks the public key up as /etc/opkg/keys/<keynum as 16 hex digits>.

const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** A new usign key pair (unencrypted secret key, like `usign -G` without a password). */
export function usignGenerate(comment = "pear-fog feed key") {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  const seed = Buffer.from(/** @type {string} */ (jwk.d), "base64url");
  const pub = Buffer.from(
    /** @type {string} */ (publicKey.export({ format: "jwk" }).x),
    "base64url",
  );
  const keynum = createHash("sha512").update(pub).digest().subarray(0, 8);
  const seckey = Buffer.concat([seed, pub]);
  const checksum = createHash("sha512").update(seckey).digest().subarray(0, 8);
  const secBlob = Buffer.concat([
    Buffer.from("EdBK"),
    Buffer.alloc(4),
    Buffer.alloc(16),
    checksum,
    keynum,
    seckey,
  ]);
  return {
    keynum: keynum.toString("hex"),
    publicKey: `untrusted comment: ${comment} public key\n${Buffer.concat([Buffer.from("Ed"), keynum, pub]).toString("base64")}\n`,
    secretKey: `untrusted comment: ${comment} secret key\n${secBlob.toString("base64")}\n`,
  };
}

function usignBlob(file, what) {
  const line = file.split("\n")[1];
  if (!file.startsWith("untrusted comment: ") || !line) {
    throw new Error(`usign ${what}: not a usign file`);
  }
  return Buffer.from(line, "base64");
}

/** Signs data with a usign secret key file's text; returns the .sig file text. */
export function usignSign(secretKeyText, data, comment = "signed by pear-fog ipk builder") {
  const b = usignBlob(secretKeyText, "secret key");
  if (b.length !== 104 || b.toString("latin1", 0, 4) !== "EdBK") {
    throw new Error("usign secret key: unsupported format");
  }
  if (b.readUInt32BE(4) !== 0)
    throw new Error("usign secret key: password-protected keys unsupported");
  const keynum = b.subarray(32, 40);
  const seed = b.subarray(40, 72);
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
  const sig = sign(null, data, key);
  return `untrusted comment: ${comment}\n${Buffer.concat([Buffer.from("Ed"), keynum, sig]).toString("base64")}\n`;
}

/** Verifies a usign signature file against a public key file; true when valid. */
export function usignVerify(publicKeyText, sigText, data) {
  const pub = usignBlob(publicKeyText, "public key");
  const sig = usignBlob(sigText, "signature");
  if (pub.length !== 42 || sig.length !== 74) return false;
  if (!pub.subarray(2, 10).equals(sig.subarray(2, 10))) return false;
  const key = createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: pub.subarray(10).toString("base64url") },
    format: "jwk",
  });
  return verify(null, data, key, sig.subarray(10));
}

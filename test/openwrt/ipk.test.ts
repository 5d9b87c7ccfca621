// ipk packages and the feed index from scripts/ipk/build.mjs, read back with GNU tar and
// busybox tar, checked field by field, installed into a temp root (postinst/prerm with
// IPKG_INSTROOT, as opkg runs them for an offline root).
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, createPublicKey, verify } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { busybox, makefileInstalls, REPO } from "./support";
import { buildPearFogd } from "../support/pear-fogd";

const BUILD = join(REPO, "scripts/ipk/build.mjs");
const ARCH = "x86_64";
const VERSION = `${JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version}-r1`;
const CORE = `pear-fog_${VERSION}_${ARCH}.ipk`;
const LUCI = `luci-app-pear-fog_${VERSION}_all.ipk`;

/** The router binary when scripts/build-router.mjs has made one, else the host build. */
function payload(): string {
  const router = join(REPO, "dist", ARCH, "pear-fogd");
  if (existsSync(router)) return router;
  try {
    return buildPearFogd("release");
  } catch (e) {
    const prev = join(REPO, "libs/webrtc-native/build/release/pear-fogd");
    if (existsSync(prev)) return prev;
    throw e;
  }
}

let work: string;
let feed: string;
let bin: string;

function build(out: string, extra: string[] = []) {
  return spawnSync(
    process.execPath,
    [BUILD, "--arch", ARCH, "--bin", bin, "--out", out, ...extra],
    {
      env: { ...process.env, SOURCE_DATE_EPOCH: "1700000000" },
    },
  );
}

/** Extracts an ipk's members into dir; returns the member names in archive order. */
function unpackIpk(ipk: string, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  execFileSync("tar", ["-xzf", ipk, "-C", dir]);
  return execFileSync("tar", ["-tzf", ipk]).toString().trim().split("\n");
}

function fields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last = "";
  for (const line of text.split("\n")) {
    if (!line) continue;
    if (line.startsWith(" ")) out[last] += "\n" + line.slice(1);
    else {
      const i = line.indexOf(": ");
      last = line.slice(0, i);
      out[last] = line.slice(i + 2);
    }
  }
  return out;
}

beforeAll(() => {
  bin = payload();
  work = mkdtempSync(join(tmpdir(), "pf-ipk-"));
  feed = join(work, "feed");
  const r = build(feed);
  expect(r.status, r.stderr.toString()).toBe(0);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("ipk (opkg 24.10 form: gzip'd tar of debian-binary, data.tar.gz, control.tar.gz)", () => {
  it("has the three members in ipkg-build's order", () => {
    const members = unpackIpk(join(feed, CORE), join(work, "core"));
    expect(members).toEqual(["./debian-binary", "./data.tar.gz", "./control.tar.gz"]);
    expect(readFileSync(join(work, "core/debian-binary"), "utf8")).toBe("2.0\n");
    // busybox tar (what a router has) reads it too
    const bb = execFileSync(busybox(), ["tar", "-tzf", join(feed, CORE)]).toString();
    expect(bb.trim().split("\n")).toEqual(["./debian-binary", "./data.tar.gz", "./control.tar.gz"]);
  });

  it("control: every field, with OpenWrt's spelling of the architecture", () => {
    const dir = join(work, "core-control");
    mkdirSync(dir);
    execFileSync("tar", ["-xzf", join(work, "core/control.tar.gz"), "-C", dir]);
    const c = fields(readFileSync(join(dir, "control"), "utf8"));
    expect(c.Package).toBe("pear-fog");
    expect(c.Version).toBe(VERSION);
    expect(c.Version).toMatch(/^\d+\.\d+\.\d+-r\d+$/);
    expect(c.Architecture).toBe("x86_64");
    expect(c.Depends).toMatch(/^libc, ca-bundle(, (libmbedtls|libopenssl3), libusrsctp)?$/);
    expect(c.Section).toBe("net");
    expect(c.License).toBe("Apache-2.0");
    expect(c.SourceName).toBe("pear-fog");
    expect(c["Require-User"]).toBe("pear-fog=470:pear-fog=470");
    expect(c.SourceDateEpoch).toBe("1700000000");
    expect(c.Description).toContain("WebRTC");
    // Installed-Size: the bytes of the files in data.tar.gz
    const listing = execFileSync("tar", ["-tvzf", join(work, "core/data.tar.gz")]).toString();
    const total = listing
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("-"))
      .reduce((n, l) => n + Number(l.split(/\s+/)[2]), 0);
    expect(Number(c["Installed-Size"])).toBe(total);
    expect(readFileSync(join(dir, "conffiles"), "utf8")).toBe("/etc/config/pear-fog\n");
    for (const s of ["postinst", "prerm"]) {
      expect(statSync(join(dir, s)).mode & 0o777).toBe(0o755);
      expect(readFileSync(join(dir, s), "utf8")).toBe(
        readFileSync(join(REPO, "openwrt/files", `pear-fog.${s}`), "utf8"),
      );
    }
  });

  it("data: the files openwrt/Makefile installs, same modes, root-owned, fixed mtime", () => {
    const listing = execFileSync("tar", [
      "--numeric-owner",
      "--full-time",
      "-tvzf",
      join(work, "core/data.tar.gz"),
    ])
      .toString()
      .trim()
      .split("\n");
    const byPath = new Map(listing.map((l) => [l.split(/\s+/).at(-1) as string, l]));
    const installs = makefileInstalls();
    expect(installs.length).toBeGreaterThanOrEqual(9);
    for (const i of installs) {
      const line = byPath.get("." + i.dest);
      expect(line, i.dest).toBeDefined();
      const mode = i.kind === "INSTALL_BIN" ? "-rwxr-xr-x" : "-rw-r--r--";
      expect(line).toMatch(new RegExp(`^${mode} 0/0 `));
      expect(line).toContain("2023-11-14 22:13:20"); // SOURCE_DATE_EPOCH 1700000000
    }
    const files = listing.filter((l) => l.startsWith("-"));
    expect(files.length).toBe(installs.length);
    // directories come first, sorted
    const paths = listing.map((l) => l.split(/\s+/).at(-1) as string);
    const dirs = paths.filter((p) => p.endsWith("/"));
    expect(paths.slice(0, dirs.length)).toEqual([...dirs].sort());
  });

  it("is byte-for-byte reproducible", () => {
    const again = join(work, "again");
    expect(build(again).status).toBe(0);
    for (const f of [CORE, LUCI, "Packages", "Packages.gz"]) {
      expect(readFileSync(join(again, f)).equals(readFileSync(join(feed, f))), f).toBe(true);
    }
  });

  it("luci-app-pear-fog: views, menu and ACL where luci.mk installs them", () => {
    unpackIpk(join(feed, LUCI), join(work, "luci"));
    const files = execFileSync("tar", ["-tzf", join(work, "luci/data.tar.gz")]).toString();
    for (const p of [
      "./www/luci-static/resources/view/pear-fog/settings.js",
      "./www/luci-static/resources/view/pear-fog/status.js",
      "./usr/share/luci/menu.d/luci-app-pear-fog.json",
      "./usr/share/rpcd/acl.d/luci-app-pear-fog.json",
    ]) {
      expect(files).toContain(p);
    }
    const dir = join(work, "luci-control");
    mkdirSync(dir);
    execFileSync("tar", ["-xzf", join(work, "luci/control.tar.gz"), "-C", dir]);
    const c = fields(readFileSync(join(dir, "control"), "utf8"));
    expect(c.Architecture).toBe("all");
    expect(c.Depends).toContain("pear-fog");
  });

  it("refuses a binary of another architecture", () => {
    const r = spawnSync(process.execPath, [
      BUILD,
      "--arch",
      "mipsel_24kc",
      "--bin",
      bin,
      "--out",
      join(work, "wrong"),
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr.toString()).toMatch(/ELF machine 62 \(LE\) is not mipsel_24kc/);
  });
});

describe("other architectures (32-bit ELF headers)", () => {
  /**
   * A minimal ELF32 header + program headers: machine, byte order, PT_INTERP when `needed`
   * (dynamic), followed by those sonames as a dynamic string table holds them.
   */
  function elf32(machine: number, little: boolean, needed?: string[]): Buffer {
    const dynamic = needed !== undefined;
    const phnum = dynamic ? 2 : 1;
    const dynstr = Buffer.from(dynamic ? `\0${needed.join("\0")}\0` : "", "latin1");
    const b = Buffer.alloc(52 + 32 * phnum + 16 + dynstr.length);
    dynstr.copy(b, 52 + 32 * phnum + 16);
    const u16 = (o: number, v: number) => (little ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
    const u32 = (o: number, v: number) => (little ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
    b.write("\x7fELF", 0, "latin1");
    b[4] = 1; // ELFCLASS32
    b[5] = little ? 1 : 2;
    b[6] = 1;
    u16(16, 2); // ET_EXEC
    u16(18, machine);
    u32(20, 1);
    u32(28, 52); // e_phoff
    u16(40, 52); // e_ehsize
    u16(42, 32); // e_phentsize
    u16(44, phnum);
    u32(52, 1); // PT_LOAD
    if (dynamic) u32(52 + 32, 3); // PT_INTERP
    return b;
  }

  it.each([
    ["mipsel_24kc", 8, true],
    ["mips_24kc", 8, false],
    ["arm_cortex-a7_neon-vfpv4", 40, true],
  ] as const)(
    "%s: Architecture field, file name, static vs dynamic Depends",
    (arch, machine, little) => {
      // static (the router build), the SDK build (openwrt/Makefile: libmbedtls), TLS=openssl
      const links = [
        { name: "static", needed: undefined, depends: "libc, ca-bundle" },
        {
          name: "mbedtls",
          needed: ["libusrsctp.so.2", "libmbedtls.so.21", "libmbedx509.so.7", "libc.so"],
          depends: "libc, ca-bundle, libmbedtls, libusrsctp",
        },
        {
          name: "openssl",
          needed: ["libssl.so.3", "libcrypto.so.3", "libusrsctp.so.2", "libc.so"],
          depends: "libc, ca-bundle, libopenssl3, libusrsctp",
        },
      ];
      for (const link of links) {
        const bin32 = join(work, `elf-${arch}-${link.name}`);
        writeFileSync(bin32, elf32(machine, little, link.needed));
        const out = join(work, `feed-${arch}-${link.name}`);
        const r = spawnSync(process.execPath, [
          BUILD,
          "--arch",
          arch,
          "--bin",
          bin32,
          "--out",
          out,
        ]);
        expect(r.status, r.stderr.toString()).toBe(0);
        const stanza = readFileSync(join(out, "Packages"), "utf8")
          .split("\n\n")
          .map(fields)
          .find((p) => p.Package === "pear-fog") as Record<string, string>;
        expect(stanza.Architecture).toBe(arch);
        expect(stanza.Filename).toBe(`pear-fog_${VERSION}_${arch}.ipk`);
        expect(stanza.Depends).toBe(link.depends);
      }
      // the other byte order is refused
      const wrong = join(work, `elf-${arch}-wrong`);
      writeFileSync(wrong, elf32(machine, !little));
      const r = spawnSync(process.execPath, [
        BUILD,
        "--arch",
        arch,
        "--bin",
        wrong,
        "--out",
        join(work, "x"),
      ]);
      expect(r.status).toBe(1);
      expect(r.stderr.toString()).toContain(`is not ${arch}`);
    },
  );
});

describe("feed index", () => {
  it("Packages: one stanza a package with ipkg-make-index's fields; Size and SHA256sum match", () => {
    const text = readFileSync(join(feed, "Packages"), "utf8");
    const stanzas = text.trim().split("\n\n").map(fields);
    expect(stanzas.map((s) => s.Package)).toEqual(["luci-app-pear-fog", "pear-fog"]);
    const order = [
      "Package",
      "Version",
      "Depends",
      "Source",
      "SourceName",
      "License",
      "Section",
      "Architecture",
      "Installed-Size",
      "Filename",
      "Size",
      "SHA256sum",
      "Description",
    ];
    for (const s of stanzas) {
      const keys = Object.keys(s).filter((k) => order.includes(k));
      expect(keys).toEqual(order);
      const ipk = readFileSync(join(feed, s.Filename as string));
      expect(Number(s.Size)).toBe(ipk.length);
      expect(s.SHA256sum).toBe(createHash("sha256").update(ipk).digest("hex"));
    }
    expect(gunzipSync(readFileSync(join(feed, "Packages.gz"))).toString()).toBe(text);
  });

  it("Packages.sig: usign Ed25519 signature opkg verifies against /etc/opkg/keys/<keynum>", () => {
    const keys = join(work, "keys");
    const g = spawnSync(process.execPath, [BUILD, "--gen-key", keys]);
    expect(g.status, g.stderr.toString()).toBe(0);
    const names = readdirSync(keys);
    const pubName = names.find((n) => /^[0-9a-f]{16}$/.test(n)) as string;
    expect(names).toContain(`${pubName}.sec`);
    expect(statSync(join(keys, `${pubName}.sec`)).mode & 0o777).toBe(0o600);
    const signed = join(work, "signed");
    expect(build(signed, ["--key", join(keys, `${pubName}.sec`)]).status).toBe(0);

    const pubLine = readFileSync(join(keys, pubName), "utf8").split("\n")[1] as string;
    const sigText = readFileSync(join(signed, "Packages.sig"), "utf8");
    expect(sigText).toMatch(/^untrusted comment: .*\n[A-Za-z0-9+/=]+\n$/);
    const pub = Buffer.from(pubLine, "base64");
    const sig = Buffer.from(sigText.split("\n")[1] as string, "base64");
    expect(pub.length).toBe(42);
    expect(sig.length).toBe(74);
    expect(pub.subarray(0, 2).toString()).toBe("Ed");
    expect(sig.subarray(0, 2).toString()).toBe("Ed");
    // key number: the file name, and the same in key and signature
    expect(pub.subarray(2, 10).toString("hex")).toBe(pubName);
    expect(sig.subarray(2, 10).toString("hex")).toBe(pubName);
    const key = createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: pub.subarray(10).toString("base64url") },
      format: "jwk",
    });
    const packages = readFileSync(join(signed, "Packages"));
    expect(verify(null, packages, key, sig.subarray(10))).toBe(true);
    const tampered = Buffer.from(packages);
    tampered[10] = (tampered[10] as number) ^ 1;
    expect(verify(null, tampered, key, sig.subarray(10))).toBe(false);
  });
});

describe("install into a temp root (IPKG_INSTROOT)", () => {
  let root: string;
  let control: string;
  const ash = (script: string) =>
    spawnSync(busybox(), ["ash", join(control, script)], {
      env: { PATH: "/usr/bin:/bin", IPKG_INSTROOT: root },
    });

  beforeAll(() => {
    root = join(work, "root");
    control = join(work, "inst-control");
    mkdirSync(join(root, "etc"), { recursive: true });
    mkdirSync(control);
    writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/ash\n");
    writeFileSync(join(root, "etc/group"), "root:x:0:\n");
    writeFileSync(join(root, "etc/shadow"), "root:::0:99999:7:::\n");
    execFileSync("tar", ["-xzf", join(work, "core/data.tar.gz"), "-C", root]);
    execFileSync("tar", ["-xzf", join(work, "core/control.tar.gz"), "-C", control]);
  });

  it("unpacks the files with their modes; the conffile is the shipped config", () => {
    for (const i of makefileInstalls()) {
      const st = lstatSync(join(root, i.dest));
      expect(st.mode & 0o777, i.dest).toBe(i.kind === "INSTALL_BIN" ? 0o755 : 0o644);
    }
    expect(readFileSync(join(root, "etc/config/pear-fog"), "utf8")).toBe(
      readFileSync(join(REPO, "openwrt/files/pear-fog.config"), "utf8"),
    );
    expect(readFileSync(join(root, "usr/sbin/pear-fogd")).equals(readFileSync(bin))).toBe(true);
  });

  it("postinst adds the user and enables the service by rc.d links, starts nothing", () => {
    const r = ash("postinst");
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(r.stdout.toString() + r.stderr.toString()).toBe("");
    expect(readFileSync(join(root, "etc/passwd"), "utf8")).toContain(
      "pear-fog:x:470:470:pear-fog:/var/run/pear-fog:/bin/false\n",
    );
    expect(readFileSync(join(root, "etc/group"), "utf8")).toContain("pear-fog:x:470:\n");
    expect(readFileSync(join(root, "etc/shadow"), "utf8")).toContain("pear-fog:x:0:0:99999:7:::\n");
    expect(readlinkSync(join(root, "etc/rc.d/S95pear-fog"))).toBe("../init.d/pear-fog");
    expect(readlinkSync(join(root, "etc/rc.d/K10pear-fog"))).toBe("../init.d/pear-fog");
    // uci-defaults stay for first boot; nothing ran: no store, no run directory
    expect(existsSync(join(root, "etc/uci-defaults/90-pear-fog"))).toBe(true);
    expect(existsSync(join(root, "var"))).toBe(false);
    expect(existsSync(join(root, "tmp"))).toBe(false);
    // a second run (reinstall) adds no second user
    expect(ash("postinst").status).toBe(0);
    const passwd = readFileSync(join(root, "etc/passwd"), "utf8");
    expect(passwd.match(/^pear-fog:/gm)?.length).toBe(1);
  });

  it("prerm removes the rc.d links", () => {
    expect(ash("prerm").status).toBe(0);
    expect(readdirSync(join(root, "etc/rc.d"))).toEqual([]);
  });
});

describe("install on a running router (chroot, no IPKG_INSTROOT)", () => {
  // The package unpacked into a root that busybox runs in (chroot, as root), with recording
  // stand-ins for uci and for rc.common (the init script's interpreter line).
  let root: string;
  let control: string;
  const calls = () => readFileSync(join(root, "calls.log"), "utf8");
  const run = (script: string, env: Record<string, string> = {}) =>
    spawnSync("chroot", [root, "/bin/busybox", "ash", `/control/${script}`], {
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...env },
    });

  beforeAll(() => {
    root = join(work, "router");
    control = join(root, "control");
    for (const d of ["bin", "etc/config", "control", "lib64", "lib/x86_64-linux-gnu"]) {
      mkdirSync(join(root, d), { recursive: true });
    }
    execFileSync("tar", ["-xzf", join(work, "core/data.tar.gz"), "-C", root]);
    execFileSync("tar", ["-xzf", join(work, "core/control.tar.gz"), "-C", control]);
    // busybox and the libraries it loads
    const bb = busybox();
    writeFileSync(join(root, "bin/busybox"), readFileSync(bb), { mode: 0o755 });
    const libs = execFileSync("ldd", [bb]).toString();
    for (const m of libs.matchAll(/(\/\S+\.so[.\d]*)/g)) {
      const lib = m[1] as string;
      mkdirSync(join(root, lib, ".."), { recursive: true });
      writeFileSync(join(root, lib), readFileSync(lib), { mode: 0o755 }); // ld.so is exec-opened
    }
    for (const a of ["sh", "ash", "grep", "sed", "mkdir", "ln", "rm", "cat", "echo", "touch"]) {
      execFileSync("ln", ["-s", "busybox", join(root, "bin", a)]);
    }
    writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/ash\n");
    writeFileSync(join(root, "etc/group"), "root:x:0:\n");
    writeFileSync(join(root, "calls.log"), "");
    mkdirSync(join(root, "dev"));
    execFileSync("mknod", ["-m", "666", join(root, "dev/null"), "c", "1", "3"]);
    const recorder = (name: string) => `#!/bin/sh\necho "${name} $*" >> /calls.log\n`;
    writeFileSync(join(root, "etc/rc.common"), recorder("rc.common"), { mode: 0o755 });
    mkdirSync(join(root, "sbin"));
    writeFileSync(join(root, "sbin/uci"), recorder("uci") + "exit 1\n", { mode: 0o755 });
  });

  it("postinst runs and removes the uci-defaults, then enables and starts the service", () => {
    const r = run("postinst");
    expect(r.status, r.stderr.toString()).toBe(0);
    const c = calls().trim().split("\n");
    expect(c).toContain("uci -q get pear-fog.main");
    expect(c.slice(-2)).toEqual([
      "rc.common /etc/init.d/pear-fog enable",
      "rc.common /etc/init.d/pear-fog start",
    ]);
    expect(existsSync(join(root, "etc/uci-defaults/90-pear-fog"))).toBe(false);
    expect(readFileSync(join(root, "etc/passwd"), "utf8")).toMatch(/^pear-fog:x:470:470:/m);
  });

  it("an upgrade (PKG_UPGRADE=1) restarts instead of starting", () => {
    writeFileSync(join(root, "calls.log"), "");
    expect(run("postinst", { PKG_UPGRADE: "1" }).status).toBe(0);
    expect(calls().trim().split("\n").slice(-1)).toEqual([
      "rc.common /etc/init.d/pear-fog restart",
    ]);
  });

  it("prerm stops and disables it", () => {
    writeFileSync(join(root, "calls.log"), "");
    expect(run("prerm").status).toBe(0);
    expect(calls().trim().split("\n")).toEqual([
      "rc.common /etc/init.d/pear-fog stop",
      "rc.common /etc/init.d/pear-fog disable",
    ]);
  });
});

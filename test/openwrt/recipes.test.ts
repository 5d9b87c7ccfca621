// SDK recipes (openwrt/Makefile, LuCI app, feeds/) checked for openwrt/packages conventions,
// and images/build.sh driving a stand-in ImageBuilder.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPENWRT, REPO } from "./support";

/** apk's version syntax (OpenWrt 25.x packages are apk; PKG_VERSION must already fit). */
const APK_VERSION = /^[0-9]+(\.[0-9]+)*[a-z]?(_(alpha|beta|pre|rc|p)[0-9]*)*$/;

function vars(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of readFileSync(path, "utf8").matchAll(/^([A-Z_]+):=(.*)$/gm)) {
    out[m[1] as string] = (m[2] as string).trim();
  }
  return out;
}

const recipes = [
  join(OPENWRT, "Makefile"),
  ...readdirSync(join(OPENWRT, "feeds")).map((d) => join(OPENWRT, "feeds", d, "Makefile")),
];

describe("SDK recipes", () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "pf-recipes-"));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it.each(recipes.map((r) => [r.slice(REPO.length + 1), r]))(
    "%s: package conventions",
    (_n, path) => {
      const text = readFileSync(path, "utf8");
      const v = vars(path);
      expect(text).toMatch(/^include \$\(TOPDIR\)\/rules\.mk$/m);
      expect(text).toMatch(/^include \$\(INCLUDE_DIR\)\/package\.mk$/m);
      expect(text).toMatch(/^\$\(eval \$\(call BuildPackage,[a-z0-9-]+\)\)$/m);
      expect(v.PKG_NAME).toMatch(/^[a-z0-9][a-z0-9-]*$/);
      expect(v.PKG_VERSION).toMatch(APK_VERSION);
      expect(v.PKG_RELEASE).toMatch(/^[0-9]+$/);
      expect(v.PKG_LICENSE).toBeTruthy();
      expect(v.PKG_MAINTAINER).toBeTruthy();
      if (v.PKG_SOURCE) expect(v.PKG_HASH).toMatch(/^[0-9a-f]{64}$/);
      // recipe bodies are tab-indented (make recipes)
      for (const line of text.split("\n").filter((l) => /^ +\$\((INSTALL|CP|MAKE)/.test(l))) {
        throw new Error(`space-indented recipe line: ${line}`);
      }
    },
  );

  it("pear-fog: version from package.json, conffiles, user, procd-managed files", () => {
    const v = vars(join(OPENWRT, "Makefile"));
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
    expect(v.PKG_VERSION).toBe(pkg.version);
    const text = readFileSync(join(OPENWRT, "Makefile"), "utf8");
    expect(text).toMatch(/define Package\/pear-fog\/conffiles\n\/etc\/config\/pear-fog\nendef/);
    expect(text).toContain("USERID:=pear-fog=470:pear-fog=470");
    expect(text).toContain("DEPENDS:=+libmbedtls +libusrsctp +ca-bundle");
    expect(text).toContain("PKG_BUILD_DEPENDS:=quickjs-ng");
    const usrsctp = vars(join(OPENWRT, "feeds/usrsctp/Makefile"));
    expect(readFileSync(join(OPENWRT, "feeds/usrsctp/Makefile"), "utf8")).toContain(
      "BuildPackage,libusrsctp",
    );
    expect(usrsctp.PKG_SOURCE_URL).toMatch(/^@DEBIAN\//);
  });

  it("pear-fog: Build/Compile makes an mbedTLS pear-fogd from staging, without Node", () => {
    // The recipe's make call with the SDK's variables stood in for, dry-run (-n) on a copy
    // of what Build/Prepare copies: it links libmbedtls from $(STAGING_DIR)/usr (as the ipk
    // of build:ipk is on mbedTLS) and never runs node (the SDK has none; a `node` first on
    // PATH records any call).
    const text = readFileSync(join(OPENWRT, "Makefile"), "utf8");
    const compile = /define Build\/Compile\n([\s\S]*?)\nendef/.exec(text)?.[1] ?? "";
    const staging = join(work, "staging");
    const sdkVars: Record<string, string> = {
      TARGET_CC: "cc",
      TARGET_AR: "ar",
      PKG_CONFIG: "pkg-config",
      TARGET_CFLAGS: "-Os",
      TARGET_CPPFLAGS: "",
      TARGET_LDFLAGS: "",
      STAGING_DIR: staging,
      PKG_BUILD_DIR: join(work, "build"),
    };
    const args = [...compile.replace(/\\\n/g, " ").matchAll(/([A-Z_]+)=("[^"]*"|\S+)/g)].map(
      ([, k, v]) =>
        `${k}=${v!.replace(/^"|"$/g, "").replace(/\$\(([A-Z_]+)\)/g, (_m, n: string) => sdkVars[n] ?? "")}`,
    );
    expect(args).toContain("TLS=mbedtls");
    expect(args).toContain(`MBEDTLS_DIR=${staging}/usr`);
    const target = /\s(build\/release\/pear-fogd)\s*$/.exec(compile)?.[1];
    expect(target).toBe("build/release/pear-fogd");
    const pkg = join(work, "build");
    mkdirSync(pkg, { recursive: true });
    execFileSync("cp", [
      "-r",
      join(REPO, "libs/webrtc-native/src"),
      join(REPO, "libs/webrtc-native/Makefile"),
      pkg,
    ]);
    const fakeBin = join(work, "no-node");
    mkdirSync(fakeBin, { recursive: true });
    writeFileSync(join(fakeBin, "node"), `#!/bin/sh\necho "$@" >> "${work}/node-called"\nexit 1\n`);
    chmodSync(join(fakeBin, "node"), 0o755);
    const r = spawnSync("make", ["-n", "-C", pkg, ...args, target!], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(work, "node-called"))).toBe(false);
    const link = r.stdout.split("\n").find((l) => / -o build\/release\/pear-fogd$/.test(l)) ?? "";
    expect(link).toContain(`-L${staging}/usr/lib -lmbedtls -lmbedx509 -lmbedcrypto`);
    expect(link).not.toMatch(/-lssl|-lcrypto\b/);
    expect(r.stdout).toMatch(/src\/dtls_mbedtls\.c/);
    expect(r.stdout).not.toMatch(/_openssl\.c/);
  });

  it("feeds pin the versions and bytes the host and router builds use", () => {
    const qjs = vars(join(OPENWRT, "feeds/quickjs-ng/Makefile"));
    const deps = readFileSync(join(REPO, "scripts/deps/quickjs.mjs"), "utf8");
    expect(deps).toContain(`QJS_VERSION ?? "${qjs.PKG_VERSION}"`);
    // When the builds' caches are here, the recipe hashes are those files' SHA-256.
    const cache = process.env.PEAR_FOG_CACHE || join(homedir(), ".cache", "pear-fog");
    const qsrc = join(cache, `quickjs-ng-${qjs.PKG_VERSION}-${qjs.PKG_DEB_REVISION}/SOURCE`);
    const checked: string[] = [];
    if (existsSync(qsrc)) {
      expect(readFileSync(qsrc, "utf8")).toContain(`sha256 ${qjs.PKG_HASH}`);
      checked.push("quickjs-ng");
    }
    const u = vars(join(OPENWRT, "feeds/usrsctp/Makefile"));
    const orig = join(
      cache,
      `router/src/libusrsctp_${u.PKG_VERSION}-2/libusrsctp_${u.PKG_VERSION}.orig.tar.gz`,
    );
    if (existsSync(orig)) {
      expect(createHash("sha256").update(readFileSync(orig)).digest("hex")).toBe(u.PKG_HASH);
      checked.push("usrsctp");
    }
    console.log(`recipe hashes checked against cached sources: ${checked.join(", ") || "none"}`);
  });

  it("luci-app-pear-fog: luci.mk from the LuCI feed, depends on pear-fog", () => {
    const text = readFileSync(join(OPENWRT, "luci-app-pear-fog/Makefile"), "utf8");
    expect(text).toContain("include $(TOPDIR)/feeds/luci/luci.mk");
    expect(text).toMatch(/^LUCI_DEPENDS:=.*\+pear-fog/m);
    expect(text).toContain("# call BuildPackage - OpenWrt buildroot signature");
  });
});

describe("images/build.sh", () => {
  let work: string;
  let ib: string;
  let feed: string;
  let bin: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "pf-images-"));
    ib = join(work, "ib");
    feed = join(work, "feed");
    bin = join(work, "bin");
    mkdirSync(ib);
    mkdirSync(feed);
    mkdirSync(bin);
    writeFileSync(join(ib, "repositories.conf"), "src/gz openwrt_core https://downloads/core\n");
    writeFileSync(join(feed, "pear-fog_0.1.0-r1_x86_64.ipk"), "");
    writeFileSync(join(feed, "0123456789abcdef"), "untrusted comment: key\nRWQ=\n");
    // `make` stand-in: records its arguments
    writeFileSync(join(bin, "make"), `#!/bin/sh\nprintf '%s\\n' "$@" > "${work}/make.args"\n`);
    chmodSync(join(bin, "make"), 0o755);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const run = (...args: string[]) =>
    spawnSync("sh", [join(REPO, "images/build.sh"), ...args], {
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });

  it("adds the feed and its key, then makes the image with the sets' packages", () => {
    const r = run(ib, "generic", feed, "base", "luci", "usb-store");
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(readFileSync(join(work, "make.args"), "utf8").trim().split("\n")).toEqual([
      "-C",
      ib,
      "image",
      "PROFILE=generic",
      "PACKAGES=pear-fog luci luci-ssl luci-app-pear-fog kmod-usb-storage kmod-usb3 kmod-fs-ext4 block-mount e2fsprogs",
    ]);
    expect(readFileSync(join(ib, "repositories.conf"), "utf8")).toContain(
      `src pearfog file://${feed}\n`,
    );
    expect(existsSync(join(ib, "keys/0123456789abcdef"))).toBe(true);
    // again: the feed line is not repeated
    expect(run(ib, "generic", feed).status).toBe(0);
    const conf = readFileSync(join(ib, "repositories.conf"), "utf8");
    expect(conf.match(/^src pearfog /gm)?.length).toBe(1);
    expect(readFileSync(join(work, "make.args"), "utf8")).toContain(
      "PACKAGES=pear-fog luci luci-ssl luci-app-pear-fog\n",
    );
  });

  it("refuses an unknown set, a directory that is no ImageBuilder, a feed without pear-fog", () => {
    expect(run(ib, "generic", feed, "nonsense").stderr.toString()).toContain(
      "no package set 'nonsense'",
    );
    expect(run(work, "generic", feed).stderr.toString()).toContain("is not an ImageBuilder");
    expect(run(ib, "generic", bin).stderr.toString()).toContain("no pear-fog ipk");
    expect(run(ib).status).toBe(2);
  });

  it("every set names packages one a line; removals start with '-'", () => {
    for (const f of readdirSync(join(REPO, "images/sets"))) {
      const lines = readFileSync(join(REPO, "images/sets", f), "utf8")
        .split("\n")
        .filter((l) => l && !l.startsWith("#"));
      expect(lines.length, f).toBeGreaterThan(0);
      for (const l of lines) expect(l, f).toMatch(/^-?[a-z0-9][a-z0-9.+-]*$/);
    }
  });
});

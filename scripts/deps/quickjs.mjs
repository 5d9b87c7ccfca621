#!/usr/bin/env node
// Fetch QuickJS-ng's source from Debian unstable's arch-all package `qjs-src` and cache it.
//
//   node scripts/deps/quickjs.mjs            prints the source dir (…/quickjs-ng-<version>/src)
//
// Nothing system-wide changes: apt runs with a private sources.list, lists and cache under
// $PEAR_FOG_CACHE/apt-unstable (default ~/.cache/pear-fog; scripts/deps/apt.mjs). The .deb is unpacked with
// `dpkg -x` into $PEAR_FOG_CACHE/quickjs-ng-<version>/ and the .deb's SHA-256 and version are
// recorded in that dir's `SOURCE` file. A second run finds the marker and does not touch the
// network. Sources are never committed to the repo.
//
// Environment:
//   PEAR_FOG_CACHE   cache root (default ~/.cache/pear-fog)
//   QJS_VERSION      wanted Debian version prefix (default "0.17.0"; "" = whatever unstable has)
//   DEBIAN_MIRROR    mirror URL (default http://deb.debian.org/debian, the one this host uses)
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { privateAptArgs } from "./apt.mjs";

const defaults = {
  /** Cache root directory. */
  cache: process.env.PEAR_FOG_CACHE || join(homedir(), ".cache", "pear-fog"),
  /** Debian version prefix to accept; the build is tested against 0.17.0. */
  version: process.env.QJS_VERSION ?? "0.17.0",
  /** Debian mirror (the host's sources use deb.debian.org). */
  mirror: process.env.DEBIAN_MIRROR || "http://deb.debian.org/debian",
  /** Debian package name. */
  pkg: "qjs-src",
  /** Path of the sources inside the package. */
  inner: "usr/src/quickjs-ng",
};

class FetchError extends Error {
  constructor(step, message) {
    super(`quickjs-ng fetch: ${step}: ${message}`);
    this.step = step;
  }
}

function run(cmd, args, step, opts = {}) {
  try {
    return execFileSync(cmd, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      ...opts,
    });
  } catch (e) {
    const err = String(e.stderr || e.message)
      .trim()
      .split("\n")
      .slice(-4)
      .join("\n");
    throw new FetchError(step, `${cmd} ${args.slice(-2).join(" ")} failed:\n${err}`);
  }
}

/** An already unpacked, marked source dir matching the wanted version, or null. */
function findCached() {
  if (!existsSync(defaults.cache)) return null;
  for (const name of readdirSync(defaults.cache).sort().reverse()) {
    if (!name.startsWith("quickjs-ng-")) continue;
    const dir = join(defaults.cache, name);
    if (!existsSync(join(dir, "SOURCE"))) continue;
    if (defaults.version && !name.slice("quickjs-ng-".length).startsWith(defaults.version))
      continue;
    const src = join(dir, "src");
    if (existsSync(join(src, "quickjs.c")) && existsSync(join(src, "qjsc.c"))) return src;
  }
  return null;
}

function fetch() {
  const A = privateAptArgs(join(defaults.cache, "apt-unstable"), [
    `deb ${defaults.mirror} unstable main`,
  ]);
  const update = (() => {
    try {
      return execFileSync("apt-get", [...A, "update"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (e) {
      return String(e.stdout || "") + String(e.stderr || "");
    }
  })();
  if (/^(Err|W: Failed)/m.test(update) && !/^(Hit|Get)/m.test(update)) {
    throw new FetchError(
      "apt-get update",
      `cannot reach ${defaults.mirror} (offline?). ` +
        "Set QJS_SRC=<dir with quickjs.c> for make, or fetch once while online.\n" +
        update.trim().split("\n").slice(-3).join("\n"),
    );
  }
  const policy = run(
    "apt-cache",
    [...A, "show", "--no-all-versions", defaults.pkg],
    "apt-cache show",
  );
  const version = /^Version: (.+)$/m.exec(policy)?.[1];
  if (!version) throw new FetchError("apt-cache show", `no ${defaults.pkg} in unstable`);
  if (defaults.version && !version.startsWith(defaults.version)) {
    throw new FetchError(
      "version",
      `unstable has ${defaults.pkg} ${version}, wanted ${defaults.version} (set QJS_VERSION)`,
    );
  }
  const tmp = join(defaults.cache, `.tmp-qjs-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  run("apt-get", [...A, "download", `${defaults.pkg}=${version}`], "apt-get download", {
    cwd: tmp,
  });
  const deb = readdirSync(tmp).find((f) => f.endsWith(".deb"));
  if (!deb) throw new FetchError("apt-get download", "no .deb downloaded");
  const sha256 = createHash("sha256")
    .update(readFileSync(join(tmp, deb)))
    .digest("hex");
  const expected = /^SHA256: ([0-9a-f]{64})$/m.exec(policy)?.[1];
  if (expected && expected !== sha256) {
    throw new FetchError("checksum", `${deb}: sha256 ${sha256}, index says ${expected}`);
  }
  const root = join(tmp, "root");
  run("dpkg", ["-x", join(tmp, deb), root], "dpkg -x");
  const out = join(defaults.cache, `quickjs-ng-${version}`);
  const staged = join(tmp, "out");
  mkdirSync(staged);
  renameSync(join(root, defaults.inner), join(staged, "src"));
  writeFileSync(
    join(staged, "SOURCE"),
    `package ${defaults.pkg}\nversion ${version}\ndeb ${deb}\nsha256 ${sha256}\nmirror ${defaults.mirror}\n`,
  );
  rmSync(out, { recursive: true, force: true });
  renameSync(staged, out);
  rmSync(tmp, { recursive: true, force: true });
  return join(out, "src");
}

try {
  console.log(findCached() ?? fetch());
} catch (e) {
  console.error(e instanceof FetchError ? e.message : e);
  process.exit(1);
}

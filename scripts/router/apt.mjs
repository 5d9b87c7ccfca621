// Debian packages and sources through private apt configs (scripts/deps/apt.mjs): nothing
// system-wide changes (no dpkg --add-architecture, no sources.list edit). Lists and downloads
// live in <cache>/router/apt-<suite>/; .debs in <cache>/router/debs/, source tarballs in
// <cache>/router/src/. Versions are resolved once and recorded in <cache>/router/versions.json
// so that a rerun does not touch the network (`--refresh` resolves again).
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { privateAptArgs } from "../deps/apt.mjs";
import { defaults, log, routerCache, run, RouterBuildError } from "./lib.mjs";

/** Suites: bookworm for binaries (all four arches) and most sources; trixie for mbedTLS 3. */
export const SUITES = {
  bookworm: {
    lines: (m) => [`deb ${m} bookworm main`, `deb-src ${m} bookworm main`],
    arches: ["amd64", "armhf", "arm64", "mipsel"],
  },
  trixie: { lines: (m) => [`deb-src ${m} trixie main`], arches: ["amd64"] },
};

const updated = new Set();

function aptArgs(suite) {
  const dir = routerCache(`apt-${suite}`);
  return {
    a: privateAptArgs(dir, SUITES[suite].lines(defaults.mirror), SUITES[suite].arches),
    dir,
  };
}

/** apt-get update for the suite, once per process (only called when something is missing). */
export function aptUpdate(suite) {
  if (updated.has(suite)) return;
  const { a, dir } = aptArgs(suite);
  log(`apt-get update (private ${suite} config, ${dir})`);
  try {
    run(`apt-get update ${suite}`, "apt-get", [...a, "update"], {
      logFile: join(dir, "update.log"),
    });
  } catch (e) {
    throw new RouterBuildError(
      `apt-get update ${suite}`,
      `cannot fetch Debian ${suite} indexes from ${defaults.mirror} (offline?)\n${e.message}`,
    );
  }
  updated.add(suite);
}

function versionsFile() {
  return join(routerCache(), "versions.json");
}

function readVersions() {
  const f = versionsFile();
  return existsSync(f) ? JSON.parse(readFileSync(f, "utf8")) : {};
}

/**
 * The Debian version of `name` (a source package when `source`, else binary `name:arch`) in
 * `suite`: the recorded one, or resolved with apt-cache and recorded. `want` is a version
 * prefix that must match (e.g. "3." for mbedTLS 3.x).
 */
export function resolveVersion(suite, name, { source = false, arch, want, refresh } = {}) {
  const id = `${suite}/${source ? "src:" : ""}${name}${arch ? `:${arch}` : ""}`;
  const all = readVersions();
  if (all[id] && !refresh) return all[id];
  aptUpdate(suite);
  const { a } = aptArgs(suite);
  let version;
  if (source) {
    const out = run(`apt-cache showsrc ${name}`, "apt-cache", [...a, "showsrc", name], {
      capture: true,
    });
    const vs = [...out.matchAll(/^Version: (.+)$/gm)].map((m) => m[1]);
    version = vs.find((v) => !want || v.startsWith(want));
  } else {
    const pkg = arch ? `${name}:${arch}` : name;
    const out = run(`apt-cache policy ${pkg}`, "apt-cache", [...a, "policy", pkg], {
      capture: true,
    });
    version = /Candidate: (\S+)/.exec(out)?.[1];
    if (version === "(none)") version = undefined;
  }
  if (!version || (want && !version.startsWith(want))) {
    throw new RouterBuildError(
      "resolve",
      `Debian ${suite} has no ${source ? "source " : ""}${name}${want ? ` ${want}*` : ""}`,
    );
  }
  all[id] = version;
  writeFileSync(versionsFile(), JSON.stringify(all, null, 2) + "\n");
  return version;
}

/** Path of the downloaded `name:arch=version` .deb (cached in <cache>/router/debs/). */
export function debFile(suite, name, arch, version) {
  const dir = routerCache("debs");
  // apt-get download keeps an epoch in the file name, URL-escaped: NAME_1%3aVERSION_ARCH.deb.
  const want = `${name}_${version.replace(/:/g, "%3a")}_${arch}.deb`;
  const path = join(dir, want);
  if (existsSync(path)) return path;
  aptUpdate(suite);
  const { a } = aptArgs(suite);
  log(`downloading ${name}:${arch} ${version}`);
  run(
    `apt-get download ${name}:${arch}`,
    "apt-get",
    [...a, "download", `${name}:${arch}=${version}`],
    {
      cwd: dir,
      logFile: join(dir, "download.log"),
    },
  );
  const got = readdirSync(dir).find((f) => f === want);
  if (!got) throw new RouterBuildError("apt-get download", `${want} not found after download`);
  return join(dir, got);
}

/**
 * Downloads source package `name=version` (dsc, orig tarball, debian tarball; apt checks them
 * against the signed index) into <cache>/router/src/<name>_<version>/ and returns that dir.
 */
export function sourceDir(suite, name, version) {
  const dir = routerCache("src", `${name}_${version.replace(/^\d+:/, "")}`);
  const has = readdirSync(dir).some((f) => /\.orig\.tar\./.test(f));
  if (has) return dir;
  aptUpdate(suite);
  const { a } = aptArgs(suite);
  log(`downloading source ${name} ${version} (${suite})`);
  run(
    `apt-get source ${name}`,
    "apt-get",
    [...a, "source", "--download-only", `${name}=${version}`],
    {
      cwd: dir,
      logFile: join(dir, "download.log"),
    },
  );
  if (!readdirSync(dir).some((f) => /\.orig\.tar\./.test(f))) {
    throw new RouterBuildError("apt-get source", `no orig tarball for ${name} ${version}`);
  }
  return dir;
}

/** The orig tarball in a sourceDir. */
export function origTarball(dir) {
  const f = readdirSync(dir).find((n) => /\.orig\.tar\./.test(n));
  if (!f) throw new RouterBuildError("source", `no orig tarball in ${dir}`);
  return join(dir, f);
}

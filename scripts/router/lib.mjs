// Shared plumbing for the router build: cache paths, logged commands, version-keyed stamps
// and the run lock. Plain Node (no dependencies): the build must work before node_modules.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export const defaults = {
  /** Cache root; everything downloaded or built lives under <cache>/router/. */
  cache: process.env.PEAR_FOG_CACHE || join(homedir(), ".cache", "pear-fog"),
  /** Parallel make/cmake jobs (the machines have 2 shared cores). */
  jobs: Number(process.env.ROUTER_JOBS || 2),
  /** `nice` level for compilers and configure scripts. */
  nice: 10,
  /** How long a second run waits for the lock held by a live process, ms. */
  lockWaitMs: 45 * 60_000,
  /** Debian mirror used by the private apt configs (the one this host's sources use). */
  mirror: process.env.DEBIAN_MIRROR || "http://deb.debian.org/debian",
};

/** Error with the step that failed and where its full log is. */
export class RouterBuildError extends Error {
  constructor(step, message, log) {
    super(`build-router: ${step}: ${message}${log ? `\n  full log: ${log}` : ""}`);
    this.step = step;
    this.log = log;
  }
}

/** <cache>/router[/...parts], created. */
export function routerCache(...parts) {
  const dir = join(defaults.cache, "router", ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function log(msg) {
  process.stderr.write(`[build-router] ${msg}\n`);
}

/**
 * Runs a command with output appended to `logFile`; throws RouterBuildError with the log's
 * tail on failure. `nice: true` lowers priority (compilers). Returns stdout when `capture`.
 */
export function run(step, cmd, args, { cwd, env, logFile, nice = false, capture = false } = {}) {
  const argv = nice ? ["nice", "-n", String(defaults.nice), cmd, ...args] : [cmd, ...args];
  let fd = null;
  if (logFile) {
    mkdirSync(dirname(logFile), { recursive: true });
    fd = openSync(logFile, "a");
    writeSync(fd, `\n$ (cd ${cwd ?? process.cwd()}) ${argv.join(" ")}\n`);
  }
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd,
    env: { ...process.env, LC_ALL: "C", ...env },
    stdio: ["ignore", capture || fd === null ? "pipe" : fd, fd === null ? "pipe" : fd],
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (fd !== null) closeSync(fd);
  if (r.error || r.status !== 0) {
    let tail = "";
    if (logFile && existsSync(logFile)) {
      tail = readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-15).join("\n");
    } else {
      tail = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n").slice(-15).join("\n");
    }
    const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
    throw new RouterBuildError(step, `${argv.join(" ")}: ${why}\n${tail}`, logFile);
  }
  return r.stdout ?? "";
}

/** Short hash of a key object: a stamp names exactly the versions and flags that built it. */
export function keyOf(obj) {
  return createHash("sha256").update(JSON.stringify(obj)).digest("hex").slice(0, 16);
}

/** True when `dir/.stamp` records `key` (the step already ran with these inputs). */
export function stamped(dir, key) {
  const f = join(dir, ".stamp");
  return existsSync(f) && readFileSync(f, "utf8").trim() === key;
}

export function stamp(dir, key) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, ".stamp"), key + "\n");
}

/** Fresh empty directory. */
export function freshDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}

/**
 * Takes <cache>/router/.lock (O_EXCL file holding our pid). A lock left by a dead process is
 * taken over; one held by a live process is waited for up to defaults.lockWaitMs.
 * Returns the release function.
 */
export function acquireLock() {
  const file = join(routerCache(), ".lock");
  const start = Date.now();
  let said = false;
  for (;;) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      const release = () => {
        try {
          if (readFileSync(file, "utf8").trim() === String(process.pid)) rmSync(file);
        } catch {
          /* already gone */
        }
      };
      process.on("exit", release);
      return release;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(file, "utf8").trim());
    } catch {
      continue;
    }
    if (!holder || !pidAlive(holder)) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() - start > defaults.lockWaitMs) {
      throw new RouterBuildError("lock", `${file} held by pid ${holder} for too long`);
    }
    if (!said) log(`waiting for another build (pid ${holder}, lock ${file})`);
    said = true;
    spawnSync("sleep", ["2"]);
  }
}

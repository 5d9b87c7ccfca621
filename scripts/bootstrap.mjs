// Set-up that `npm test`, `npm run demo` and `npm run bench` do before anything else, so that
// a fresh clone on a fresh Debian 12 machine (root, npm registry + Debian mirror only) works:
//   1. Debian packages the build and tests need, installed with apt-get when missing.
//   2. `npm ci` when node_modules is missing or was installed from another package-lock.json.
//   3. The download cache directory ($PEAR_FOG_CACHE, default ~/.cache/pear-fog).
// Plain Node (no dependencies): it runs before node_modules exists.
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Debian packages, each with why it is needed. Add here, nowhere else. */
export const APT_PACKAGES = {
  "build-essential": "C compiler, make, libc headers for pear-fogd",
  "pkg-config": "finds OpenSSL and usrsctp flags",
  "libssl-dev": "DTLS 1.2, SHA-256, ECDSA certificates (OpenSSL 3)",
  openssl: "CLI used by test_dtls (s_client/s_server interop, fingerprints)",
  "libusrsctp-dev": "SCTP over DTLS for data channels",
  clang: "libFuzzer harnesses",
  "libclang-rt-14-dev": "libFuzzer and sanitizer runtimes for clang",
  chromium: "real browser peer for interop and SDK tests",
  ffmpeg: "generates the demo HLS test stream",
  busybox: "ash and applets for the OpenWrt script tests (init, rpcd, uci-defaults, wifi)",
  nftables: "NAT boxes of every RFC 4787 class in the NAT lab (test/nat/lab.ts)",
  coturn: "the TURN server relayed pairs use in the NAT tests",
  miniupnpd: "the UPnP-IGD / NAT-PMP / PCP gateway of the NAT lab's port-mapping tests",
};

/** Where downloads (kernels, sources, toolchains) are cached, outside the work tree. */
export function cacheDir() {
  const dir = process.env.PEAR_FOG_CACHE || join(homedir(), ".cache", "pear-fog");
  mkdirSync(dir, { recursive: true });
  return dir;
}

function log(msg) {
  process.stderr.write(`[bootstrap] ${msg}\n`);
}

/** The subset of `names` that dpkg does not list as installed. */
export function missingAptPackages(names) {
  const r = spawnSync("dpkg-query", ["-W", "-f=${Package} ${db:Status-Status}\n", ...names], {
    encoding: "utf8",
  });
  const installed = new Set(
    (r.stdout ?? "")
      .split("\n")
      .filter((l) => l.endsWith(" installed"))
      .map((l) => l.split(" ")[0]),
  );
  return names.filter((n) => !installed.has(n));
}

/**
 * apt-get installs whichever of `names` are missing (system-wide; root only). The one
 * installer for bootstrap, the router toolchains and the QEMU images: it waits up to 10 min
 * for another apt/dpkg to finish. Throws an Error that names what is missing.
 */
export function ensureAptPackages(names = Object.keys(APT_PACKAGES)) {
  const missing = missingAptPackages(names);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages (run as root or install them): ${missing.join(" ")}`);
  }
  log(`installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const lock = ["-o", "DPkg::Lock::Timeout=600"];
  execFileSync("apt-get", [...lock, "update", "-qq"], { stdio: "inherit", env });
  execFileSync(
    "apt-get",
    [...lock, "install", "-y", "-qq", "--no-install-recommends", ...missing],
    {
      stdio: ["ignore", "ignore", "inherit"],
      env,
    },
  );
  const still = missingAptPackages(names);
  if (still.length) throw new Error(`apt-get did not install: ${still.join(" ")}`);
}

export function ensureNodeModules() {
  const lock = join(ROOT, "package-lock.json");
  const stamp = join(ROOT, "node_modules", ".pear-fog-lock-sha256");
  const want = createHash("sha256").update(readFileSync(lock)).digest("hex");
  if (existsSync(stamp) && readFileSync(stamp, "utf8").trim() === want) return;
  log("node_modules missing or stale: npm ci");
  try {
    execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: ROOT, stdio: "inherit" });
  } catch {
    // npm 11 writes lock files without other platforms' optional packages (rollup's), then
    // `npm ci` refuses them as "out of sync"; `npm install` installs the same locked versions.
    log("npm ci refused the lock file; installing the locked versions with npm install");
    execFileSync("npm", ["install", "--no-audit", "--no-fund"], { cwd: ROOT, stdio: "inherit" });
  }
  // npm install may have rewritten the lock file: stamp what is there now.
  writeFileSync(stamp, createHash("sha256").update(readFileSync(lock)).digest("hex") + "\n");
}

export function bootstrap({ apt = true } = {}) {
  if (apt) ensureAptPackages();
  ensureNodeModules();
  cacheDir();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    bootstrap();
  } catch (err) {
    console.error(`bootstrap: ${err.message}`);
    process.exit(1);
  }
}

// A throw-away OpenWrt-like root for running the pear-fog shell scripts under busybox ash:
// the files openwrt/Makefile installs (absolute paths rewritten into the root), busybox
// applets as the only tools on PATH, stand-ins for uci/ubus/logger/procd/rc.common that
// record their calls (test/openwrt/shims/), and the real pear-fogd.
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildPearFogd, type Build } from "../support/pear-fogd";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const OPENWRT = join(REPO, "openwrt");
const SHIMS = join(REPO, "test/openwrt/shims");

/** busybox, required: the scripts are meant for OpenWrt's busybox ash and applets. */
export function busybox(): string {
  try {
    return execFileSync("sh", ["-c", "command -v busybox"]).toString().trim();
  } catch {
    throw new Error(
      "busybox is not installed (apt-get install busybox); the OpenWrt tests need it",
    );
  }
}

/** A directory of busybox applet links (and nothing else), shared by runs: made once. */
export function appletDir(): string {
  const bb = busybox();
  const dir = join(tmpdir(), `pf-busybox-applets-${process.getuid?.() ?? 0}`);
  if (existsSync(join(dir, "awk"))) return dir;
  const tmp = mkdtempSync(`${dir}.tmp-`);
  for (const a of execFileSync(bb, ["--list"]).toString().trim().split("\n")) {
    symlinkSync(bb, join(tmp, a));
  }
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another test file made it first
  }
  return dir;
}

export interface InstallLine {
  /** INSTALL_BIN, INSTALL_CONF or INSTALL_DATA */
  kind: string;
  /** source under openwrt/ ("./files/pear-fog.init") or $(PKG_BUILD_DIR)/... */
  src: string;
  /** absolute install path ("/etc/init.d/pear-fog") */
  dest: string;
}

/** The file install lines of openwrt/Makefile's Package/pear-fog/install. */
export function makefileInstalls(): InstallLine[] {
  const mk = readFileSync(join(OPENWRT, "Makefile"), "utf8");
  const out: InstallLine[] = [];
  for (const m of mk.matchAll(
    /\$\((INSTALL_BIN|INSTALL_CONF|INSTALL_DATA)\) (\S+) \$\(1\)(\S+)/g,
  )) {
    out.push({ kind: m[1] as string, src: m[2] as string, dest: m[3] as string });
  }
  return out;
}

// Absolute paths the scripts use that must point into the test root.
const ROOTED =
  /(?<=^|[\s"'=(])(\/usr\/share\/pear-fog|\/usr\/sbin\/pear-fogd|\/usr\/libexec\/pear-fog|\/etc\/config|\/var\/run\/pear-fog|\/lib\/functions|\/etc\/init\.d|\/etc\/uci-defaults|\/etc\/rc\.common)(?=[/\s"';)]|$)/gm;

/** Script text with its absolute paths moved under root. */
export function rootPaths(text: string, root: string): string {
  return text.replace(ROOTED, (p) => root + p);
}

export interface Root {
  dir: string;
  /** pear-fogd inside the root (a link to the built binary) */
  daemon: string;
  env: Record<string, string>;
  /** Recorded uci/ubus/procd calls. */
  log(): string;
  /** Lines given to logger. */
  syslog(): string;
  clearLogs(): void;
  /** Runs a script of the root under busybox ash. */
  sh(path: string, args?: string[], input?: string, env?: Record<string, string>): ShResult;
  /** `uci ARGS` in the root (config dir root/etc/config). */
  uci(...args: string[]): string;
  config(): string;
  remove(): void;
}

export interface ShResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const daemons = new Map<Build, string>();
function daemonBinary(build: Build): string {
  let b = daemons.get(build);
  if (b) return b;
  try {
    b = buildPearFogd(build);
  } catch (e) {
    // Another module of the shared C library may be mid-edit; a binary built before serves
    // these tests (they exercise the scripts, not the newest daemon code).
    b = join(REPO, "libs/webrtc-native/build", build, "pear-fogd");
    if (!existsSync(b)) throw e;
    console.warn(`pear-fogd build failed; using the existing ${b}`);
  }
  daemons.set(build, b);
  return b;
}

/** A fresh root with the pear-fog package's files installed and the shipped config. */
export function makeRoot(build: Build = "san"): Root {
  const bb = busybox();
  const daemon = daemonBinary(build); // before anything is made: a failed build leaves nothing
  const dir = mkdtempSync(join(tmpdir(), "pf-openwrt-"));
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  const applets = execFileSync(bb, ["--list"]).toString().trim().split("\n");
  for (const a of applets) symlinkSync(bb, join(bin, a));
  for (const s of ["uci", "ubus", "logger"]) {
    rmSync(join(bin, s), { force: true });
    copyFileSync(join(SHIMS, s), join(bin, s));
    chmodSync(join(bin, s), 0o755);
  }
  symlinkSync(process.execPath, join(bin, "node"));
  cpSync(join(SHIMS, "lib"), join(dir, "lib"), { recursive: true });
  mkdirSync(join(dir, "etc"), { recursive: true });
  copyFileSync(join(SHIMS, "rc.common"), join(dir, "etc/rc.common"));
  for (const d of ["var/run/pear-fog", "etc/rc.d"]) mkdirSync(join(dir, d), { recursive: true });

  for (const line of makefileInstalls()) {
    const dest = join(dir, line.dest);
    mkdirSync(dirname(dest), { recursive: true });
    if (line.src.startsWith("./files/")) {
      const text = readFileSync(join(OPENWRT, line.src), "utf8");
      // The shipped config stays as it is; scripts get their paths rooted.
      writeFileSync(dest, line.dest === "/etc/config/pear-fog" ? text : rootPaths(text, dir));
      chmodSync(dest, line.kind === "INSTALL_BIN" ? 0o755 : 0o644);
    } else {
      symlinkSync(daemon, dest);
    }
  }
  const logPath = join(dir, "calls.log");
  const syslogPath = join(dir, "syslog.log");
  writeFileSync(logPath, "");
  writeFileSync(syslogPath, "");
  const env: Record<string, string> = {
    PATH: bin,
    HOME: dir,
    UCI_CONFIG_DIR: join(dir, "etc/config"),
    PF_TEST_ROOT: dir,
    PF_TEST_LOG: logPath,
    PF_TEST_SYSLOG: syslogPath,
    PF_TEST_UBUS: join(dir, "ubus"),
    ASAN_OPTIONS: "detect_leaks=0",
  };
  const root: Root = {
    dir,
    daemon: join(dir, "usr/sbin/pear-fogd"),
    env,
    log: () => readFileSync(logPath, "utf8"),
    syslog: () => readFileSync(syslogPath, "utf8"),
    clearLogs: () => {
      writeFileSync(logPath, "");
      writeFileSync(syslogPath, "");
    },
    sh(path, args = [], input, extra = {}) {
      const r = spawnSync(bb, ["ash", join(dir, path), ...args], {
        env: { ...env, ...extra },
        input: input ?? "",
        timeout: 60_000,
      });
      return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    },
    uci(...args) {
      return execFileSync(join(bin, "uci"), args, { env }).toString();
    },
    config: () => readFileSync(join(dir, "etc/config/pear-fog"), "utf8"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  return root;
}

/** Parses one JSON line, failing the test with the text when it is not JSON. */
export function json(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON: ${JSON.stringify(text)}`);
  }
}

export { existsSync };

// The node agent's configuration: /etc/config/pear-fog in UCI syntax, section `pear-fog`
// (named `main` by the package's uci-defaults; the first section of that type is used):
//
//   config pear-fog 'main'
//   	option sharing '1'
//   	option upload_cap '5mbit'      # rate: bytes/s, K/M/G/T (1024) or bit/kbit/mbit/gbit
//   	option monthly_cap '200G'      # size: bytes, K/M/G/T (1024)
//   	list hours '00:00-07:00'
//   	list hours '22:00-24:00'
//   	option store_path '/mnt/sda1/pear-fog'
//   	option store_size '2G'
//   	option coordinator 'wss://fog.example.net/ws/node'
//   	option key_path '/etc/pear-fog/node.key'
//
// Missing options take AGENT_CONFIG_DEFAULTS; a present but invalid option is an error that
// names it. Unknown options are ignored (LuCI and future versions may add some).
import { findSection, getList, getOption, parseUci, writeUci, type UciFile } from "./uci/uci";

/** A window of the day during which sharing is allowed, minutes since local midnight. */
export interface HoursWindow {
  /** 0..1439 */
  startMin: number;
  /** 1..1440; a window with end <= start wraps past midnight. */
  endMin: number;
}

export interface AgentConfig {
  /** Share at all. UCI `sharing`, boolean. Default false (opt-in). */
  sharing: boolean;
  /** Upload rate cap, bytes per second, > 0. UCI `upload_cap`, e.g. '5mbit', '500kbit', '1M/s' (grammar below). Default 625000 (5 Mbit/s). */
  uploadCapBps: number;
  /** Bytes uploaded per calendar month at most; 0 = no cap. UCI `monthly_cap`, e.g. '200G'. Default 0. */
  monthlyCapBytes: number;
  /** When sharing is allowed; empty = always. UCI `hours` list of 'HH:MM-HH:MM'. Default []. */
  hours: HoursWindow[];
  /** Chunk store directory. UCI `store_path`, absolute path. Default "/tmp/pear-fog". */
  storePath: string;
  /** Chunk store size cap, bytes. UCI `store_size`, e.g. '512M'. Default 268435456 (256 MiB). */
  storeSizeBytes: number;
  /** Coordinator node endpoint. UCI `coordinator`, ws:// or wss:// URL. Default "wss://coordinator.pear-fog.net/ws/node". */
  coordinatorUrl: string;
  /** Ed25519 node key file. UCI `key_path`, absolute path. Default "/etc/pear-fog/node.key". */
  keyPath: string;
  /**
   * Edge-compute tasks (docs/jobs.md) this node runs at once; 0 = takes none. UCI `job_slots`,
   * integer 0..16. Default 1. Tasks share the apps' CPU budget (`apps_cpu`).
   */
  jobSlots: number;
}

export const AGENT_CONFIG_DEFAULTS: AgentConfig = {
  sharing: false,
  uploadCapBps: 625_000,
  monthlyCapBytes: 0,
  hours: [],
  storePath: "/tmp/pear-fog",
  storeSizeBytes: 256 * 1024 * 1024,
  coordinatorUrl: "wss://coordinator.pear-fog.net/ws/node",
  keyPath: "/etc/pear-fog/node.key",
  jobSlots: 1,
};

/** UCI section type the agent reads. */
export const AGENT_SECTION_TYPE = "pear-fog";

/** An option's value is invalid. `option` is the UCI option name. */
export class ConfigError extends Error {
  constructor(
    readonly option: string,
    readonly value: string,
    readonly reason: string,
  ) {
    super(`pear-fog.${option}=${JSON.stringify(value)}: ${reason}`);
    this.name = "ConfigError";
  }
}

const TRUE = new Set(["1", "true", "yes", "on", "enabled"]);
const FALSE = new Set(["0", "false", "no", "off", "disabled"]);

export function parseBool(option: string, v: string): boolean {
  const s = v.toLowerCase();
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw new ConfigError(option, v, "expected 1/0, true/false, yes/no, on/off");
}

// Sizes and rates: one grammar for everything that reads /etc/config/pear-fog — this parser,
// pear-fogd's (libs/webrtc-native/src/config.c), lib.sh's pf_size_bytes/pf_rate_bytes and the
// LuCI form; test/openwrt/caps.test.ts runs one table of values through all of them.
//
//   size  DIGITS [UNIT]                bytes; UNIT (any case, 1024-based):
//                                      b | k kb kib | m mb mib | g gb gib | t tb tib
//   rate  DIGITS [UNIT | BITS] ["/s"]  bytes per second; BITS (any case, 1000-based as tc):
//                                      bit kbit mbit gbit (5mbit = 625000 B/s)
//
// No sign, fraction or space; floored to whole bytes; at most 2^53 - 1; a rate that is not 0
// but under 1 B/s ("1bit") is refused.

/** unit -> [multiplier, divisor] */
const SIZE_UNITS: Record<string, readonly [number, number]> = {
  "": [1, 1],
  b: [1, 1],
  k: [2 ** 10, 1],
  kb: [2 ** 10, 1],
  kib: [2 ** 10, 1],
  m: [2 ** 20, 1],
  mb: [2 ** 20, 1],
  mib: [2 ** 20, 1],
  g: [2 ** 30, 1],
  gb: [2 ** 30, 1],
  gib: [2 ** 30, 1],
  t: [2 ** 40, 1],
  tb: [2 ** 40, 1],
  tib: [2 ** 40, 1],
};

const BIT_UNITS: Record<string, readonly [number, number]> = {
  bit: [1, 8],
  kbit: [1000, 8],
  mbit: [1_000_000, 8],
  gbit: [1_000_000_000, 8],
};

/** The grammar above; null when `v` is not in it. Exact (BigInt) for any digit count. */
function parseAmount(v: string, rate: boolean): number | null {
  const m = (rate ? /^(\d+)([a-zA-Z]*)(?:\/s)?$/ : /^(\d+)([a-zA-Z]*)$/).exec(v);
  if (!m) return null;
  const unit = (m[2] as string).toLowerCase();
  const u = Object.hasOwn(SIZE_UNITS, unit)
    ? SIZE_UNITS[unit]
    : rate && Object.hasOwn(BIT_UNITS, unit)
      ? BIT_UNITS[unit]
      : undefined;
  if (!u) return null;
  const n = BigInt(m[1] as string);
  const r = (n * BigInt(u[0])) / BigInt(u[1]);
  if (r > BigInt(Number.MAX_SAFE_INTEGER) || (n > 0n && r === 0n)) return null;
  return Number(r);
}

/** '512M', '2G', '1GiB', '1048576' -> bytes (1024-based units). */
export function parseSize(option: string, v: string): number {
  const n = parseAmount(v, false);
  if (n === null) {
    throw new ConfigError(
      option,
      v,
      "expected a size like 512M, 2G or a byte count (at most 2^53-1)",
    );
  }
  return n;
}

/** '5mbit', '500kbit', '2M/s', '250000' (bytes/s) -> bytes per second; 0 allowed. */
export function parseRate(option: string, v: string): number {
  const n = parseAmount(v, true);
  if (n === null) {
    throw new ConfigError(
      option,
      v,
      "expected a rate like 5mbit, 500kbit, 2M/s or bytes/s (at most 2^53-1, at least 1 B/s)",
    );
  }
  return n;
}

/** parseRate, and more than 0 (upload_cap: the node advertises it as its capacity). */
export function parsePositiveRate(option: string, v: string): number {
  const n = parseRate(option, v);
  if (n === 0) throw new ConfigError(option, v, "must be more than 0");
  return n;
}

/** 'HH:MM-HH:MM' (24:00 allowed as an end; end <= start wraps past midnight). */
export function parseHours(option: string, v: string): HoursWindow {
  const m = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(v);
  if (!m) throw new ConfigError(option, v, "expected HH:MM-HH:MM");
  const [h1, m1, h2, m2] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
  if (h1 > 23 || m1 > 59 || h2 > 24 || m2 > 59 || (h2 === 24 && m2 !== 0)) {
    throw new ConfigError(option, v, "time out of range");
  }
  const startMin = h1 * 60 + m1;
  const endMin = h2 * 60 + m2;
  if (startMin === endMin) throw new ConfigError(option, v, "empty window (start equals end)");
  return { startMin, endMin };
}

/** True if `minuteOfDay` (0..1439) is inside any window; no windows = always. */
export function withinHours(hours: readonly HoursWindow[], minuteOfDay: number): boolean {
  if (hours.length === 0) return true;
  return hours.some((w) =>
    w.startMin < w.endMin
      ? minuteOfDay >= w.startMin && minuteOfDay < w.endMin
      : minuteOfDay >= w.startMin || minuteOfDay < w.endMin,
  );
}

function parseAbsPath(option: string, v: string): string {
  if (!v.startsWith("/") || v.includes("\0"))
    throw new ConfigError(option, v, "expected an absolute path");
  return v;
}

function parseJobSlots(option: string, v: string): number {
  if (!/^\d{1,2}$/.test(v) || Number(v) > 16) {
    throw new ConfigError(option, v, "expected a whole number of tasks from 0 to 16");
  }
  return Number(v);
}

function parseWsUrl(option: string, v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError(option, v, "expected a ws:// or wss:// URL");
  }
  if (u.protocol !== "ws:" && u.protocol !== "wss:") {
    throw new ConfigError(option, v, "expected a ws:// or wss:// URL");
  }
  return v;
}

/** The agent configuration from a parsed UCI file. Throws ConfigError naming the option. */
export function agentConfigFromUci(file: UciFile): AgentConfig {
  const sec = findSection(file, `@${AGENT_SECTION_TYPE}[0]`);
  const cfg: AgentConfig = { ...AGENT_CONFIG_DEFAULTS, hours: [] };
  if (!sec) return cfg;
  const opt = <T>(name: string, parse: (option: string, v: string) => T): T | undefined => {
    const v = getOption(sec, name);
    return v === undefined ? undefined : parse(name, v);
  };
  cfg.sharing = opt("sharing", parseBool) ?? cfg.sharing;
  cfg.uploadCapBps = opt("upload_cap", parsePositiveRate) ?? cfg.uploadCapBps;
  cfg.monthlyCapBytes = opt("monthly_cap", parseSize) ?? cfg.monthlyCapBytes;
  cfg.hours = getList(sec, "hours").map((h) => parseHours("hours", h));
  cfg.storePath = opt("store_path", parseAbsPath) ?? cfg.storePath;
  cfg.storeSizeBytes = opt("store_size", parseSize) ?? cfg.storeSizeBytes;
  if (cfg.storeSizeBytes <= 0) {
    throw new ConfigError("store_size", String(getOption(sec, "store_size")), "must be > 0");
  }
  cfg.coordinatorUrl = opt("coordinator", parseWsUrl) ?? cfg.coordinatorUrl;
  cfg.keyPath = opt("key_path", parseAbsPath) ?? cfg.keyPath;
  cfg.jobSlots = opt("job_slots", parseJobSlots) ?? cfg.jobSlots;
  return cfg;
}

/** Parses /etc/config/pear-fog text. Throws UciError (syntax) or ConfigError (values). */
export function parseAgentConfig(text: string): AgentConfig {
  return agentConfigFromUci(parseUci(text));
}

function hhmm(min: number): string {
  return `${String(Math.floor(min / 60)).padStart(2, "0")}:${String(min % 60).padStart(2, "0")}`;
}

/**
 * The configuration as a UCI file (section `pear-fog 'main'`), values in canonical form: rates
 * in bytes/s and sizes in bytes as plain numbers. agentConfigFromUci inverts it exactly.
 */
export function agentConfigToUci(cfg: AgentConfig): UciFile {
  const options = new Map<string, string | string[]>([
    ["sharing", cfg.sharing ? "1" : "0"],
    ["upload_cap", String(cfg.uploadCapBps)],
    ["monthly_cap", String(cfg.monthlyCapBytes)],
  ]);
  if (cfg.hours.length > 0) {
    options.set(
      "hours",
      cfg.hours.map((h) => `${hhmm(h.startMin)}-${hhmm(h.endMin)}`),
    );
  }
  options.set("store_path", cfg.storePath);
  options.set("store_size", String(cfg.storeSizeBytes));
  options.set("coordinator", cfg.coordinatorUrl);
  options.set("key_path", cfg.keyPath);
  options.set("job_slots", String(cfg.jobSlots));
  return { package: "pear-fog", sections: [{ type: AGENT_SECTION_TYPE, name: "main", options }] };
}

/** /etc/config/pear-fog text for a configuration. */
export function formatAgentConfig(cfg: AgentConfig): string {
  return writeUci(agentConfigToUci(cfg));
}

// The node agent's configuration: /etc/config/pear-fog in UCI syntax, section `pear-fog`
// (named `main` by the package's uci-defaults; the first section of that type is used):
//
//   config pear-fog 'main'
//   	option sharing '1'
//   	option upload_cap '5mbit'
//   	option monthly_cap '200G'
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
  /** Upload rate cap, bytes per second. UCI `upload_cap`, e.g. '5mbit', '500kbit', '1MB'. Default 625000 (5 Mbit/s). */
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

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** '512M', '2G', '1.5 GiB', '1048576' -> bytes (binary multiples). */
export function parseSize(option: string, v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
  const mult = m ? SIZE_UNITS[(m[2] as string).toLowerCase()] : undefined;
  if (!m || mult === undefined) {
    throw new ConfigError(option, v, "expected a size like 512M, 2G or a byte count");
  }
  const n = Math.floor(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n)) throw new ConfigError(option, v, "size too large");
  return n;
}

const RATE_UNITS: Record<string, number> = {
  // bits per second (tc/sqm style), converted to bytes per second
  bit: 1 / 8,
  kbit: 1000 / 8,
  mbit: 1e6 / 8,
  gbit: 1e9 / 8,
  // bytes per second (decimal, as on speed tests)
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
};

/** '5mbit', '500kbit', '2MB', '2MB/s', '250000' (bytes/s) -> bytes per second. */
export function parseRate(option: string, v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)(?:\/s|ps)?\s*$/.exec(v);
  const mult = m ? RATE_UNITS[(m[2] as string).toLowerCase()] : undefined;
  if (!m || mult === undefined) {
    throw new ConfigError(option, v, "expected a rate like 5mbit, 500kbit or 2MB/s");
  }
  const n = Math.floor(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n) || n <= 0) throw new ConfigError(option, v, "rate must be > 0");
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
  cfg.uploadCapBps = opt("upload_cap", parseRate) ?? cfg.uploadCapBps;
  cfg.monthlyCapBytes = opt("monthly_cap", parseSize) ?? cfg.monthlyCapBytes;
  cfg.hours = getList(sec, "hours").map((h) => parseHours("hours", h));
  cfg.storePath = opt("store_path", parseAbsPath) ?? cfg.storePath;
  cfg.storeSizeBytes = opt("store_size", parseSize) ?? cfg.storeSizeBytes;
  if (cfg.storeSizeBytes <= 0) {
    throw new ConfigError("store_size", String(getOption(sec, "store_size")), "must be > 0");
  }
  cfg.coordinatorUrl = opt("coordinator", parseWsUrl) ?? cfg.coordinatorUrl;
  cfg.keyPath = opt("key_path", parseAbsPath) ?? cfg.keyPath;
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
  return { package: "pear-fog", sections: [{ type: AGENT_SECTION_TYPE, name: "main", options }] };
}

/** /etc/config/pear-fog text for a configuration. */
export function formatAgentConfig(cfg: AgentConfig): string {
  return writeUci(agentConfigToUci(cfg));
}

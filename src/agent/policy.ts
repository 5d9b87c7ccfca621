// When a node shares: the owner's switch, the hours windows and the monthly upload cap.
// Pure functions over an injected clock reading, so they are tested without waiting.
import { withinHours, type AgentConfig } from "./config";

/** Why the node is or is not sharing right now. */
export type SharingReason = "sharing" | "disabled" | "outside_hours" | "monthly_cap";

export interface SharingDecision {
  share: boolean;
  reason: SharingReason;
}

/** Bytes served in one calendar month (local time); persisted by the agent. */
export interface MonthlyUsage {
  /** "YYYY-MM" */
  month: string;
  bytes: number;
}

/** `usage` moved to `month`: a new month starts from zero. */
export function usageFor(usage: MonthlyUsage, month: string): MonthlyUsage {
  return usage.month === month ? usage : { month, bytes: 0 };
}

/** Add `bytes` served at a time whose month is `month` (rolls over first). */
export function addServed(usage: MonthlyUsage, month: string, bytes: number): MonthlyUsage {
  const u = usageFor(usage, month);
  return { month: u.month, bytes: u.bytes + Math.max(0, bytes) };
}

export function decideSharing(
  cfg: Pick<AgentConfig, "sharing" | "hours" | "monthlyCapBytes">,
  local: { minuteOfDay: number; month: string },
  usage: MonthlyUsage,
): SharingDecision {
  if (!cfg.sharing) return { share: false, reason: "disabled" };
  if (!withinHours(cfg.hours, local.minuteOfDay)) return { share: false, reason: "outside_hours" };
  if (cfg.monthlyCapBytes > 0 && usageFor(usage, local.month).bytes >= cfg.monthlyCapBytes) {
    return { share: false, reason: "monthly_cap" };
  }
  return { share: true, reason: "sharing" };
}

/** Parse the usage state file; anything unreadable starts the month from zero (logged by the caller). */
export function parseUsage(text: string): MonthlyUsage | null {
  try {
    const v = JSON.parse(text) as unknown;
    if (
      typeof v === "object" &&
      v !== null &&
      typeof (v as MonthlyUsage).month === "string" &&
      /^\d{4}-\d{2}$/.test((v as MonthlyUsage).month) &&
      Number.isSafeInteger((v as MonthlyUsage).bytes) &&
      (v as MonthlyUsage).bytes >= 0
    ) {
      return { month: (v as MonthlyUsage).month, bytes: (v as MonthlyUsage).bytes };
    }
  } catch {
    // fall through
  }
  return null;
}

/** What the Wi-Fi context says about the household (src/agent/wifi.ts reads it). */
export interface WifiLoad {
  clients: number;
  busy: boolean;
  /** The owner's busy threshold (UCI wifi_busy_clients); 0 = unknown. */
  busyClients: number;
  /** The limit the router's own watcher gave pear-fogd (wifi_busy_upload_cap), or null. */
  routerUploadCap: number | null;
}

/** Busy: never less than this share of upload_cap (1/8). */
export const WIFI_MIN_SHARE = 8;

/**
 * The upload cap while the household's Wi-Fi is in use (docs/openwrt.md, "Wi-Fi context"):
 * - no Wi-Fi context, or quiet: upload_cap;
 * - the router's watcher applies its own limit (wifi_busy_upload_cap > 0): that limit, so the
 *   agent and the watcher never fight over pear-fogd's setting;
 * - busy: upload_cap × busy_clients / (2 × clients) — half at the threshold, less as more
 *   devices join — but at least upload_cap / 8 and at least 1 B/s.
 */
export function wifiUploadCap(uploadCapBps: number, wifi: WifiLoad | null): number {
  if (!wifi) return uploadCapBps;
  if (wifi.routerUploadCap !== null && wifi.routerUploadCap > 0) {
    return Math.min(uploadCapBps, wifi.routerUploadCap);
  }
  if (!wifi.busy) return uploadCapBps;
  const threshold = wifi.busyClients > 0 ? Math.min(wifi.busyClients, wifi.clients) : wifi.clients;
  const scaled = Math.floor((uploadCapBps * threshold) / (2 * Math.max(1, wifi.clients)));
  return Math.max(1, Math.floor(uploadCapBps / WIFI_MIN_SHARE), scaled);
}

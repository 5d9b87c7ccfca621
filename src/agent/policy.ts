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

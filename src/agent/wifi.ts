// The router's Wi-Fi context for the agent: /var/run/pear-fog/wifi.json, written by the
// opt-in watcher `/usr/libexec/pear-fog/wifi-context` (openwrt/files/pear-fog.wifi) from
// hostapd's ubus objects:
//
//   {"enabled":true,"clients":3,"busy":false,"busy_clients":8,"updated":1795370000,
//    "interfaces":[{"name":"phy0-ap0","clients":2}],"last_event":{...},"upload_cap_applied":null}
//
// Read through the platform's file API (the same on Node and inside pear-fogd). A missing,
// unreadable or disabled file means "no Wi-Fi context": the agent behaves as without it.
// What the agent does with it is policy (src/agent/policy.ts wifiUploadCap): back off while
// the household is busy, report the client count in its stats.
import type { Platform } from "../platform/platform";
import { wifiUploadCap, type WifiLoad } from "./policy";

/** Where the watcher writes its state (next to pear-fogd's control socket). */
export const WIFI_STATE_PATH = "/var/run/pear-fog/wifi.json";

export interface WifiState extends WifiLoad {
  /** Associated stations over all access-point interfaces. */
  clients: number;
  /** clients >= busyClients. */
  busy: boolean;
  /** The owner's threshold (UCI wifi_busy_clients). */
  busyClients: number;
  /** When the watcher last wrote the file, s since the epoch. */
  updated: number;
  interfaces: { name: string; clients: number }[];
  /**
   * The upload limit the watcher itself gave pear-fogd (UCI wifi_busy_upload_cap > 0), or
   * null: it leaves the limit to the agent.
   */
  routerUploadCap: number | null;
}

const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** The watcher's JSON, or null when it is not a usable, enabled state. */
export function parseWifiState(text: string): WifiState | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const o = v as Record<string, unknown>;
  if (o.enabled !== true || !count(o.clients) || typeof o.busy !== "boolean") return null;
  const interfaces = Array.isArray(o.interfaces)
    ? o.interfaces.flatMap((i: unknown) => {
        const r = i as Record<string, unknown> | null;
        return r && typeof r.name === "string" && count(r.clients)
          ? [{ name: r.name, clients: r.clients }]
          : [];
      })
    : [];
  return {
    clients: o.clients,
    busy: o.busy,
    busyClients: count(o.busy_clients) ? o.busy_clients : 0,
    updated: count(o.updated) ? o.updated : 0,
    interfaces,
    routerUploadCap: count(o.upload_cap_applied) ? o.upload_cap_applied : null,
  };
}

/** Reads and parses the state file; null when absent, unreadable or disabled. */
export async function readWifiState(
  p: Pick<Platform, "readFile">,
  path = WIFI_STATE_PATH,
): Promise<WifiState | null> {
  let bytes: Uint8Array | null;
  try {
    bytes = await p.readFile(path);
  } catch {
    return null;
  }
  return bytes ? parseWifiState(new TextDecoder().decode(bytes)) : null;
}

/** What the agent reports in its stats: null without Wi-Fi context. */
export interface WifiStats {
  clients: number;
  busy: boolean;
  /** The upload cap the agent applies now (its upload_cap, or less while busy), bytes/s. */
  uploadCapBps: number;
}

/**
 * The agent's Wi-Fi context: `update()` on each tick re-reads the file and returns the upload
 * cap to apply (changed: true when it differs from the last one returned); `stats()` for the
 * agent's stats. One file read per tick (the file is a few hundred bytes on tmpfs).
 */
export class WifiContext {
  private state: WifiState | null = null;
  private cap: number;

  constructor(
    private readonly p: Pick<Platform, "readFile" | "log">,
    private readonly uploadCapBps: number,
    private readonly path = WIFI_STATE_PATH,
  ) {
    this.cap = uploadCapBps;
  }

  async update(): Promise<{ uploadCapBps: number; changed: boolean }> {
    const before = this.state;
    this.state = await readWifiState(this.p, this.path);
    const cap = wifiUploadCap(this.uploadCapBps, this.state);
    const changed = cap !== this.cap;
    this.cap = cap;
    if (changed || (before?.busy ?? false) !== (this.state?.busy ?? false)) {
      this.p.log(
        "info",
        this.state?.busy
          ? `wifi: household busy (${this.state.clients} clients): upload cap ${cap} B/s`
          : `wifi: household quiet (${this.state?.clients ?? "no"} clients): upload cap ${cap} B/s`,
      );
    }
    return { uploadCapBps: cap, changed };
  }

  stats(): WifiStats | null {
    return this.state
      ? { clients: this.state.clients, busy: this.state.busy, uploadCapBps: this.cap }
      : null;
  }
}

// The router owner's UCI options for edge-compute apps (issue 7, docs/apps.md), read by the
// native entry from the agent's section of /etc/config/pear-fog (pear-fogd itself skips them):
//
//   option apps '1'            # run apps at all (boolean). Default 1.
//   option apps_cpu '500'      # all sandboxes together, permille of one core (1..64000). Default 500.
//   option apps_memory '64M'   # the sum of running apps' memory limits (a size, as every size
//                              # in the file: src/agent/config.ts). Default 64M.
//   option apps_path '/mnt/sda1/pear-fog-apps'  # per-app storage. Default <agent_staging>/apps.
//   option apps_wifi '0'       # apps may ask for the Wi-Fi context (boolean). Default 0.
//   option apps_upload '1024'  # all apps' messages to browsers together, KiB/s (0 = no total
//                              # beyond each app's manifest uploadKiBps). Default 1024.
//
// A bad value is an error naming the option (the agent then restarts with backoff, like any
// other bad option).
import { ConfigError, parseBool, parseSize } from "../../agent/config";
import { getOption, type UciSection } from "../../agent/uci/uci";
import type { AppManagerOptions } from "../../agent/apps";

/** The option names this file reads (the shipped config lists them: test/openwrt/config). */
export const APP_UCI_OPTIONS = [
  "apps",
  "apps_cpu",
  "apps_memory",
  "apps_path",
  "apps_wifi",
  "apps_upload",
];
/** apps_upload's largest value, KiB/s (1 GiB/s). */
export const APPS_UPLOAD_MAX_KIBPS = 1 << 20;

export interface AppUciOptions {
  limits: { cpuPermille?: number; memoryBytes?: number; uploadBytesPerSec?: number };
  manager: Partial<Omit<AppManagerOptions, "httpBase">>;
}

export function appOptionsFromUci(sec: UciSection | undefined): AppUciOptions {
  const o: AppUciOptions = { limits: {}, manager: {} };
  const get = (k: string): string | undefined => (sec ? getOption(sec, k) : undefined);
  const enabled = get("apps");
  if (enabled !== undefined) o.manager.enabled = parseBool("apps", enabled);
  const wifi = get("apps_wifi");
  if (wifi !== undefined) o.manager.allowWifi = parseBool("apps_wifi", wifi);
  const path = get("apps_path");
  if (path !== undefined) {
    if (!path.startsWith("/")) throw new ConfigError("apps_path", path, "not an absolute path");
    o.manager.dir = path;
  }
  const cpu = get("apps_cpu");
  if (cpu !== undefined) {
    const n = Number(cpu);
    if (!Number.isInteger(n) || n < 1 || n > 64000) {
      throw new ConfigError("apps_cpu", cpu, "expected a permille of one core in 1..64000");
    }
    o.limits.cpuPermille = n;
  }
  const upload = get("apps_upload");
  if (upload !== undefined) {
    const n = Number(upload);
    if (!/^[0-9]+$/.test(upload) || n > APPS_UPLOAD_MAX_KIBPS) {
      throw new ConfigError("apps_upload", upload, `expected KiB/s in 0..${APPS_UPLOAD_MAX_KIBPS}`);
    }
    o.limits.uploadBytesPerSec = n * 1024;
  }
  const mem = get("apps_memory");
  if (mem !== undefined) o.limits.memoryBytes = parseSize("apps_memory", mem);
  return o;
}

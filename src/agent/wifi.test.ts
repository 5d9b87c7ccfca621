import { describe, expect, it } from "vitest";
import { WIFI_MIN_SHARE, wifiUploadCap } from "./policy";
import { parseWifiState, readWifiState, WIFI_STATE_PATH, WifiContext } from "./wifi";

/** What openwrt/files/pear-fog.wifi writes (its printf, docs/openwrt.md). */
const state = (o: { clients: number; busy: boolean; cap?: number | null; enabled?: boolean }) =>
  `{"enabled":${o.enabled ?? true},"clients":${o.clients},"busy":${o.busy},"busy_clients":8,` +
  `"updated":1795370000,"interfaces":[{"name":"phy0-ap0","clients":${o.clients}}],` +
  `"last_event":{"type":"assoc","address":"aa:bb:cc:00:00:01","time":1795370000},` +
  `"upload_cap_applied":${o.cap === undefined ? null : o.cap}}\n`;

/** A platform with one file system entry and a log. */
function fakePlatform(files: Map<string, string>) {
  const logs: string[] = [];
  return {
    logs,
    readFile: (path: string) => {
      const t = files.get(path);
      return Promise.resolve(t === undefined ? null : new TextEncoder().encode(t));
    },
    log: (_level: string, msg: string) => void logs.push(msg),
  };
}

describe("wifi.json", () => {
  it("parses the watcher's state", () => {
    expect(parseWifiState(state({ clients: 3, busy: false }))).toEqual({
      clients: 3,
      busy: false,
      busyClients: 8,
      updated: 1795370000,
      interfaces: [{ name: "phy0-ap0", clients: 3 }],
      routerUploadCap: null,
    });
    expect(parseWifiState(state({ clients: 9, busy: true, cap: 100000 }))?.routerUploadCap).toBe(
      100000,
    );
  });

  it("no context: disabled, junk, wrong types", () => {
    expect(parseWifiState(state({ clients: 3, busy: false, enabled: false }))).toBeNull();
    expect(parseWifiState('{"enabled":false,"clients":null}')).toBeNull(); // rpcd's fallback
    expect(parseWifiState("{")).toBeNull();
    expect(parseWifiState('{"enabled":true,"clients":-1,"busy":false}')).toBeNull();
    expect(parseWifiState('{"enabled":true,"clients":2,"busy":"no"}')).toBeNull();
    expect(parseWifiState("null")).toBeNull();
  });

  it("reads through the platform's file API; a missing file is no context", async () => {
    const files = new Map([[WIFI_STATE_PATH, state({ clients: 2, busy: false })]]);
    expect((await readWifiState(fakePlatform(files)))?.clients).toBe(2);
    expect(await readWifiState(fakePlatform(new Map()))).toBeNull();
    const failing = { readFile: () => Promise.reject(new Error("EACCES")) };
    expect(await readWifiState(failing)).toBeNull();
  });
});

describe("wifiUploadCap (the documented back-off rule)", () => {
  const load = (clients: number, busy: boolean, routerUploadCap: number | null = null) => ({
    clients,
    busy,
    busyClients: 8,
    routerUploadCap,
  });

  it("quiet or no context: upload_cap", () => {
    expect(wifiUploadCap(625_000, null)).toBe(625_000);
    expect(wifiUploadCap(625_000, load(7, false))).toBe(625_000);
  });

  it("busy: half at the threshold, less with more clients, never under 1/8", () => {
    expect(wifiUploadCap(625_000, load(8, true))).toBe(312_500);
    expect(wifiUploadCap(625_000, load(16, true))).toBe(156_250);
    expect(wifiUploadCap(625_000, load(100, true))).toBe(625_000 / WIFI_MIN_SHARE);
    expect(wifiUploadCap(3, load(100, true))).toBe(1);
  });

  it("follows the router's own back-off when the watcher applies one", () => {
    expect(wifiUploadCap(625_000, load(9, true, 100_000))).toBe(100_000);
    expect(wifiUploadCap(50_000, load(9, true, 100_000))).toBe(50_000);
  });
});

describe("WifiContext", () => {
  it("reports clients and busy, and the cap to apply when it changes", async () => {
    const files = new Map<string, string>();
    const p = fakePlatform(files);
    const w = new WifiContext(p, 625_000);
    expect(await w.update()).toEqual({ uploadCapBps: 625_000, changed: false });
    expect(w.stats()).toBeNull();

    files.set(WIFI_STATE_PATH, state({ clients: 3, busy: false }));
    expect(await w.update()).toEqual({ uploadCapBps: 625_000, changed: false });
    expect(w.stats()).toEqual({ clients: 3, busy: false, uploadCapBps: 625_000 });

    files.set(WIFI_STATE_PATH, state({ clients: 8, busy: true }));
    expect(await w.update()).toEqual({ uploadCapBps: 312_500, changed: true });
    expect(w.stats()).toEqual({ clients: 8, busy: true, uploadCapBps: 312_500 });
    expect(p.logs.at(-1)).toBe("wifi: household busy (8 clients): upload cap 312500 B/s");
    expect(await w.update()).toEqual({ uploadCapBps: 312_500, changed: false });

    files.set(WIFI_STATE_PATH, state({ clients: 2, busy: false }));
    expect(await w.update()).toEqual({ uploadCapBps: 625_000, changed: true });
    expect(p.logs.at(-1)).toBe("wifi: household quiet (2 clients): upload cap 625000 B/s");

    files.delete(WIFI_STATE_PATH); // watcher switched off: back to no context
    expect(await w.update()).toEqual({ uploadCapBps: 625_000, changed: false });
    expect(w.stats()).toBeNull();
  });
});

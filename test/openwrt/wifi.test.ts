// The Wi-Fi context watcher against hostapd's ubus interface (canned get_clients replies in
// the format `ubus call hostapd.<ifname> get_clients` prints, and subscribe notifications).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WifiContext } from "../../src/agent/wifi";
import { startPearFogd } from "../support/pear-fogd";
import { busybox, json, makeRoot, type Root } from "./support";

let root: Root;
let state: string;

/** get_clients as hostapd's ubus object answers it, pretty-printed by the ubus CLI. */
function getClients(macs: string[]): string {
  const clients = Object.fromEntries(
    macs.map((m) => [m, { auth: true, assoc: true, authorized: true, signal: -52, aid: 1 }]),
  );
  return JSON.stringify({ freq: 5180, clients }, null, "\t") + "\n";
}

function ubus(files: Record<string, string>) {
  const dir = join(root.dir, "ubus");
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

beforeEach(() => {
  root = makeRoot();
  state = join(root.dir, "var/run/pear-fog/wifi.json");
  ubus({
    list: "hostapd.phy0-ap0\nhostapd.phy1-ap0\n",
    "call_hostapd.phy0-ap0_get_clients": getClients(["aa:bb:cc:00:00:01", "AA:BB:CC:00:00:02"]),
    "call_hostapd.phy1-ap0_get_clients": getClients(["aa:bb:cc:00:00:03"]),
  });
});

afterEach(() => root.remove());

describe("wifi-context", () => {
  it("once: counts clients per hostapd interface into wifi.json", () => {
    const r = root.sh("usr/libexec/pear-fog/wifi-context", ["once"]);
    expect(r.code, r.stderr).toBe(0);
    const s = json(readFileSync(state, "utf8"));
    expect(s).toMatchObject({
      enabled: true,
      clients: 3,
      busy: false,
      busy_clients: 8,
      interfaces: [
        { name: "phy0-ap0", clients: 2 },
        { name: "phy1-ap0", clients: 1 },
      ],
      last_event: null,
    });
    expect(Math.abs((s.updated as number) - Date.now() / 1000)).toBeLessThan(60);
    expect(root.log()).toContain("ubus call hostapd.phy0-ap0 get_clients");
  });

  it("the agent reads what the watcher wrote (WifiContext through a platform readFile)", async () => {
    root.uci("set", "pear-fog.main.wifi_busy_clients=3");
    root.uci("commit", "pear-fog");
    expect(root.sh("usr/libexec/pear-fog/wifi-context", ["once"]).code).toBe(0);
    const logs: string[] = [];
    const p = {
      readFile: (path: string) =>
        Promise.resolve(existsSync(path) ? new Uint8Array(readFileSync(path)) : null),
      log: (_l: string, m: string) => void logs.push(m),
    };
    const w = new WifiContext(p, 625_000, state);
    expect(await w.update()).toEqual({ uploadCapBps: 312_500, changed: true });
    expect(w.stats()).toEqual({ clients: 3, busy: true, uploadCapBps: 312_500 });
    expect(logs).toEqual(["wifi: household busy (3 clients): upload cap 312500 B/s"]);
  });

  it("busy from wifi_busy_clients; no hostapd means 0 clients", () => {
    root.uci("set", "pear-fog.main.wifi_busy_clients=3");
    root.uci("commit", "pear-fog");
    root.sh("usr/libexec/pear-fog/wifi-context", ["once"]);
    expect(json(readFileSync(state, "utf8"))).toMatchObject({ clients: 3, busy: true });
    ubus({ list: "" });
    root.sh("usr/libexec/pear-fog/wifi-context", ["once"]);
    expect(json(readFileSync(state, "utf8"))).toMatchObject({
      clients: 0,
      busy: false,
      interfaces: [],
    });
  });

  it("backs off: while busy the daemon's upload limit is lowered, restored when quiet", async () => {
    const d = await startPearFogd();
    try {
      root.uci("set", `pear-fog.main.ctl_socket=${d.ctlPath}`);
      root.uci("set", "pear-fog.main.wifi_busy_clients=3");
      root.uci("set", "pear-fog.main.wifi_busy_upload_cap=100000");
      root.uci("commit", "pear-fog");
      const cap = async () => (await d.ctl.request("status", {})).upload_cap;
      expect(root.sh("usr/libexec/pear-fog/wifi-context", ["once"]).code).toBe(0);
      expect(await cap()).toBe(100000);
      expect(json(readFileSync(state, "utf8"))).toMatchObject({
        busy: true,
        upload_cap_applied: 100000,
      });
      expect(root.syslog()).toContain("wifi: household busy (3 clients): upload limit 100000 B/s");
      // unchanged state: no new request, no new log line
      root.clearLogs();
      root.sh("usr/libexec/pear-fog/wifi-context", ["once"]);
      expect(root.syslog()).toBe("");
      // a client leaves: quiet, back to upload_cap
      ubus({ "call_hostapd.phy1-ap0_get_clients": getClients([]) });
      root.sh("usr/libexec/pear-fog/wifi-context", ["once"]);
      expect(await cap()).toBe(625000);
      expect(json(readFileSync(state, "utf8"))).toMatchObject({
        busy: false,
        upload_cap_applied: 625000,
      });
      expect(root.syslog()).toContain("wifi: household quiet (2 clients): upload limit 625000 B/s");
    } finally {
      await d.stop();
    }
  });

  it("leaves the upload limit alone when wifi_busy_upload_cap is 0", () => {
    root.uci("set", "pear-fog.main.wifi_busy_clients=1");
    root.uci("commit", "pear-fog");
    root.sh("usr/libexec/pear-fog/wifi-context", ["once"]);
    expect(json(readFileSync(state, "utf8"))).toMatchObject({
      busy: true,
      upload_cap_applied: null,
    });
    expect(existsSync(`${state}.cap`)).toBe(false); // no limit was ever sent
  });

  it("the rpcd plugin and the CLI show the state", () => {
    root.sh("usr/libexec/pear-fog/wifi-context", ["once"]);
    const r = root.sh("usr/libexec/rpcd/pear-fog", ["call", "wifi"], "{}");
    expect(json(r.stdout)).toMatchObject({ enabled: true, clients: 3 });
    expect(json(root.sh("usr/sbin/pear-fog", ["wifi"]).stdout)).toMatchObject({ clients: 3 });
  });

  it("watch: recounts on assoc/disassoc notifications and logs joins and leaves", async () => {
    ubus({
      subscribe:
        '{ "probe": {"address": "aa:bb:cc:00:00:09", "signal": -70} }\n' +
        '{ "assoc": {"address": "aa:bb:cc:00:00:04", "signal": -50} }\n' +
        '{ "disassoc": {"address": "aa:bb:cc:00:00:02"} }\n',
    });
    const p = spawn(
      busybox(),
      ["ash", join(root.dir, "usr/libexec/pear-fog/wifi-context"), "watch"],
      {
        env: root.env,
        stdio: "ignore",
        detached: true,
      },
    );
    try {
      const deadline = Date.now() + 20_000;
      while (!root.syslog().includes("left") && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      process.kill(-(p.pid as number), "SIGTERM");
    }
    expect(root.syslog()).toContain("wifi: aa:bb:cc:00:00:04 joined");
    expect(root.syslog()).toContain("wifi: aa:bb:cc:00:00:02 left");
    expect(root.syslog()).not.toContain("00:09"); // probes are not joins
    expect(root.log()).toContain("ubus subscribe hostapd.phy0-ap0 hostapd.phy1-ap0");
    expect(existsSync(state)).toBe(true);
    const s = json(readFileSync(state, "utf8"));
    expect(s.last_event).toMatchObject({ type: "disassoc", address: "aa:bb:cc:00:00:02" });
  });
});

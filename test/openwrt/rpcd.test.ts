// The rpcd exec plugin (`ubus call pear-fog …`) and the `pear-fog` CLI against a real
// pear-fogd's control socket, run under busybox ash in a throw-away root.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPearFogd, type PearFogd } from "../support/pear-fogd";
import { json, makeRoot, OPENWRT, type Root } from "./support";

let root: Root;
let d: PearFogd;
const ids: string[] = [];
const ENV = { PF_TEST_IPADDR_lan: "192.168.1.1" };

const call = (method: string, args = "{}") => {
  const r = root.sh("usr/libexec/rpcd/pear-fog", ["call", method], args, ENV);
  expect(r.code, r.stderr).toBe(0);
  return json(r.stdout.trim());
};
const daemonStatus = async () => (await d.ctl.request("status", {})) as Record<string, unknown>;
const cli = (...args: string[]) => root.sh("usr/sbin/pear-fog", args, "", ENV);

beforeAll(async () => {
  d = await startPearFogd();
  root = makeRoot();
  root.uci("set", `pear-fog.main.ctl_socket=${d.ctlPath}`);
  root.uci("set", `pear-fog.main.store_path=${d.storeDir}`);
  root.uci("set", `pear-fog.main.key_path=${root.dir}/etc/pear-fog/node.key`);
  root.uci("commit", "pear-fog");
  for (const s of ["one", "two", "three"]) ids.push(await d.putChunk(new TextEncoder().encode(s)));
});

afterAll(async () => {
  await d?.stop();
  root?.remove();
});

describe("rpcd plugin", () => {
  it("list: the methods and their argument signatures; ACL splits them read/write", () => {
    const r = root.sh("usr/libexec/rpcd/pear-fog", ["list"]);
    const list = json(r.stdout);
    expect(Object.keys(list).sort()).toEqual(
      [
        "cache",
        "peers",
        "reload",
        "set_sharing",
        "stats",
        "status",
        "wifi",
        "apps",
        "app_stop",
      ].sort(),
    );
    expect(list.set_sharing).toEqual({ enabled: true });
    expect(list.cache).toEqual({ offset: 0, limit: 100 });
    const acl = json(readFileSync(join(OPENWRT, "files/pear-fog.acl.json"), "utf8")) as Record<
      string,
      { read?: { ubus: Record<string, string[]> }; write?: { ubus: Record<string, string[]> } }
    >;
    const read = acl["pear-fog-read"]?.read?.ubus["pear-fog"] ?? [];
    const write = acl["pear-fog-write"]?.write?.ubus["pear-fog"] ?? [];
    expect([...read, ...write].sort()).toEqual(Object.keys(list).sort());
    expect(read).not.toContain("set_sharing");
    expect(read).not.toContain("reload");
    expect(read).not.toContain("app_stop");
  });

  it("apps: the daemon's app list (none here); app_stop of an unknown app is a typed error", () => {
    expect(call("apps")).toEqual({
      apps: [],
      apps_memory: 0,
      apps_memory_cap: 64 << 20,
      apps_upload: 1024 * 1024,
    });
    expect(call("app_stop", '{"name":"nope"}')).toMatchObject({ error: "not_found" });
    expect(call("app_stop", '{"name":"../x"}')).toMatchObject({ error: "bad_request" });
  });

  it("status: the daemon's own numbers plus reachability", async () => {
    const s = call("status");
    const raw = (await d.ctl.request("status", {})) as Record<string, unknown>;
    expect(s.running).toBe(true);
    expect(s.version).toBe(raw.version);
    expect(s.sharing).toBe(true);
    expect(s.rtc_port).toBe(d.rtcPort);
    expect(s.store_chunks).toBe(3);
    expect(s.store_bytes).toBe(3 + 3 + 5);
    expect(s.store_cap).toBe(raw.store_cap);
    expect(s.bytes_served_rtc_total).toBe(0);
    expect(s.reachability).toEqual({
      interface: "lan",
      rtc_addresses: ["192.168.1.1"],
      rtc_port: d.rtcPort,
      http_port: 0,
    });
    expect(s).not.toHaveProperty("id");
  });

  it("stats: counters only, all numbers", () => {
    const s = call("stats");
    expect(Object.keys(s).length).toBeGreaterThanOrEqual(15);
    for (const [k, v] of Object.entries(s)) expect(typeof v, k).toBe("number");
    expect(s.store_chunks).toBe(3);
    expect(s).toHaveProperty("bytes_served_rtc_total");
    expect(s).toHaveProperty("peers_refused_total");
  });

  it("peers: ids and counts, max from UCI", () => {
    expect(call("peers")).toEqual({
      peers_active: 0,
      peers_total: 0,
      peers_refused_total: 0,
      peer_ids: [],
      max_peers: 200,
    });
  });

  it("cache: store use and a page of chunk ids", () => {
    const all = call("cache");
    expect(all.total).toBe(3);
    expect([...(all.chunks as string[])].sort()).toEqual([...ids].sort());
    expect(all.store_path).toBe(d.storeDir);
    const page = call("cache", '{"offset":1,"limit":1}');
    expect(page.total).toBe(3);
    expect(page.chunks).toEqual([(all.chunks as string[])[1]]);
  });

  it("set_sharing: saved in UCI and applied to the running daemon", async () => {
    expect(call("set_sharing", '{"enabled":false}')).toEqual({ sharing: false, applied: true });
    expect(call("status").sharing).toBe(false);
    expect(root.config()).toContain("option sharing '0'");
    expect(call("set_sharing", '{ "enabled": true }')).toEqual({ sharing: true, applied: true });
    expect((await daemonStatus()).sharing).toBe(true);
    expect(root.config()).toContain("option sharing '1'");
    expect(call("set_sharing", '{"enabled":"perhaps"}')).toMatchObject({ error: "bad_request" });
  });

  it("wifi: off until the watcher has written its state", () => {
    expect(call("wifi")).toEqual({ enabled: false, clients: null });
  });

  it("reload: runs the init script's reload (procd calls recorded)", () => {
    root.clearLogs();
    expect(call("reload")).toEqual({ ok: true });
    expect(root.log()).toContain("procd_open_instance pear-fogd");
  });
});

describe("pear-fog CLI", () => {
  it("status: one screen from the daemon", () => {
    const r = cli("status");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^pear-fogd \d+\.\d+\.\d+, up \d+s$/m);
    expect(r.stdout).toMatch(/^sharing: +on$/m);
    expect(r.stdout).toContain(`WebRTC udp/${d.rtcPort}`);
    expect(r.stdout).toMatch(/^store: +3 chunks, 11 B of /m);
  });

  it("stats: name value lines", () => {
    const r = cli("stats");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^store_chunks 3$/m);
    expect(r.stdout).toMatch(/^bytes_served_rtc_total 0$/m);
    expect(r.stdout).not.toMatch(/^id /m);
  });

  it("disable / enable: sharing saved and applied", async () => {
    expect(cli("disable").stdout.trim()).toBe("sharing off");
    expect((await daemonStatus()).sharing).toBe(false);
    expect(root.uci("get", "pear-fog.main.sharing").trim()).toBe("0");
    expect(cli("enable").stdout.trim()).toBe("sharing on");
    expect((await daemonStatus()).sharing).toBe(true);
    expect(root.uci("get", "pear-fog.main.sharing").trim()).toBe("1");
  });

  it("limits: show, set (UCI + daemon), refuse bad values", async () => {
    const set = cli("limits", "--upload-cap", "100000", "--store-size", "64M");
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe("upload_cap 100000\npeer_upload_cap 0\nstore_size 67108864\n");
    const st = await daemonStatus();
    expect(st.upload_cap).toBe(100000);
    expect(st.store_cap).toBe(64 * 2 ** 20);
    expect(root.uci("get", "pear-fog.main.store_size").trim()).toBe("64M");
    expect(cli("limits").stdout).toContain("upload_cap 100000");
    const bits = cli("limits", "--upload-cap", "5mbit");
    expect(bits.stdout).toContain("upload_cap 625000");
    expect(root.uci("get", "pear-fog.main.upload_cap").trim()).toBe("5mbit");
    const bad = cli("limits", "--upload-cap", "5mbps");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--upload-cap: '5mbps' is not a rate (bytes/s with K/M/G/T");
    expect(cli("limits", "--upload-cap", "0").stderr).toContain("must be more than 0");
    expect(cli("limits", "--store-size", "lots").stderr).toContain("is not a size");
    expect(cli("limits", "--bogus", "1").code).toBe(2);
  });

  it("check: names the bad option", () => {
    root.uci("add_list", "pear-fog.main.hours=25:00-26:00");
    root.uci("commit", "pear-fog");
    const r = cli("check");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("hours: '25:00-26:00' is not HH:MM-HH:MM");
    root.uci("delete", "pear-fog.main.hours");
    root.uci("commit", "pear-fog");
    expect(cli("check").code).toBe(0);
  });

  it("ctl: a raw control request", () => {
    const r = cli("ctl", "chunk_has", JSON.stringify({ chunks: [ids[0]] }));
    expect(r.code, r.stderr).toBe(0);
    expect(json(r.stdout).ok).toBe(true);
  });
});

describe("bad states", () => {
  it("a second instance on the same socket is refused with a clear message", () => {
    const r = root.sh("usr/sbin/pear-fog", ["ctl", "status"]);
    expect(r.code).toBe(0);
    const second = spawnSync(
      root.daemon,
      [
        "--ctl-socket",
        d.ctlPath,
        "--store-path",
        join(root.dir, "store2"),
        "--bind",
        "127.0.0.1",
        "--rtc-port",
        "0",
        "--http-port",
        "0",
      ],
      { env: { ...process.env, ASAN_OPTIONS: "detect_leaks=0" }, timeout: 10_000 },
    );
    expect(second.status).toBe(1);
    expect(second.stderr.toString()).toContain("another pear-fogd is running");
  });

  it("rpcd answers objects saying so; the CLI exits 1", async () => {
    await d.stop();
    const s = call("status");
    expect(s.running).toBe(false);
    expect(s.sharing_configured).toBe(true);
    expect(String(s.message)).toContain("is pear-fogd running?");
    expect(call("stats")).toMatchObject({ error: "not_running" });
    expect(call("cache")).toMatchObject({ error: "not_running" });
    const st = cli("status");
    expect(st.code).toBe(1);
    expect(st.stdout).toContain("pear-fogd: not running");
    const en = cli("disable");
    expect(en.code).toBe(0);
    expect(en.stdout).toContain("sharing off (saved; pear-fogd not running");
  });
});

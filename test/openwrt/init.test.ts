// The procd init script, uci-defaults and config validation, run under busybox ash in a
// throw-away root (support.ts) with the real pear-fogd doing `--check`.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeRoot, type Root } from "./support";

let root: Root;
let store: string;

beforeEach(() => {
  root = makeRoot();
  store = join(root.dir, "tmp-store");
  // Everything else as shipped; the store under the test root (a /tmp path, so creatable).
  root.uci("set", `pear-fog.main.store_path=${store}`);
  root.uci("set", `pear-fog.main.ctl_socket=${root.dir}/var/run/pear-fog/ctl.sock`);
  root.uci("set", `pear-fog.main.key_path=${root.dir}/etc/pear-fog/node.key`);
  root.uci("commit", "pear-fog");
  root.clearLogs();
});

afterEach(() => root.remove());

function start(env: Record<string, string> = { PF_TEST_IPADDR_lan: "192.168.1.1" }) {
  return root.sh("etc/rc.common", [join(root.dir, "etc/init.d/pear-fog"), "start"], "", env);
}

const calls = () =>
  root
    .log()
    .split("\n")
    .filter((l) => l.startsWith("procd_"));

describe("init script (procd)", () => {
  it("starts pear-fogd as its own user in a read-only jail with the store read-write", () => {
    const r = start();
    expect(r.code, r.stderr).toBe(0);
    const c = calls();
    const conf = `${root.dir}/etc/config/pear-fog`;
    const daemon = `${root.dir}/usr/sbin/pear-fogd`;
    expect(c).toContain("procd_open_instance pear-fogd");
    const cmd = c.find((l) => l.startsWith("procd_set_param command"));
    // 32M fits in the test file system: passed through as bytes.
    expect(cmd).toBe(`procd_set_param command ${daemon} --config ${conf} --store-size 33554432`);
    expect(c).toContain("procd_append_param command --rtc-address 192.168.1.1");
    expect(c).toContain("procd_set_param respawn 3600 5 5");
    expect(c).toContain("procd_set_param user pear-fog");
    expect(c).toContain("procd_set_param group pear-fog");
    expect(c).toContain("procd_set_param no_new_privs 1");
    // reload: SIGHUP unless what pear-fogd takes only at start changed (then a restart)
    expect(c).toContain("procd_set_param reload_signal HUP");
    expect(c).not.toContain(`procd_set_param file ${conf}`);
    expect(c).toContain(
      "procd_set_param env PF_RESTART_KEY=bind=0.0.0.0;rtc_port=47100;http_port=47101;" +
        `rtc_address=;store_path=${store};ctl_socket=${root.dir}/var/run/pear-fog/ctl.sock;` +
        "max_peers=200;max_message_size=256K;agent_js=;",
    );
    expect(c).toContain("procd_add_jail pear-fog log ronly");
    // the config, then only system files that exist (here: the test machine's)
    const ro = (c.find((l) => l.startsWith("procd_add_jail_mount ")) ?? "").split(" ").slice(1);
    expect(ro[0]).toBe(conf);
    for (const p of ro.slice(1)) {
      expect([
        "/etc/TZ",
        "/etc/hosts",
        "/etc/resolv.conf",
        "/tmp/resolv.conf",
        "/tmp/resolv.conf.d",
        "/etc/ssl/cert.pem",
        "/etc/ssl/certs",
      ]).toContain(p);
      expect(existsSync(p), p).toBe(true);
    }
    expect(ro).toContain("/etc/hosts");
    expect(c).toContain(
      `procd_add_jail_mount_rw ${store} ${root.dir}/var/run/pear-fog ${root.dir}/etc/pear-fog`,
    );
    expect(c.slice(-4, -1)).toEqual([
      "procd_add_reload_trigger pear-fog",
      `procd_add_interface_trigger interface.*.up lan ${root.dir}/etc/init.d/pear-fog reload`,
      "procd_add_validation validate_pear_fog_section",
    ]);
    expect(c).not.toContain("procd_open_instance wifi");
    expect(existsSync(store)).toBe(true);
    expect(root.syslog()).toBe("");
  });

  it("adds the Wi-Fi watcher instance only when wifi_context is on", () => {
    root.uci("set", "pear-fog.main.wifi_context=1");
    root.uci("commit", "pear-fog");
    expect(start().code).toBe(0);
    const c = calls();
    expect(c).toContain("procd_open_instance wifi");
    expect(c).toContain(
      `procd_set_param command ${root.dir}/usr/libexec/pear-fog/wifi-context watch`,
    );
  });

  it("mounts agent_js read-only in the jail when set", () => {
    const agent = join(root.dir, "agent.mjs");
    writeFileSync(agent, "export {};\n");
    root.uci("set", `pear-fog.main.agent_js=${agent}`);
    root.uci("commit", "pear-fog");
    expect(start().code).toBe(0);
    const ro = calls().find((l) => l.startsWith("procd_add_jail_mount ")) ?? "";
    expect(ro.split(" ").at(-1)).toBe(agent);
  });

  it("advertises configured rtc_address instead of the interface's", () => {
    root.uci("add_list", "pear-fog.main.rtc_address=10.0.0.2");
    root.uci("commit", "pear-fog");
    expect(start().code).toBe(0);
    expect(root.log()).not.toContain("--rtc-address");
  });

  it.each([
    ["max_peers", "many"],
    ["rtc_port", "70000"],
    ["sharing", "maybe"],
    ["log_level", "loud"],
    ["bind", "everywhere"],
  ])("refuses %s=%s with a log line and starts nothing", (option, value) => {
    root.uci("set", `pear-fog.main.${option}=${value}`);
    root.uci("commit", "pear-fog");
    const r = start();
    expect(r.code).not.toBe(0);
    expect(calls()).not.toContain("procd_open_instance pear-fogd");
    expect(root.syslog()).toMatch(
      /invalid values in .*pear-fog \(see 'pear-fog check'\); not starting/,
    );
    expect(root.log()).toContain(`pear-fog.main.${option}='${value}'`);
  });

  it("passes pear-fogd's own message for values only it checks (sizes)", () => {
    root.uci("set", "pear-fog.main.store_size=12x");
    root.uci("commit", "pear-fog");
    const r = start();
    expect(r.code).not.toBe(0);
    expect(calls()).not.toContain("procd_open_instance pear-fogd");
    expect(root.syslog()).toMatch(
      /pear-fog:\d+: store_size: '12x' is not a size \(bytes, K\/M\/G\/T suffix\); not starting/,
    );
  });

  it("starts with a rate in bits (upload_cap '5mbit'), refuses one outside the grammar", () => {
    root.uci("set", "pear-fog.main.upload_cap=5mbit");
    root.uci("commit", "pear-fog");
    expect(start().code).toBe(0);
    expect(calls()).toContain("procd_open_instance pear-fogd");
    root.uci("set", "pear-fog.main.upload_cap=5mbps");
    root.uci("commit", "pear-fog");
    expect(start().code).not.toBe(0);
    expect(root.syslog()).toMatch(/upload_cap: '5mbps' is not a rate .*; not starting/);
  });

  it("stays stopped when a store outside /tmp is missing (unmounted disk), creates none", () => {
    root.uci("set", "pear-fog.main.store_path=/mnt/pf-test-no-such-disk/pear-fog");
    root.uci("commit", "pear-fog");
    expect(start().code).not.toBe(0);
    expect(calls()).not.toContain("procd_open_instance pear-fogd");
    expect(root.syslog()).toContain(
      "store_path '/mnt/pf-test-no-such-disk/pear-fog' does not exist (storage not mounted?); not starting",
    );
    expect(existsSync("/mnt/pf-test-no-such-disk")).toBe(false);
  });

  it("stays stopped when the store's file system is full", () => {
    // df as busybox prints it, for a file system with 512 KiB free
    const df = join(root.dir, "bin/df");
    rmSync(df);
    writeFileSync(
      df,
      "#!/bin/sh\necho 'Filesystem 1024-blocks Used Available Capacity Mounted on'\n" +
        "echo '/dev/root 14336 13824 512 96% /overlay'\n",
    );
    chmodSync(df, 0o755);
    expect(start().code).not.toBe(0);
    expect(calls()).not.toContain("procd_open_instance pear-fogd");
    expect(root.syslog()).toMatch(/file system of .* is full \(\d+ bytes usable\); not starting/);
  });

  it("lowers store_size to what the file system holds, with a warning", () => {
    root.uci("set", "pear-fog.main.store_size=1000000G");
    root.uci("commit", "pear-fog");
    expect(start().code).toBe(0);
    const cmd = calls().find((l) => l.startsWith("procd_set_param command")) ?? "";
    const size = Number(/--store-size (\d+)/.exec(cmd)?.[1]);
    expect(size).toBeGreaterThan(1 << 20);
    expect(size).toBeLessThan(1000000 * 2 ** 30);
    expect(root.syslog()).toMatch(
      /store_size 1073741824000000 bytes does not fit in .*; using \d+/,
    );
  });

  it("the command procd would run starts pear-fogd; the rpcd plugin then sees it", async () => {
    root.uci("set", "pear-fog.main.rtc_port=0");
    root.uci("set", "pear-fog.main.http_port=0");
    root.uci("commit", "pear-fog");
    expect(start({ PF_TEST_IPADDR_lan: "127.0.0.1" }).code).toBe(0);
    const cmd = calls()
      .filter((l) => /^procd_(set|append)_param command /.test(l))
      .flatMap((l) => l.split(" ").slice(2));
    expect(cmd.slice(-2)).toEqual(["--rtc-address", "127.0.0.1"]);
    const p = spawn(cmd[0] as string, cmd.slice(1), {
      env: { ...process.env, ASAN_OPTIONS: "detect_leaks=0" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    p.stderr.on("data", (d: Buffer) => (log += d.toString()));
    try {
      const deadline = Date.now() + 10_000;
      while (!log.includes("ready") && Date.now() < deadline && p.exitCode === null) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(log).toContain("ready");
      const r = root.sh("usr/libexec/rpcd/pear-fog", ["call", "status"], "{}", {
        PF_TEST_IPADDR_lan: "127.0.0.1",
      });
      const st = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(st).toMatchObject({ running: true, sharing: false, store_cap: 32 * 2 ** 20 });
      expect(st.upload_cap).toBe(625000);
    } finally {
      p.kill("SIGTERM");
    }
  });

  it("waits for the interface when it has no address yet (no instance, a warning)", () => {
    const r = start({});
    expect(r.code).not.toBe(0);
    expect(calls()).not.toContain("procd_open_instance pear-fogd");
    expect(calls()).toContain(
      `procd_add_interface_trigger interface.*.up lan ${root.dir}/etc/init.d/pear-fog reload`,
    );
    expect(root.syslog()).toContain("interface 'lan' has no address yet; starting when it is up");
  });

  it("a config the daemon accepts is one `pear-fog check` accepts (same file)", () => {
    expect(start().code).toBe(0);
    const r = root.sh("usr/sbin/pear-fog", ["check"], "", { PF_TEST_IPADDR_lan: "192.168.1.1" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("OK");
  });
});

describe("uci-defaults", () => {
  const run = () => root.sh("etc/uci-defaults/90-pear-fog");

  it("keeps a config that has 'main' and adds a disabled firewall rule for WebRTC from wan", () => {
    writeFileSync(
      join(root.dir, "etc/config/firewall"),
      "\nconfig defaults\n\toption input 'REJECT'\n",
    );
    const before = root.config();
    const r = run();
    expect(r.code, r.stderr).toBe(0);
    expect(root.config()).toBe(before);
    const fw = readFileSync(join(root.dir, "etc/config/firewall"), "utf8");
    expect(fw).toContain("config rule 'pear_fog_rtc'");
    expect(fw).toContain("option proto 'udp'");
    expect(fw).toContain("option dest_port '47100'");
    expect(fw).toContain("option src 'wan'");
    expect(fw).toContain("option enabled '0'");
    // idempotent: a second run changes nothing
    expect(run().code).toBe(0);
    expect(readFileSync(join(root.dir, "etc/config/firewall"), "utf8")).toBe(fw);
  });

  it("names an anonymous section 'main' and keeps its values", () => {
    writeFileSync(
      join(root.dir, "etc/config/pear-fog"),
      "\nconfig pear-fog\n\toption sharing '1'\n\toption store_size '64M'\n",
    );
    expect(run().code).toBe(0);
    expect(root.uci("get", "pear-fog.main.sharing").trim()).toBe("1");
    expect(root.uci("get", "pear-fog.main.store_size").trim()).toBe("64M");
  });

  it("creates the section with the shared defaults when the file is missing", () => {
    const conf = join(root.dir, "etc/config/pear-fog");
    writeFileSync(conf, "");
    expect(run().code).toBe(0);
    expect(root.uci("get", "pear-fog.main").trim()).toBe("pear-fog");
    expect(root.uci("get", "pear-fog.main.sharing").trim()).toBe("0");
    expect(root.uci("get", "pear-fog.main.upload_cap").trim()).toBe("625000");
    // and the result is a config both readers accept
    const chk = root.sh("usr/sbin/pear-fog", ["check"], "", { PF_TEST_IPADDR_lan: "10.0.0.1" });
    expect(chk.code, chk.stderr).toBe(0);
  });
});

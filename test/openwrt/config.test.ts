// The shipped /etc/config/pear-fog against both of its readers: pear-fogd (--check, and the
// values a running daemon reports) and the agent (src/agent/config.ts).
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_CONFIG_DEFAULTS, agentConfigToUci, parseAgentConfig } from "../../src/agent/config";
import { startPearFogd, type PearFogd } from "../support/pear-fogd";
import { makeRoot, OPENWRT, type Root } from "./support";
import { APP_UCI_OPTIONS } from "../../src/platform/native/apps-config"; // apps

const CONFIG_PATH = join(OPENWRT, "files/pear-fog.config");
const CONFIG = readFileSync(CONFIG_PATH, "utf8");
/** Options only the init script and the Wi-Fi watcher read. */
const INIT_OPTIONS = ["interface", "wifi_context", "wifi_busy_clients", "wifi_busy_upload_cap"];

let root: Root;
beforeAll(() => {
  root = makeRoot();
});
afterAll(() => root.remove());

/** pear-fogd's UCI option names, from its --help table. */
function daemonOptions(): string[] {
  const help = execFileSync(root.daemon, ["--help"], {
    env: { ...process.env, ASAN_OPTIONS: "detect_leaks=0" },
  }).toString();
  const opts = [...help.matchAll(/^ {2}--([a-z-]+) {2,}/gm)]
    .map((m) => (m[1] as string).replace(/-/g, "_"))
    .filter((o) => !["config", "check", "version", "help"].includes(o));
  expect(opts.length).toBeGreaterThanOrEqual(14);
  return opts;
}

/** Option names the shipped file sets or shows commented out. */
function shippedOptions(): string[] {
  return [...CONFIG.matchAll(/^\t#?(?:option|list) ([a-z_]+) /gm)].map((m) => m[1] as string);
}

describe("shipped /etc/config/pear-fog", () => {
  it("pear-fogd --check accepts it with the interface address the init script adds", () => {
    const r = spawnSync(
      root.daemon,
      ["--config", CONFIG_PATH, "--rtc-address", "192.168.1.1", "--check"],
      {
        env: { ...process.env, ASAN_OPTIONS: "detect_leaks=0" },
      },
    );
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(r.stdout.toString()).toContain("configuration OK");
  });

  it("the agent parses it", () => {
    const cfg = parseAgentConfig(CONFIG);
    expect(cfg).toEqual({
      ...AGENT_CONFIG_DEFAULTS,
      sharing: false,
      uploadCapBps: 625_000,
      storePath: "/tmp/pear-fog",
      storeSizeBytes: 32 * 2 ** 20,
    });
  });

  it("lists every pear-fogd option and every agent option, and no unknown one", () => {
    const shipped = new Set(shippedOptions());
    const agent = [
      ...(agentConfigToUci(AGENT_CONFIG_DEFAULTS).sections[0]?.options.keys() ?? []),
      "hours",
    ];
    const known = new Set([...daemonOptions(), ...agent, ...INIT_OPTIONS, ...APP_UCI_OPTIONS]);
    for (const o of daemonOptions()) expect(shipped, `pear-fogd option ${o}`).toContain(o);
    for (const o of agent) expect(shipped, `agent option ${o}`).toContain(o);
    for (const o of shipped) expect(known, `unknown option ${o}`).toContain(o);
  });

  it("documents every option: each block of options starts with a comment", () => {
    const body = CONFIG.slice(CONFIG.indexOf("config pear-fog 'main'"));
    const blocks = body.split(/\n\s*\n/).slice(1);
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    for (const b of blocks) expect(b.trimStart(), b).toMatch(/^#/);
  });

  describe("both readers see the same values", () => {
    let d: PearFogd;
    beforeAll(async () => {
      // The shipped file, with only the paths and ports a test needs set by flags, and the
      // node key (the embedded agent's) kept out of the machine's /etc.
      const copy = join(root.dir, "pear-fog.config");
      writeFileSync(
        copy,
        CONFIG.replace("'/etc/pear-fog/node.key'", `'${root.dir}/etc/pear-fog/node.key'`),
      );
      d = await startPearFogd({ args: ["--config", copy] });
    });
    afterAll(async () => {
      await d?.stop();
    });

    it("sharing, upload_cap, peer_upload_cap, store_size", async () => {
      const agent = parseAgentConfig(CONFIG);
      const st = (await d.ctl.request("status", {})) as Record<string, unknown>;
      expect(st.sharing).toBe(agent.sharing);
      expect(st.upload_cap).toBe(agent.uploadCapBps);
      expect(st.peer_upload_cap).toBe(0);
      expect(st.store_cap).toBe(agent.storeSizeBytes);
    });
  });

  it.each([
    ["store_size", "12x", /store_size: '12x' is not a size/],
    ["rtc_port", "70000", /rtc_port: '70000' is not a port/],
    ["sharing", "maybe", /sharing: 'maybe' is not a boolean/],
    ["max_peers", "10K", /max_peers: '10K' is not a non-negative integer/],
  ])("pear-fogd --check refuses %s=%s naming file, line and option", (opt, value, msg) => {
    const bad = join(root.dir, `bad-${opt}`);
    const text = CONFIG.replace(new RegExp(`option ${opt} '[^']*'`), `option ${opt} '${value}'`);
    expect(text).not.toBe(CONFIG);
    writeFileSync(bad, text);
    const r = spawnSync(root.daemon, ["--config", bad, "--rtc-address", "192.168.1.1", "--check"], {
      env: { ...process.env, ASAN_OPTIONS: "detect_leaks=0" },
    });
    expect(r.status).toBe(1);
    expect(r.stderr.toString()).toMatch(new RegExp(`${bad}:\\d+: `));
    expect(r.stderr.toString()).toMatch(msg);
  });

  it("a rate in bit units is read alike by the agent, pear-fogd and `pear-fog check`", async () => {
    // One grammar (test/openwrt/caps.test.ts has the table): '5mbit' = 625000 B/s everywhere.
    expect(parseAgentConfig(CONFIG.replace("'625000'", "'5mbit'")).uploadCapBps).toBe(625_000);
    root.uci("set", "pear-fog.main.upload_cap=5mbit");
    root.uci("commit", "pear-fog");
    const r = root.sh("usr/sbin/pear-fog", ["check"], "", { PF_TEST_IPADDR_lan: "192.168.1.1" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    root.uci("set", "pear-fog.main.upload_cap=5mbps");
    root.uci("commit", "pear-fog");
    const bad = root.sh("usr/sbin/pear-fog", ["check"], "", { PF_TEST_IPADDR_lan: "192.168.1.1" });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("upload_cap: '5mbps' is not a rate");
  });
});

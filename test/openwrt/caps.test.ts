// One grammar for sizes and rates in /etc/config/pear-fog (issue 5): the same table of values
// through every reader — the agent's parser (src/agent/config.ts), pear-fogd's (`--check
// --config FILE`, and the values it then runs with, read back over its control socket after
// a SIGHUP reload), and the router's shell (lib.sh pf_size_bytes/pf_rate_bytes under busybox
// ash). LuCI's validators are checked against pear-fogd in luci.test.ts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseAgentConfig, parseRate, parseSize } from "../../src/agent/config";
import { buildPearFogd, startPearFogd, type PearFogd } from "../support/pear-fogd";
import { appletDir, busybox, OPENWRT } from "./support";

/** [value, bytes as a size (null: refused), bytes/s as a rate (null: refused)] */
const TABLE: [string, number | null, number | null][] = [
  ["0", 0, 0],
  ["625000", 625_000, 625_000],
  ["32M", 32 * 2 ** 20, 32 * 2 ** 20],
  ["32m", 32 * 2 ** 20, 32 * 2 ** 20],
  ["64KB", 65_536, 65_536],
  ["64KiB", 65_536, 65_536],
  ["2G", 2 * 2 ** 30, 2 * 2 ** 30],
  ["2gib", 2 * 2 ** 30, 2 * 2 ** 30],
  ["1T", 2 ** 40, 2 ** 40],
  ["100b", 100, 100],
  ["010", 10, 10],
  ["5mbit", null, 625_000],
  ["5Mbit/s", null, 625_000],
  ["500kbit", null, 62_500],
  ["1gbit", null, 125_000_000],
  ["8bit", null, 1],
  ["1bit", null, null],
  ["0mbit", null, 0],
  ["2M/s", null, 2 * 2 ** 20],
  ["250000/s", null, 250_000],
  ["5mbps", null, null],
  ["5 mbit", null, null],
  ["1 G", null, null],
  ["1.5G", null, null],
  ["-1", null, null],
  ["+1", null, null],
  ["", null, null],
  ["M", null, null],
  ["/s", null, null],
  ["12x", null, null],
  ["9007199254740991", 9_007_199_254_740_991, 9_007_199_254_740_991],
  ["9007199254740992", null, null],
  ["8191T", 8191 * 2 ** 40, 8191 * 2 ** 40],
  ["8192T", null, null],
  ["72057594037927928bit", null, 9_007_199_254_740_991],
  ["99999999999999999999", null, null],
];

const NOENV = { ...process.env, ASAN_OPTIONS: "detect_leaks=0" };

function agent(parse: (o: string, v: string) => number, v: string): number | null {
  try {
    return parse("x", v);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return null;
  }
}

describe("sizes and rates: one table, every reader", () => {
  let dir = "";
  let daemon = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "pf-caps-"));
    daemon = buildPearFogd("san");
  }, 600_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the agent", () => {
    for (const [v, size, rate] of TABLE) {
      expect(agent(parseSize, v), `size '${v}'`).toBe(size);
      expect(agent(parseRate, v), `rate '${v}'`).toBe(rate);
      // upload_cap: a rate, and more than 0
      const cfg = (() => {
        try {
          return parseAgentConfig(`config pear-fog 'main'\n\toption upload_cap '${v}'\n`);
        } catch {
          return null;
        }
      })();
      expect(cfg?.uploadCapBps ?? null, `upload_cap '${v}'`).toBe(rate === 0 ? null : rate);
    }
  });

  it("pear-fogd --check --config FILE", () => {
    const check = (option: string, v: string) => {
      const f = join(dir, "check.conf");
      writeFileSync(
        f,
        `config pear-fog 'main'\n\toption rtc_address '10.0.0.1'\n\toption ${option} '${v}'\n`,
      );
      const r = spawnSync(daemon, ["--check", "--config", f], { encoding: "utf8", env: NOENV });
      if (r.status !== 0) expect(r.stderr, `${option} '${v}'`).toContain(`${option}: '${v}'`);
      return r.status === 0;
    };
    for (const [v, size, rate] of TABLE) {
      expect(check("store_size", v), `store_size '${v}'`).toBe(size !== null);
      expect(check("peer_upload_cap", v), `peer_upload_cap '${v}'`).toBe(rate !== null);
      expect(check("upload_cap", v), `upload_cap '${v}'`).toBe(rate !== null && rate > 0);
    }
  });

  it("lib.sh under busybox ash: pf_size_bytes, pf_rate_bytes", () => {
    const script =
      `. ${join(OPENWRT, "files/pear-fog.lib.sh")}\n` +
      `while IFS= read -r v; do\n` +
      `  s="$(pf_size_bytes "$v")" || s=-; r="$(pf_rate_bytes "$v")" || r=-\n` +
      `  echo "$s $r"\ndone\n`;
    const r = spawnSync(busybox(), ["ash", "-c", script], {
      input: TABLE.map((t) => t[0]).join("\n") + "\n",
      encoding: "utf8",
      env: { PATH: appletDir() },
    });
    expect(r.stderr).toBe("");
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.length).toBe(TABLE.length);
    TABLE.forEach(([v, size, rate], i) => {
      expect(lines[i], `'${v}'`).toBe(`${size ?? "-"} ${rate ?? "-"}`);
    });
  });

  describe("the values pear-fogd runs with (SIGHUP reload, then status)", () => {
    let d: PearFogd;
    let conf = "";
    const write = (opts: Record<string, string>) =>
      writeFileSync(
        conf,
        "config pear-fog 'main'\n" +
          Object.entries(opts)
            .map(([k, v]) => `\toption ${k} '${v}'\n`)
            .join(""),
      );
    beforeAll(async () => {
      conf = join(dir, "pear-fog");
      write({ upload_cap: "1M" });
      d = await startPearFogd({ args: ["--config", conf] });
    });
    afterAll(async () => {
      await d?.stop();
    });

    it("reads each accepted value as the agent does", async () => {
      let reloads = 0;
      for (const [v, size, rate] of TABLE) {
        if (rate === null || rate === 0) continue;
        write({ upload_cap: v, peer_upload_cap: v, ...(size !== null ? { store_size: v } : {}) });
        d.proc.kill("SIGHUP");
        reloads++;
        for (let i = 0; i < 200; i++) {
          if ((d.log().match(/SIGHUP: configuration reloaded/g) ?? []).length >= reloads) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        const st = (await d.ctl.request("status", {})) as Record<string, number>;
        expect(st.upload_cap, `upload_cap '${v}'`).toBe(rate);
        expect(st.peer_upload_cap, `peer_upload_cap '${v}'`).toBe(rate);
        // store_size not in the file: the default again (256M)
        expect(st.store_cap, `store_size '${v}'`).toBe(size ?? 256 * 2 ** 20);
      }
      expect(reloads).toBeGreaterThan(15);
    });
  });
});

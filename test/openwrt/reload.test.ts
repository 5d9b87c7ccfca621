// `/etc/init.d/pear-fog reload` (procd: reload_signal HUP): pear-fogd re-reads its config file
// and applies limits, sharing, log level, store size and verify interval without a restart;
// options it takes only at start are logged as "needs restart" and keep their running values;
// a file that does not parse changes nothing.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPearFogd, type PearFogd } from "../support/pear-fogd";

describe("pear-fogd SIGHUP reload", () => {
  let dir = "";
  let conf = "";
  let d: PearFogd;

  const write = (body: string) => writeFileSync(conf, `config pear-fog 'main'\n${body}`);
  const count = (re: RegExp) => (d.log().match(new RegExp(re.source, "g")) ?? []).length;
  /** SIGHUP, then wait until the daemon logged one more line matching `done`. */
  const hup = async (done = /SIGHUP: passed to the agent/) => {
    const n = count(done);
    d.proc.kill("SIGHUP");
    for (let i = 0; i < 300; i++) {
      if (count(done) > n) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no reload logged:\n${d.log()}`);
  };
  const status = async () => (await d.ctl.request("status", {})) as Record<string, unknown>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pf-reload-"));
    conf = join(dir, "pear-fog");
    write("\toption upload_cap '625000'\n\toption sharing '1'\n\toption log_level 'info'\n");
    d = await startPearFogd({ args: ["--config", conf] });
  });
  afterAll(async () => {
    await d?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("applies limits, sharing and store size at once", async () => {
    expect((await status()).upload_cap).toBe(625_000);
    write(
      "\toption upload_cap '5mbit'\n\toption peer_upload_cap '100000'\n" +
        "\toption sharing '0'\n\toption store_size '64M'\n\toption log_level 'info'\n",
    );
    await hup();
    const st = await status();
    expect(st).toMatchObject({
      upload_cap: 625_000,
      peer_upload_cap: 100_000,
      sharing: false,
      store_cap: 64 * 2 ** 20,
    });
    expect(d.log()).toMatch(
      /SIGHUP: configuration reloaded; changed store_size, peer_upload_cap, sharing: upload_cap 625000, peer_upload_cap 100000, sharing off, log_level info, store_size 67108864/,
    );
    expect(d.log()).not.toContain("needs restart");
  });

  it("log level: at warn the reload's info lines stop, warnings stay", async () => {
    write("\toption upload_cap '625000'\n\toption log_level 'warn'\n\toption max_peers '10'\n");
    await hup(/needs restart/);
    const atWarn = d.log().length;
    write("\toption upload_cap '625000'\n\toption log_level 'warn'\n\toption max_peers '11'\n");
    await hup(/needs restart/);
    expect(d.log().slice(atWarn)).not.toMatch(/configuration reloaded|passed to the agent/);
    expect(d.log().slice(atWarn)).toMatch(/SIGHUP: max_peers changed: needs restart/);
    write("\toption upload_cap '625000'\n\toption log_level 'info'\n");
    await hup();
    expect(d.log()).toMatch(/changed log_level: .*log_level info/);
  });

  it("logs what needs a restart and keeps it", async () => {
    write(
      "\toption upload_cap '625000'\n\toption max_peers '3'\n\toption max_message_size '64K'\n",
    );
    await hup();
    expect(d.log()).toMatch(
      /SIGHUP: max_peers, max_message_size changed: needs restart \(running values kept\)/,
    );
    write("\toption upload_cap '625000'\n");
    await hup();
  });

  it("a file that does not parse changes nothing", async () => {
    write("\toption upload_cap '200000'\n");
    await hup();
    expect((await status()).upload_cap).toBe(200_000);
    write("\toption upload_cap '5mbps'\n");
    await hup();
    expect(d.log()).toMatch(
      /SIGHUP: .*pear-fog:2: upload_cap: '5mbps' is not a rate .*; keeping the running configuration/,
    );
    expect((await status()).upload_cap).toBe(200_000);
    expect(d.proc.exitCode).toBe(null);
  });
});

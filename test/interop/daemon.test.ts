// pear-fogd as a process: HTTP endpoint, upload limits, kill -9 with the store intact, a second
// instance refused, bad configuration refused with a clear message.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildPearFogd, randomChunk, sha256Hex, startPearFogd } from "../support/pear-fogd";
import { connectWrtcPeer } from "../support/wrtc-peer";

const hex2bytes = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));

describe("pear-fogd process", () => {
  it("serves chunks over HTTP with Range, /metrics and /healthz", async () => {
    const node = await startPearFogd({ http: true });
    try {
      const data = randomChunk(100_000);
      const id = await node.putChunk(data);
      const base = `http://127.0.0.1:${node.httpPort}`;
      const full = await fetch(`${base}/chunks/${id}`);
      expect(full.status).toBe(200);
      expect(sha256Hex(new Uint8Array(await full.arrayBuffer()))).toBe(id);
      const part = await fetch(`${base}/chunks/${id}`, { headers: { range: "bytes=10-19" } });
      expect(part.status).toBe(206);
      expect(Buffer.from(await part.arrayBuffer()).equals(Buffer.from(data.subarray(10, 20)))).toBe(
        true,
      );
      expect((await fetch(`${base}/chunks/${"0".repeat(64)}`)).status).toBe(404);
      expect(await (await fetch(`${base}/healthz`)).text()).toBe("ok\n");
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^pearfog_bytes_served_http_total 100010$/m);
      expect(metrics).toMatch(/^pearfog_store_chunks 1$/m);
    } finally {
      expect(await node.stop()).toBe(0);
    }
  });

  it("throttles a peer to its upload cap", async () => {
    // 1 MiB/s per peer: 3 MiB cannot arrive in under ~2.5 s (burst is 128 KiB).
    const node = await startPearFogd({ args: ["--peer-upload-cap", "1M"] });
    try {
      const ids = [];
      for (let i = 0; i < 12; i++) ids.push(await node.putChunk(randomChunk(256 * 1024)));
      const { pc, client } = await connectWrtcPeer(node);
      const t0 = Date.now();
      for (const id of ids) expect(sha256Hex(await client.get(hex2bytes(id)))).toBe(id);
      const ms = Date.now() - t0;
      expect(ms).toBeGreaterThan(2500);
      const status = await node.ctl.request("status");
      expect(status.rate_limited_total as number).toBeGreaterThan(0);
      pc.close();
    } finally {
      await node.stop();
    }
  }, 60_000);

  it("survives kill -9: the restarted daemon serves the same chunks, verified", async () => {
    const storeDir = mkdtempSync(join(tmpdir(), "pear-fog-store-"));
    const first = await startPearFogd({ storeDir });
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push(await first.putChunk(randomChunk(50_000 + i)));
    await first.stop("SIGKILL");
    const second = await startPearFogd({ storeDir });
    try {
      const list = await second.ctl.request("chunk_list", { limit: 100 });
      expect((list.chunks as string[]).sort()).toEqual([...ids].sort());
      const { pc, client } = await connectWrtcPeer(second);
      for (const id of ids) expect(sha256Hex(await client.get(hex2bytes(id)))).toBe(id);
      pc.close();
    } finally {
      expect(await second.stop()).toBe(0);
    }
  }, 60_000);

  it("refuses a second instance on the same control socket, and bad config values", async () => {
    const node = await startPearFogd();
    try {
      const bin = buildPearFogd();
      const again = spawnSync(
        bin,
        [
          "--store-path",
          join(node.dir, "store2"),
          "--ctl-socket",
          node.ctlPath,
          "--bind",
          "127.0.0.1",
          "--rtc-port",
          "0",
          "--http-port",
          "0",
        ],
        { encoding: "utf8", timeout: 10_000 },
      );
      expect(again.status).toBe(1);
      expect(again.stderr).toMatch(/another pear-fogd is running/);
      expect((await node.ctl.request("status")).ok).toBe(true); // the first one is unharmed

      const cfg = join(node.dir, "pear-fog.uci");
      writeFileSync(cfg, "config pear-fog 'main'\n\toption rtc_port 'seventy'\n");
      const bad = spawnSync(bin, ["--config", cfg], { encoding: "utf8", timeout: 10_000 });
      expect(bad.status).toBe(2);
      expect(bad.stderr.trim()).toBe(
        `pear-fogd: ${cfg}:2: rtc_port: 'seventy' is not a port (0-65535)`,
      );
      const flag = spawnSync(bin, ["--upload-cap", "fast"], { encoding: "utf8", timeout: 10_000 });
      expect(flag.status).toBe(2);
      expect(flag.stderr).toMatch(/upload_cap: 'fast' is not a rate/);
      const version = spawnSync(bin, ["--version"], { encoding: "utf8" });
      expect(version.stdout).toMatch(/^pear-fogd \d+\.\d+\.\d+\n$/);
    } finally {
      await node.stop();
    }
  });
});

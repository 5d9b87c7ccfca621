// One emulated router per suite (test/qemu/<arch>.test.ts): a Debian kernel for the router's CPU
// under qemu-system, the pear-fog ipk installed in the guest the way opkg does, pear-fogd started
// from the UCI config by the package's own init script (through this image's procd stand-in:
// there is no procd in the guest), a real coordinator on the host (10.0.2.2 from the guest) and
// a real libwebrtc peer (@roamhq/wrtc) on the host fetching chunks from the guest over QEMU's
// UDP host forwarding, every hash checked. Judged by what the guest prints on its serial
// console; a failure shows the console's tail. Figures go to $PEAR_FOG_CACHE/qemu/<arch>/figures.json.
import wrtc from "@roamhq/wrtc";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startCoordinator, type RunningCoordinator } from "../../src/coordinator/main";
import { ChunkClient } from "../../src/sdk/chunk-client";
import { BrowserLink } from "../agent/support";
// @ts-expect-error plain ESM script without types
import { bootGuest, freePort, GuestError, sq } from "../../scripts/qemu/guest.mjs";
// @ts-expect-error plain ESM script without types
import { ensureImage, qemuCache } from "../../scripts/qemu/image.mjs";
// @ts-expect-error plain ESM script without types
import { qemuArch } from "../../scripts/qemu/arches.mjs";

interface RunResult {
  out: string;
  rc: number;
}
interface Guest {
  run(cmd: string, o?: { timeoutMs?: number; check?: boolean }): Promise<RunResult>;
  putFile(path: string, data: string | Uint8Array): Promise<void>;
  waitFor(re: RegExp, ms?: number, what?: string, from?: number): Promise<RegExpExecArray>;
  tail(n?: number): string;
  stop(): Promise<unknown>;
  text: string;
  bootMs: number;
  guestBootS: number | null;
}

/** A cold router build compiles musl/OpenSSL/usrsctp/QuickJS for the arch; warm it relinks. */
const SETUP_TIMEOUT_MS = 45 * 60_000;
const CHUNK = 256 * 1024;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const hex2bytes = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));

/** The last line of `out` that is a JSON object. */
function lastJson(out: string): Record<string, unknown> {
  const line = out
    .split("\n")
    .reverse()
    .find((l) => l.trim().startsWith("{"));
  if (!line) throw new Error(`no JSON in:\n${out}`);
  return JSON.parse(line) as Record<string, unknown>;
}

export function routerSuite(archName: string): void {
  describe.sequential(`emulated router ${archName}`, () => {
    let g: Guest;
    let coord: RunningCoordinator;
    let dir: string;
    let rtcPort: number;
    let httpPort: number;
    const t0 = Date.now();
    const figures: Record<string, unknown> = { arch: archName };
    const chunks: string[] = [];
    /** The node's did once it registered with the coordinator: offers then go through it. */
    let nodeId = "";
    let link: BrowserLink | undefined;

    // Control requests go through `pear-fogd ctl` (the daemon's one-shot client, what the
    // router's scripts use underneath); the `pear-fog` CLI is checked once (status).
    /** Runs a guest command that must succeed; a failure carries the console tail. */
    const sh = async (cmd: string, timeoutMs = 30_000) =>
      (await g.run(cmd, { timeoutMs, check: true })).out;
    const ctl = async (op: string, args?: unknown) =>
      lastJson(
        await sh(`pear-fogd ctl ${op}${args === undefined ? "" : ` ${sq(JSON.stringify(args))}`}`),
      );
    const fail = (msg: string) => new GuestError(msg, g);

    /** Waits until pear-fogd answers on its control socket (as the init script started it). */
    async function waitRunning(ms = 30_000): Promise<number> {
      const until = Date.now() + ms;
      for (;;) {
        const r = await g.run(
          "pid=$(cat /var/run/procd-lite/pear-fog/pear-fogd.pid 2>/dev/null) && pear-fogd ctl status >/dev/null 2>&1 && echo PF-PID $pid",
        );
        const m = /PF-PID (\d+)/.exec(r.out);
        if (r.rc === 0 && m) return Number(m[1]);
        if (Date.now() > until) throw fail("pear-fogd did not come up");
        await new Promise((res) => setTimeout(res, 300));
      }
    }

    /** Random chunks made in the guest, put with the control op; returns their ids. */
    async function putChunks(sizes: number[]): Promise<string[]> {
      const out = await sh(
        `for s in ${sizes.join(" ")}; do dd if=/dev/urandom of=/tmp/c bs=$s count=1 2>/dev/null && id=$(sha256sum /tmp/c | cut -d' ' -f1) && pear-fogd ctl chunk_put "{\\"chunk\\":\\"$id\\",\\"path\\":\\"/tmp/c\\"}" >/dev/null && echo "PF-CHUNK $id" || echo PF-CHUNK-FAIL; done; rm -f /tmp/c`,
        60_000,
      );
      const ids = [...out.matchAll(/PF-CHUNK ([0-9a-f]{64})/g)].map((m) => m[1]!);
      if (ids.length !== sizes.length) throw fail(`chunk_put in the guest failed:\n${out}`);
      return ids;
    }

    /** The answer to `offer` from the guest's pear-fogd: through the coordinator's signalling
     * (browser → coordinator → the agent in pear-fogd) once the node registered, else through
     * the control socket (`pear-fogd ctl offer` over the serial console). */
    async function answerFor(offer: string): Promise<string> {
      if (nodeId) {
        // after a restart the node signs in again before the coordinator can relay
        for (let i = 0; ; i++) {
          const until = Date.now() + 20_000;
          while (!coord.server.registry.get(nodeId) && Date.now() < until) {
            await new Promise((r) => setTimeout(r, 200));
          }
          try {
            return await link!.offer(nodeId, offer);
          } catch (e) {
            if (i === 2) throw fail(`no answer through the coordinator: ${String(e)}`);
          }
        }
      }
      await g.putFile("/tmp/offer.json", JSON.stringify({ sdp: offer }));
      return String(lastJson(await sh(`pear-fogd ctl offer "$(cat /tmp/offer.json)"`)).sdp);
    }

    /** A wrtc peer connected to the guest's pear-fogd over QEMU's UDP forwarding. */
    async function connect() {
      const pc = new wrtc.RTCPeerConnection();
      const dc = pc.createDataChannel("pear-fog-chunks");
      await pc.setLocalDescription(await pc.createOffer());
      const sdp = await answerFor(pc.localDescription!.sdp);
      // the answer's candidate is the host-visible address: 127.0.0.1 and the forwarded port
      expect(sdp).toContain(`127.0.0.1 ${rtcPort} typ host`);
      await pc.setRemoteDescription({ type: "answer", sdp });
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(fail("data channel did not open in 20 s")), 20_000);
        dc.onopen = () => {
          clearTimeout(t);
          resolve();
        };
      });
      return { pc, client: new ChunkClient(dc as never, { requestTimeoutMs: 60_000 }) };
    }

    async function fetchAll(ids: string[], inflight = 4): Promise<number> {
      const peer = await connect();
      let next = 0;
      let bytes = 0;
      await Promise.all(
        Array.from({ length: inflight }, async () => {
          while (next < ids.length) {
            const id = ids[next++]!;
            const got = await peer.client.get(hex2bytes(id));
            expect(sha256(got), `chunk ${id}`).toBe(id);
            bytes += got.length;
          }
        }),
      );
      peer.pc.close();
      return bytes;
    }

    /** The ids of `ids` the store holds (ctl chunk_has). */
    async function have(ids: string[]): Promise<string[]> {
      const r = await ctl("chunk_has", { chunks: ids });
      const got = new Set(r.have as string[]);
      return ids.filter((id) => got.has(id));
    }

    async function procStat(pid: number) {
      const out = await sh(`grep -E '^Vm(RSS|HWM):' /proc/${pid}/status; cat /proc/${pid}/stat`);
      const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(out)?.[1]);
      const stat = out.split("\n").find((l) => l.startsWith(`${pid} (`))!;
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // utime, stime: fields 14, 15 of /proc/PID/stat (clock ticks, USER_HZ = 100)
      return {
        rssKiB: kb("VmRSS"),
        hwmKiB: kb("VmHWM"),
        cpuMs: (Number(f[11]) + Number(f[12])) * 10,
      };
    }

    beforeAll(async () => {
      const image = ensureImage(archName);
      figures.image = { kernel: image.versions.kernel, busybox: image.versions.busybox };
      dir = mkdtempSync(join(tmpdir(), "pear-fog-qemu-"));
      coord = await startCoordinator({
        host: "127.0.0.1",
        port: 0,
        dbPath: join(dir, "coordinator.sqlite"),
      });
      rtcPort = await freePort("udp");
      httpPort = await freePort("tcp");
      g = (await bootGuest(image, {
        forward: [
          { proto: "udp", host: rtcPort, guest: rtcPort },
          { proto: "tcp", host: httpPort, guest: 47101 },
        ],
      })) as Guest;
      figures.bootMs = g.bootMs;
      figures.guestUptimeAtReadyS = g.guestBootS;
    }, SETUP_TIMEOUT_MS);

    // The steps build on each other (install, configure, serve, restart...): after the first
    // failure the rest are skipped, so the report shows that failure and its console tail.
    let failed = "";
    afterEach((ctx) => {
      if (ctx.task.result?.state === "fail" && !failed) failed = ctx.task.name;
    });
    beforeEach((ctx) => {
      if (failed) ctx.skip(`an earlier step failed: ${failed}`);
    });

    afterAll(async () => {
      figures.suiteMs = Date.now() - t0;
      figures.signalling = nodeId
        ? "coordinator (sig.offer → agent in pear-fogd)"
        : "ctl offer over the console";
      link?.close();
      await g?.stop();
      await coord?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
      writeFileSync(
        join(qemuCache(qemuArch(archName).short), "figures.json"),
        JSON.stringify(figures, null, 2),
      );
      console.log(`[qemu ${archName}] ${JSON.stringify(figures)}`);
    });

    it("installs the ipk as opkg does: postinst runs uci-defaults, enables and starts the service", async () => {
      const out = await sh(
        "t0=$(cut -d' ' -f1 /proc/uptime); opkg install /root/pkgs/pear-fog_*.ipk; rc=$?; t1=$(cut -d' ' -f1 /proc/uptime); echo PF-INSTALL rc=$rc ms=$(awk \"BEGIN { print ($t1 - $t0) * 1000 }\")",
        60_000,
      );
      const m = /PF-INSTALL rc=(\d+) ms=(\d+)/.exec(out);
      if (!m || m[1] !== "0") throw fail(`opkg install failed:\n${out}`);
      figures.installMs = Number(m[2]);
      // uci-defaults ran and was removed; the service is enabled; the user exists
      const state = await sh(
        "uci get pear-fog.main; echo /etc/uci-defaults/* /etc/rc.d/*; grep ^pear-fog: /etc/passwd",
      );
      expect(state).toContain(
        "pear-fog\n/etc/uci-defaults/* /etc/rc.d/K10pear-fog /etc/rc.d/S95pear-fog\n",
      );
      expect(state).toContain("pear-fog:x:470:470:");
      const pid = await waitRunning();
      // as the init script asks: its UCI file, the interface's address, user pear-fog
      const cmdline = await sh(
        `tr '\\0' ' ' < /proc/${pid}/cmdline; grep ^Uid: /proc/${pid}/status`,
      );
      expect(cmdline).toContain(
        "/usr/sbin/pear-fogd --config /etc/config/pear-fog --store-size 33554432 --rtc-address 10.0.2.15",
      );
      expect(cmdline).toMatch(/Uid:\s+470\s/);
    });

    it("runs as configured in UCI: store on /overlay, host-visible candidate, the coordinator on the host", async () => {
      const coordUrl = coord.url.replace("http://127.0.0.1", "ws://10.0.2.2") + "/ws/node";
      await sh(
        [
          "mkdir -p /overlay/pear-fog",
          `uci set pear-fog.main.rtc_port=${rtcPort}`,
          "uci add_list pear-fog.main.rtc_address=127.0.0.1",
          "uci set pear-fog.main.store_path=/overlay/pear-fog",
          "uci set pear-fog.main.store_size=8M",
          "uci set pear-fog.main.sharing=1",
          `uci set pear-fog.main.coordinator=${coordUrl}`,
          "uci commit pear-fog",
          "/etc/init.d/pear-fog reload",
        ].join(" && "),
      );
      const pid = await waitRunning();
      const status = await ctl("status");
      expect(status.rtc_port).toBe(rtcPort);
      // the router's own CLI (lib.sh, uci, pear-fogd ctl) says the same
      expect(await sh("pear-fog status")).toMatch(
        new RegExp(`sharing:\\s+on[^]*WebRTC udp/${rtcPort}`),
      );
      expect(status.store_cap).toBe(8 << 20);
      expect(await sh(`tr '\\0' ' ' < /proc/${pid}/cmdline`)).toContain("--store-size 8388608");
    });

    it("registers with the coordinator on the host (10.0.2.2)", async () => {
      const until = Date.now() + 15_000;
      while (coord.server.registry.size() === 0 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 500));
      }
      if (coord.server.registry.size() === 0) {
        throw fail(`the node did not register with ${coord.url}`);
      }
      // the node the coordinator knows is the one in the guest (its key's did)
      const did = /agent: node (did:key:\w+)/.exec(
        await sh("cat /var/log/pear-fog.pear-fogd.log"),
      )?.[1];
      expect(coord.server.registry.get(did ?? "-"), `registered: ${did}`).toBeDefined();
      nodeId = did!;
      link = await BrowserLink.open(`${coord.url.replace(/^http/, "ws")}/ws/browser`);
      figures.registration = "ok";
    });

    it("a host libwebrtc peer fetches chunks over UDP host forwarding, every hash checked", async () => {
      const sizes = [1, 1199, 1200, 65_521, 100_000, CHUNK, 1 << 20];
      const ids = await putChunks(sizes);
      chunks.push(...ids);
      const bytes = await fetchAll(ids, 3);
      expect(bytes).toBe(sizes.reduce((a, b) => a + b, 0));
      // the same store over HTTP (TCP host forwarding of http_port 47101)
      const r = await fetch(`http://127.0.0.1:${httpPort}/chunks/${ids[5]}`);
      expect(r.status).toBe(200);
      expect(sha256(new Uint8Array(await r.arrayBuffer()))).toBe(ids[5]);
    });

    it("records RSS idle and under load, and CPU time per MiB served", async () => {
      const pid = await waitRunning();
      const ids = await putChunks(Array.from({ length: 16 }, () => CHUNK));
      // unthrottled (upload_cap 625000 B/s by default): the CPU is the limit
      await ctl("limits", { upload_cap: 1_000_000_000 });
      const idle = await procStat(pid);
      const t = Date.now();
      let done = false;
      const load = fetchAll(ids, 4).finally(() => (done = true));
      // VmRSS sampled over the console while the transfer runs; the largest sample is kept
      let during = idle;
      while (!done) {
        const s = await procStat(pid);
        if (s.rssKiB > during.rssKiB) during = s;
        // each sample forks in the guest: leave the emulated CPU to pear-fogd in between
        await new Promise((r) => setTimeout(r, 250));
      }
      const bytes = await load;
      const ms = Date.now() - t;
      const after = await procStat(pid);
      const mib = bytes / (1 << 20);
      Object.assign(figures, {
        rssIdleKiB: idle.rssKiB,
        rssLoadKiB: during.rssKiB,
        rssPeakKiB: after.hwmKiB,
        loadMiB: mib,
        loadMs: ms,
        loadMiBps: Number((mib / (ms / 1000)).toFixed(2)),
        cpuMsPerMiB: Math.round((after.cpuMs - idle.cpuMs) / mib),
      });
      expect(bytes).toBe(16 * CHUNK);
      expect(idle.rssKiB).toBeGreaterThan(0);
      await ctl("limits", { upload_cap: 625_000 });
    });

    it("restart: the store is intact and the service back", async () => {
      const before = await waitRunning();
      await sh("/etc/init.d/pear-fog restart");
      const after = await waitRunning();
      expect(after).not.toBe(before);
      expect(await have(chunks)).toEqual(chunks);
      expect(await fetchAll(chunks.slice(-2), 2)).toBe(CHUNK + (1 << 20));
    });

    it("kill -9: respawned by the service's respawn, the store intact", async () => {
      const before = await waitRunning();
      await sh(`kill -9 ${before}`);
      // respawn waits respawn_timeout (5 s, the init script's default) before starting again
      const until = Date.now() + 20_000;
      let after = before;
      while (after === before && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 500));
        after = await waitRunning(20_000).catch(() => before);
      }
      if (after === before) throw fail("pear-fogd was not respawned after kill -9");
      expect(await sh("grep -c 'exited with 137' /var/log/pear-fog.pear-fogd.log")).toMatch(/^1$/m);
      expect(await have(chunks)).toEqual(chunks);
      expect(await fetchAll(chunks.slice(-1), 1)).toBe(1 << 20);
    });

    it("full store: least recently used chunks are evicted at store_size", async () => {
      await sh(
        "uci set pear-fog.main.store_size=1M && uci commit pear-fog && /etc/init.d/pear-fog reload",
      );
      await waitRunning();
      const ids = await putChunks(Array.from({ length: 6 }, () => CHUNK));
      const status = await ctl("status");
      expect(status.store_cap).toBe(1 << 20);
      expect(Number(status.store_bytes)).toBeLessThanOrEqual(1 << 20);
      expect(Number(status.store_evictions)).toBeGreaterThan(0);
      // the newest chunks are there, the oldest were evicted
      const held = await have(ids);
      expect(held.length).toBeLessThan(ids.length);
      expect(held).toEqual(expect.arrayContaining(ids.slice(-2)));
      expect(await fetchAll(ids.slice(-2), 2)).toBe(2 * CHUNK);
      // a store file system that is full: one clear line, no instance
      const out = await g.run(
        "mkdir -p /overlay/full && mount -t tmpfs -o size=512k tmpfs /overlay/full && uci set pear-fog.main.store_path=/overlay/full && uci commit pear-fog && /etc/init.d/pear-fog restart; /etc/init.d/pear-fog running; echo PF-RUNNING $?",
      );
      expect(out.out).toMatch(/is full .*not starting/);
      expect(out.out).toContain("PF-RUNNING 1");
    });

    it("bad UCI values: a clear error, no instance; fixed, it starts again", async () => {
      const bad = await g.run(
        "uci set pear-fog.main.store_path=/overlay/pear-fog && uci set pear-fog.main.rtc_port=70000 && uci commit pear-fog && /etc/init.d/pear-fog restart; /etc/init.d/pear-fog running; echo PF-RUNNING $?",
      );
      expect(bad.out).toContain("invalid values in /etc/config/pear-fog");
      expect(bad.out).toContain("PF-RUNNING 1");
      const size = await g.run(
        `uci set pear-fog.main.rtc_port=${rtcPort} && uci set pear-fog.main.store_size=12x && uci commit pear-fog && /etc/init.d/pear-fog restart; /etc/init.d/pear-fog running; echo PF-RUNNING $?`,
      );
      expect(size.out).toMatch(/store_size.*12x.*not starting/);
      expect(size.out).toContain("PF-RUNNING 1");
      expect(await sh("logread | grep -c 'not starting'")).toMatch(/^[2-9]\d*$/m);
      await sh(
        "uci set pear-fog.main.store_size=8M && uci commit pear-fog && /etc/init.d/pear-fog restart",
      );
      await waitRunning();
      const ids = await putChunks([1000, 5000]);
      expect(await fetchAll(ids, 2)).toBe(6000);
    });
  });
}

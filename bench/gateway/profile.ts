// Profiles the release pear-fogd's sending path under callgrind (not part of `npm run bench`):
//   npx tsx bench/gateway/profile.ts [MiB=32] [out=/tmp/pear-fogd.callgrind]
//   callgrind_annotate --inclusive=yes <out> | head -40
// Chunks are staged and the peer connected with instrumentation off; callgrind_control turns it
// on for the transfer only, so the profile is the chunk-response data plane (DTLS, SCTP, store).
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CtlClient } from "../../src/platform/node/ctl-client";
import { connectWrtcPeer } from "../../test/support/wrtc-peer";

export const PROFILE_DEFAULTS = {
  /** Bytes transferred while profiling, MiB. */
  mib: 32,
  /** Chunk size, bytes. */
  chunkBytes: 256 * 1024,
  /** GETs in flight (count). */
  inflight: 8,
  /** Wait for "ready" / channel open under valgrind, milliseconds. */
  startTimeoutMs: 60_000,
} as const;

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? PROFILE_DEFAULTS.mib);
  const out = process.argv[3] ?? "/tmp/pear-fogd.callgrind";
  const native = join(import.meta.dirname, "..", "..", "libs", "webrtc-native");
  execFileSync("make", ["-C", native, "-j2", "build/release/pear-fogd"], { stdio: "ignore" });
  const dir = mkdtempSync(join(tmpdir(), "pear-fogd-prof-"));
  const ctlPath = join(dir, "ctl.sock");
  const proc = spawn(
    "valgrind",
    [
      "--tool=callgrind",
      "--instr-atstart=no",
      `--callgrind-out-file=${out}`,
      join(native, "build/release/pear-fogd"),
      ...["--store-path", join(dir, "store"), "--ctl-socket", ctlPath, "--bind", "127.0.0.1"],
      ...["--rtc-port", "0", "--http-port", "0"],
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  proc.stderr!.setEncoding("utf8");
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`not ready:\n${log}`)),
      PROFILE_DEFAULTS.startTimeoutMs,
    );
    proc.stderr!.on("data", (d: string) => {
      log += d;
      if (/ready rtc_port=/.test(log)) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  const ctl = await CtlClient.connect(ctlPath);
  const ids: Uint8Array[] = [];
  const n = (mib * 1024 * 1024) / PROFILE_DEFAULTS.chunkBytes;
  for (let i = 0; i < n; i++) {
    const data = randomBytes(PROFILE_DEFAULTS.chunkBytes);
    const id = createHash("sha256").update(data).digest("hex");
    const path = join(dir, `stage-${i}`);
    writeFileSync(path, data);
    await ctl.request("chunk_put", { chunk: id, path });
    rmSync(path);
    ids.push(Buffer.from(id, "hex"));
  }
  const { pc, client } = await connectWrtcPeer(
    { ctl },
    { openTimeoutMs: PROFILE_DEFAULTS.startTimeoutMs, requestTimeoutMs: 120_000 },
  );
  execFileSync("callgrind_control", ["-i", "on", String(proc.pid)], { stdio: "ignore" });
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: PROFILE_DEFAULTS.inflight }, async () => {
      while (next < ids.length) await client.get(ids[next++]!);
    }),
  );
  const s = (performance.now() - t0) / 1000;
  execFileSync("callgrind_control", ["-i", "off", String(proc.pid)], { stdio: "ignore" });
  console.log(`${mib} MiB under callgrind in ${s.toFixed(1)} s; profile: ${out}`);
  pc.close();
  ctl.close();
  const exited = new Promise((res) => proc.once("exit", res));
  proc.kill("SIGTERM");
  await exited;
  rmSync(dir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);

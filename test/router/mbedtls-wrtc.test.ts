// Router builds link mbedTLS (issue 5): the router builds of pear-fogd (static musl, mbedTLS
// 3.6 with scripts/router/mbedtls_config.h) serve chunks to Google's libwebrtc (npm
// @roamhq/wrtc) — ICE-lite, DTLS 1.2 on mbedTLS, SCTP, DCEP, the chunk protocol — and every
// hash is checked. x86_64 runs on this host as it would on an x86_64 OpenWrt router; the
// mipsel_24kc build runs under qemu-user (-cpu 24Kc: no FPU, ChaCha20 preferred) on loopback.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomChunk, sha256Hex, startPearFogd, type PearFogd } from "../support/pear-fogd";
import { connectWrtcPeer } from "../support/wrtc-peer";

const ROOT = resolve(fileURLToPath(import.meta.url), "..", "..", "..");
/** A cold build compiles musl, mbedTLS, usrsctp and QuickJS-ng: allow 40 minutes. */
const BUILD_TIMEOUT_MS = 40 * 60_000;

const hex2bytes = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));

/** cipher: the suite pear-fogd picks (AES-GCM with AES instructions, else ChaCha20). */
const TARGETS = [
  { arch: "x86_64", qemu: [] as string[], cipher: "ECDHE-ECDSA-AES128-GCM-SHA256" },
  {
    arch: "mipsel_24kc",
    qemu: ["qemu-mipsel-static", "-cpu", "24Kc"],
    cipher: "ECDHE-ECDSA-CHACHA20-POLY1305",
  },
];
/** Offer → open data channel, generous for qemu-user. */
const OPEN_TIMEOUT_MS = 30_000;

describe.each(TARGETS)("$arch router build (mbedTLS) ⇄ libwebrtc", (t) => {
  let node: PearFogd;
  let bin = "";
  let wrapDir = "";

  beforeAll(async () => {
    const r = spawnSync(
      "node",
      ["scripts/build-router.mjs", "--arch", t.arch, "--tls", "mbedtls", "--no-verify"],
      { cwd: ROOT, encoding: "utf8", timeout: BUILD_TIMEOUT_MS },
    );
    if (r.status !== 0) throw new Error(`build-router ${t.arch} failed:\n${r.stderr.slice(-3000)}`);
    bin = join(ROOT, "dist", t.arch, "pear-fogd");
    let run = bin;
    if (t.qemu.length) {
      // startPearFogd runs one executable: a script that execs qemu-user with the binary
      wrapDir = mkdtempSync(join(tmpdir(), `pf-qemu-${t.arch}-`));
      run = join(wrapDir, "pear-fogd");
      writeFileSync(run, `#!/bin/sh\nexec ${t.qemu.join(" ")} ${bin} "$@"\n`);
      chmodSync(run, 0o755);
    }
    node = await startPearFogd({ binary: run, args: ["--log-level", "debug"] });
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (node) expect(await node.stop()).toBe(0);
    if (wrapDir) rmSync(wrapDir, { recursive: true, force: true });
  });

  it("is the mbedTLS build", () => {
    const info = JSON.parse(readFileSync(join(ROOT, "dist", t.arch, "build-info.json"), "utf8"));
    expect(info.tls).toBe("mbedtls");
    // mbedTLS' own suite names (ssl_ciphersuites.c); OpenSSL's error-free build has none
    expect(readFileSync(bin).includes("TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256")).toBe(true);
  });

  it("serves chunks over a data channel, every hash correct", { timeout: 120_000 }, async () => {
    const sizes = [1, 1199, 1200, 65521, 256 * 1024, 1 << 20];
    const chunks = sizes.map(randomChunk);
    const ids = await Promise.all(chunks.map((c) => node.putChunk(c)));
    const { pc, client } = await connectWrtcPeer(node, { openTimeoutMs: OPEN_TIMEOUT_MS });
    try {
      // rtc_server logs the suite dtls_cipher_name() reports (OpenSSL's names, both backends)
      expect(node.log()).toContain(`DTLS up (${t.cipher})`);
      const got = await Promise.all(ids.map((id) => client.get(hex2bytes(id))));
      got.forEach((g, i) => expect(sha256Hex(g)).toBe(ids[i]));
      const part = await client.get(hex2bytes(ids[5]!), 1000, 70_000);
      expect(Buffer.from(part).equals(Buffer.from(chunks[5]!.subarray(1000, 71_000)))).toBe(true);
      // Quiet for longer than release_idle_ms (500 ms; libwebrtc's SCTP heartbeats are 30 s
      // apart): pear-fogd serializes the DTLS session and frees mbedTLS' buffers, then loads
      // it again for the next request on the same connection.
      await new Promise((r) => setTimeout(r, 1500));
      const again = await client.get(hex2bytes(ids[4]!));
      expect(sha256Hex(again)).toBe(ids[4]);
    } finally {
      pc.close();
    }
  });
});

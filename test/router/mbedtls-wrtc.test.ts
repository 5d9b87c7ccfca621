// Router builds link mbedTLS (issue 5): the x86_64 router build of pear-fogd (static musl,
// mbedTLS 3.6 with scripts/router/mbedtls_config.h) serves chunks to Google's libwebrtc
// (npm @roamhq/wrtc) — ICE-lite, DTLS 1.2 on mbedTLS, SCTP, DCEP, the chunk protocol — and
// every hash is checked. It runs on this host as it would on an x86_64 OpenWrt router.
import wrtc from "@roamhq/wrtc";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChunkClient } from "../../src/sdk/chunk-client";
import { randomChunk, sha256Hex, startPearFogd, type PearFogd } from "../support/pear-fogd";

const ROOT = resolve(fileURLToPath(import.meta.url), "..", "..", "..");
/** A cold build compiles musl, mbedTLS, usrsctp and QuickJS-ng: allow 40 minutes. */
const BUILD_TIMEOUT_MS = 40 * 60_000;

const hex2bytes = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));

describe("x86_64 router build (mbedTLS) ⇄ libwebrtc", () => {
  let node: PearFogd;
  let bin = "";

  beforeAll(async () => {
    const r = spawnSync(
      "node",
      ["scripts/build-router.mjs", "--arch", "x86_64", "--tls", "mbedtls", "--no-verify"],
      { cwd: ROOT, encoding: "utf8", timeout: BUILD_TIMEOUT_MS },
    );
    if (r.status !== 0) throw new Error(`build-router x86_64 failed:\n${r.stderr.slice(-3000)}`);
    bin = join(ROOT, "dist", "x86_64", "pear-fogd");
    node = await startPearFogd({ binary: bin });
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (node) expect(await node.stop()).toBe(0);
  });

  it("is the mbedTLS build", () => {
    const info = JSON.parse(readFileSync(join(ROOT, "dist", "x86_64", "build-info.json"), "utf8"));
    expect(info.tls).toBe("mbedtls");
    // mbedTLS' own suite names (ssl_ciphersuites.c); OpenSSL's error-free build has none
    expect(readFileSync(bin).includes("TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256")).toBe(true);
  });

  it("serves chunks over a data channel, every hash correct", async () => {
    const sizes = [1, 1199, 1200, 65521, 256 * 1024, 1 << 20];
    const chunks = sizes.map(randomChunk);
    const ids = await Promise.all(chunks.map((c) => node.putChunk(c)));
    const pc = new wrtc.RTCPeerConnection();
    try {
      const dc = pc.createDataChannel("pear-fog-chunks");
      await pc.setLocalDescription(await pc.createOffer());
      const r = await node.ctl.request("offer", { sdp: pc.localDescription!.sdp });
      await pc.setRemoteDescription({ type: "answer", sdp: r.sdp as string });
      await new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error("data channel did not open in 10 s")), 10_000);
        dc.onopen = () => {
          clearTimeout(t);
          res();
        };
      });
      const client = new ChunkClient(dc as never, { requestTimeoutMs: 60_000 });
      const got = await Promise.all(ids.map((id) => client.get(hex2bytes(id))));
      got.forEach((g, i) => expect(sha256Hex(g)).toBe(ids[i]));
      const part = await client.get(hex2bytes(ids[5]!), 1000, 70_000);
      expect(Buffer.from(part).equals(Buffer.from(chunks[5]!.subarray(1000, 71_000)))).toBe(true);
    } finally {
      pc.close();
    }
  });
});

// The C unit tests of the modules with a TLS backend, built against mbedTLS 3.6 with the
// router builds' trimmed configuration (scripts/router/mbedtls_config.h, built for the host by
// scripts/router/mbedtls-host.mjs) under ASan + UBSan: `make test TLS=mbedtls` in its own
// BUILD dir. The OpenSSL flavour of the same tests runs in the c tier of `npm test`.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const NATIVE = resolve(fileURLToPath(import.meta.url), "..", "..", "..", "libs", "webrtc-native");
/** Modules whose code or tests go through crypto.h, dtls.h or tls_client.h. */
const MODULES = [
  "ice_agent",
  "stun_client",
  "crypto",
  "dtls",
  "tls_client",
  "stun",
  "chunk_id",
  "ice_lite",
  "ws_client",
  "http_client",
];

describe("unit tests against mbedTLS (make test TLS=mbedtls)", () => {
  it.each(MODULES)(
    "test_%s",
    (t) => {
      const r = spawnSync(
        "make",
        ["-C", NATIVE, "-j2", "TLS=mbedtls", "BUILD=build/mbedtls", "test", `T=${t}`],
        { encoding: "utf8", timeout: 15 * 60_000, maxBuffer: 64 << 20 },
      );
      const out = r.stdout + r.stderr;
      const summary = /^(\d+) passed, (\d+) failed$/m.exec(out);
      expect(summary, out.slice(-3000)).not.toBeNull();
      expect(Number(summary![2]), out.slice(-3000)).toBe(0);
      expect(Number(summary![1])).toBeGreaterThan(0);
      expect(r.status, out.slice(-3000)).toBe(0);
    },
    15 * 60_000,
  );
});

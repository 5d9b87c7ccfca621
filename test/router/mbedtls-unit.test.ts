// The C unit tests of the modules with a TLS backend, built against mbedTLS 3.6 with the
// router builds' trimmed configuration (scripts/router/mbedtls_config.h, built for the host by
// scripts/router/mbedtls-host.mjs) under ASan + UBSan: `make test TLS=mbedtls` in its own
// BUILD dir. The OpenSSL flavour of the same tests runs in the c tier of `npm test`.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const NATIVE = resolve(fileURLToPath(import.meta.url), "..", "..", "..", "libs", "webrtc-native");
/** Modules whose code or tests go through crypto.h, dtls.h or tls_client.h. */
const MODULES = [
  "portmap",
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

/** Files allowed to use OpenSSL directly: its backends, Ed25519, the test of both DTLS ones. */
const OPENSSL_USERS = /(_openssl\.c|^mod_fog_crypto\.c|^test_dtls\.c)$/;

it("no module outside the OpenSSL backends calls OpenSSL (use crypto.h)", () => {
  const offenders: string[] = [];
  for (const dir of ["src", "test", "fuzz"]) {
    for (const f of readdirSync(join(NATIVE, dir))) {
      if (!/\.[ch]$/.test(f) || OPENSSL_USERS.test(f)) continue;
      const text = readFileSync(join(NATIVE, dir, f), "utf8");
      if (/#include <openssl\/|\b(RAND_bytes|EVP_\w+)\(/.test(text)) offenders.push(`${dir}/${f}`);
    }
  }
  expect(offenders).toEqual([]);
});

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

// The C unit tests of the modules with a TLS backend, built against mbedTLS 3.6 with the
// router builds' trimmed configuration (scripts/router/mbedtls_config.h, built for the host by
// scripts/router/mbedtls-host.mjs) under ASan + UBSan: `make test TLS=mbedtls` in its own
// BUILD dir. The OpenSSL flavour of the same tests runs in the c tier of `npm test`.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

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

/** `make test T=<t>` with these make variables passes every test of test_<t>. */
function expectMakeTestPasses(t: string, vars: string[]) {
  const r = spawnSync("make", ["-C", NATIVE, "-j2", "TLS=mbedtls", ...vars, "test", `T=${t}`], {
    encoding: "utf8",
    timeout: 15 * 60_000,
    maxBuffer: 64 << 20,
  });
  const out = r.stdout + r.stderr;
  const summary = /^(\d+) passed, (\d+) failed$/m.exec(out);
  expect(summary, out.slice(-3000)).not.toBeNull();
  expect(Number(summary![2]), out.slice(-3000)).toBe(0);
  expect(Number(summary![1])).toBeGreaterThan(0);
  expect(r.status, out.slice(-3000)).toBe(0);
}

describe("unit tests against mbedTLS (make test TLS=mbedtls)", () => {
  it.each(MODULES)("test_%s", (t) => expectMakeTestPasses(t, ["BUILD=build/mbedtls"]), 15 * 60_000);
});

// The OpenWrt SDK build (openwrt/Makefile) links the target's libmbedtls, built with a
// configuration of its own: closer to mbedTLS' default than to ours (e.g. HelloVerifyRequest
// compiled in, which dtls_mbedtls.c must turn off at run time or no handshake completes).
describe("the TLS backends against mbedTLS' default configuration", () => {
  let prefix = "";
  beforeAll(() => {
    const r = spawnSync(
      "node",
      [join(NATIVE, "../../scripts/router/mbedtls-host.mjs"), "--default-config"],
      {
        encoding: "utf8",
        timeout: 15 * 60_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    prefix = r.stdout.trim().split("\n").pop()!;
  }, 15 * 60_000);

  it.each(["dtls", "tls_client", "crypto"])(
    "test_%s",
    (t) => expectMakeTestPasses(t, [`MBEDTLS_DIR=${prefix}`, "BUILD=build/mbedtls-default"]),
    15 * 60_000,
  );
});

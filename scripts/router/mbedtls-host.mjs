#!/usr/bin/env node
// Prints the prefix of mbedTLS 3 built with the host cc and pear-fogd's trimmed configuration
// (scripts/router/mbedtls_config.h), building it first when missing (cached under
// $PEAR_FOG_CACHE/router/host/mbedtls). libs/webrtc-native/Makefile calls it for
// `make test TLS=mbedtls`: the C unit tests under ASan+UBSan against the router's TLS library.
//
//   --default-config   mbedTLS' own default configuration instead (…/host/mbedtls-default):
//                      what a distribution's libmbedtls is closer to, e.g. OpenWrt's, which
//                      the SDK build (openwrt/Makefile) links; test/router/mbedtls-unit.test.ts
//                      runs the TLS backends' tests against it too.
import { ensureMbedtls, HOST } from "./deps.mjs";
import { acquireLock } from "./lib.mjs";
import { ensureHostPackages } from "./toolchain.mjs";

const release = acquireLock();
try {
  ensureHostPackages([]); // cmake, bzip2 (a fresh machine may not have run build-router yet)
  const config = !process.argv.includes("--default-config");
  process.stdout.write(ensureMbedtls(HOST, null, { config }) + "\n");
} catch (e) {
  console.error(e.message ?? e);
  process.exitCode = 1;
} finally {
  release();
}

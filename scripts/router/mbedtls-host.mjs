#!/usr/bin/env node
// Prints the prefix of mbedTLS 3 built with the host cc and pear-fogd's trimmed configuration
// (scripts/router/mbedtls_config.h), building it first when missing (cached under
// $PEAR_FOG_CACHE/router/host/mbedtls). libs/webrtc-native/Makefile calls it for
// `make test TLS=mbedtls`: the C unit tests under ASan+UBSan against the router's TLS library.
import { ensureMbedtls, HOST } from "./deps.mjs";
import { acquireLock } from "./lib.mjs";
import { ensureHostPackages } from "./toolchain.mjs";

const release = acquireLock();
try {
  ensureHostPackages([]); // cmake, bzip2 (a fresh machine may not have run build-router yet)
  process.stdout.write(ensureMbedtls(HOST, null) + "\n");
} catch (e) {
  console.error(e.message ?? e);
  process.exitCode = 1;
} finally {
  release();
}

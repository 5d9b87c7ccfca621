#!/usr/bin/env node
// OpenSSL 3 vs mbedTLS 3 for pear-fogd's DTLS on routers: size and CPU.
//
//   node scripts/router/dtls-bench.mjs [--arch x86_64 --arch mipsel_24kc] [--mib 64]
//   node scripts/router/dtls-bench.mjs --openssl-trim --arch mipsel_24kc
//       (size of the OpenSSL bench with the trimmed vs the untrimmed OpenSSL build)
//
//   node scripts/router/dtls-bench.mjs --mbedtls-default (mbedTLS' default configuration)
//
// Per arch: dtls_bench_openssl.c and dtls_bench_mbedtls.c (same protocol, same loop: DTLS 1.2
// handshake with ECDSA P-256 certificates, then MIB of 1200-byte AES-128-GCM records, and
// again with ChaCha20-Poly1305) are linked statically against the router build's libraries
// (OpenSSL "min" options; mbedTLS with scripts/router/mbedtls_config.h, as router builds link
// them), stripped, measured
// (raw, gzip -9, xz -9e; per-library bytes from the link map) and run (qemu-user for foreign
// arches: CPU figures there are relative only). With dist/<arch>/pear-fogd built, it also
// estimates pear-fogd's size with mbedTLS in place of OpenSSL. Writes dist/dtls-bench.json.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { archOf } from "./arches.mjs";
import { ensureMbedtls, ensureOpenssl, libDir } from "./deps.mjs";
import { acquireLock, log, ROOT, routerCache, run } from "./lib.mjs";
import { mapBreakdown } from "./sizes.mjs";
import { ensureToolchain, tool } from "./toolchain.mjs";
import { runTarget, sizes } from "./verify.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));

export const benchDefaults = {
  /** Application data per run, MiB. */
  mib: 64,
  /** Arches measured by default: the fastest and the smallest target. */
  arches: ["x86_64", "mipsel_24kc"],
  /** Ciphers run per library. */
  ciphers: ["gcm", "chacha"],
};

function buildBench(arch, tc, lib, prefixes, suffix = "") {
  const out = routerCache(arch.name, "dtls-bench");
  const exe = join(out, `dtls_bench_${lib}${suffix}`);
  const map = `${exe}.map`;
  const libs =
    lib === "openssl"
      ? [`-L${libDir(prefixes.openssl)}`, "-lssl", "-lcrypto"]
      : [`-L${libDir(prefixes.mbedtls)}`, "-lmbedtls", "-lmbedx509", "-lmbedcrypto"];
  run(
    `dtls bench ${lib}`,
    tc.cc,
    [
      "-std=gnu11",
      "-D_GNU_SOURCE",
      "-Os",
      "-ffunction-sections",
      "-fdata-sections",
      "-Wall",
      "-Wno-unused-parameter",
      "-isystem",
      join(prefixes[lib], "include"),
      join(HERE, "dtls-bench", `dtls_bench_${lib}.c`),
      "-static",
      "-no-pie",
      "-Wl,--gc-sections",
      `-Wl,-Map=${map}`,
      ...libs,
      ...arch.ldlibs,
      "-o",
      exe,
    ],
    { logFile: join(routerCache(arch.name), "logs", "dtls-bench.log"), nice: true },
  );
  const stripped = `${exe}.stripped`;
  copyFileSync(exe, stripped);
  run("strip", tool(arch, "strip"), ["--strip-all", "-R", ".comment", stripped]);
  return { exe: stripped, map };
}

function parseLine(line) {
  const o = {};
  for (const m of line.matchAll(/(\w+)=(\S+)/g)) o[m[1]] = /^[\d.]+$/.test(m[2]) ? +m[2] : m[2];
  return o;
}

/**
 * Size of the OpenSSL bench linked against OpenSSL built with only the always-on options
 * ("full") next to the router's trimmed "min" build: what the no-* options save.
 */
export function opensslTrimGain(name) {
  const arch = archOf(name);
  const tc = ensureToolchain(arch);
  const res = {};
  for (const variant of ["min", "full"]) {
    const prefix = ensureOpenssl(arch, tc, { variant });
    const { exe, map } = buildBench(arch, tc, "openssl", { openssl: prefix }, `-${variant}`);
    res[variant] = { sizes: sizes(exe), opensslBytes: mapBreakdown(map).openssl ?? 0 };
  }
  return res;
}

/** Measures one arch; returns the result object. */
export function benchArch(name, { mib = benchDefaults.mib, mbedtlsDefault = false } = {}) {
  const arch = archOf(name);
  const tc = ensureToolchain(arch);
  const prefixes = {
    openssl: ensureOpenssl(arch, tc, { variant: "min" }),
    // pear-fogd's trimmed configuration (scripts/router/mbedtls_config.h), as router builds
    // link it; --mbedtls-default measures mbedTLS' default one
    mbedtls: ensureMbedtls(arch, tc, { config: !mbedtlsDefault }),
  };
  const result = { arch: name, mib, qemu: arch.qemu.length > 0, libs: {} };
  for (const lib of ["openssl", "mbedtls"]) {
    const { exe, map } = buildBench(arch, tc, lib, prefixes);
    const parts = mapBreakdown(map);
    const r = { sizes: sizes(exe), libBytes: parts[lib] ?? 0, runs: {} };
    for (const cipher of benchDefaults.ciphers) {
      log(`${name}: ${lib} ${cipher} ${mib} MiB${arch.qemu.length ? " (qemu-user)" : ""}`);
      const t = runTarget(arch, exe, [String(mib), cipher], { timeout: 900_000 });
      if (t.status !== 0) {
        r.runs[cipher] = { error: `exit ${t.status ?? t.signal}: ${t.stderr.trim()}` };
      } else {
        r.runs[cipher] = parseLine(t.stdout.trim());
      }
    }
    result.libs[lib] = r;
  }
  // pear-fogd with mbedTLS instead of OpenSSL, estimated from its link map: its OpenSSL bytes
  // out, the bench's mbedTLS bytes in; compressed sizes scaled by each bench's gzip/xz ratio.
  const pfMap = join(ROOT, "libs", "webrtc-native", "build", name, "pear-fogd.map");
  const pfBin = join(ROOT, "dist", name, "pear-fogd");
  // (only for an OpenSSL build of pear-fogd: `npm run build:router -- --tls openssl`)
  const pf = existsSync(pfMap) && existsSync(pfBin) ? mapBreakdown(pfMap) : {};
  if (pf.openssl) {
    const s = sizes(pfBin);
    const o = result.libs.openssl;
    const m = result.libs.mbedtls;
    const ratio = (x, k) => x.sizes[k] / x.sizes.bytes;
    const est = (k) =>
      Math.round(
        s[k] -
          pf.openssl * (k === "bytes" ? 1 : ratio(o, k)) +
          m.libBytes * (k === "bytes" ? 1 : ratio(m, k)),
      );
    result.pearFogd = {
      breakdown: pf,
      withOpenssl: s,
      withMbedtlsEstimate: { bytes: est("bytes"), gzip: est("gzip"), xz: est("xz") },
    };
  }
  return result;
}

async function main() {
  const { values } = parseArgs({
    options: {
      arch: { type: "string", multiple: true },
      mib: { type: "string", default: String(benchDefaults.mib) },
      "openssl-trim": { type: "boolean" },
      "mbedtls-default": { type: "boolean" },
    },
  });
  const names = values.arch?.length ? values.arch : benchDefaults.arches;
  const release = acquireLock();
  const results = [];
  try {
    for (const n of names) {
      const r = values["openssl-trim"]
        ? { arch: n }
        : benchArch(n, { mib: Number(values.mib), mbedtlsDefault: values["mbedtls-default"] });
      if (values["openssl-trim"]) r.opensslTrim = opensslTrimGain(n);
      results.push(r);
    }
  } finally {
    release();
  }
  const file = join(ROOT, "dist", "dtls-bench.json");
  mkdirSync(dirname(file), { recursive: true });
  const prev = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  for (const r of results) prev[r.arch] = { ...prev[r.arch], ...r };
  writeFileSync(file, JSON.stringify(prev, null, 2) + "\n");
  process.stdout.write(JSON.stringify(results, null, 2) + "\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e.message ?? e);
    process.exit(1);
  });
}

#!/usr/bin/env node
// Static musl pear-fogd for OpenWrt targets, from Debian packages and Debian sources only.
//
//   npm run build:router -- --arch mipsel_24kc [--arch x86_64 ...] | --arch all
//       [--no-verify] [--no-agent] [--tls mbedtls|openssl] [--openssl full|min] [--refresh]
//       [--json]
//
// --tls: the TLS library linked in (default mbedtls: ~1 MB less than OpenSSL on mipsel,
// issue 5; configured by scripts/router/mbedtls_config.h); --openssl picks the OpenSSL
// option set when --tls openssl.
//
// Output: dist/<arch>/pear-fogd (stripped) and dist/<arch>/build-info.json (versions, sizes,
// checks). Everything downloaded or built is cached under $PEAR_FOG_CACHE/router/ (default
// ~/.cache/pear-fog), keyed by versions and flags: a rerun rebuilds nothing. See
// docs/router-builds.md and scripts/router/.
import { writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { ARCH_NAMES, archOf } from "./router/arches.mjs";
import { ensureMbedtls, ensureOpenssl, ensureUsrsctp } from "./router/deps.mjs";
import { acquireLock, log, ROOT, RouterBuildError } from "./router/lib.mjs";
import { buildPearFogd } from "./router/pearfogd.mjs";
import { ensureHostPackages, ensureToolchain } from "./router/toolchain.mjs";
import { verifyBinary } from "./router/verify.mjs";

/** Builds one arch; returns its build-info object. */
export async function buildArch(name, opts = {}) {
  const arch = archOf(name);
  const t0 = Date.now();
  const tc = ensureToolchain(arch, opts);
  const tls = opts.tls ?? "mbedtls";
  if (tls !== "mbedtls" && tls !== "openssl") {
    throw new RouterBuildError("options", `--tls must be mbedtls or openssl, not ${tls}`);
  }
  const tlsDeps =
    tls === "mbedtls"
      ? { mbedtls: ensureMbedtls(arch, tc, { refresh: opts.refresh }) }
      : {
          openssl: ensureOpenssl(arch, tc, {
            variant: opts.openssl ?? "min",
            refresh: opts.refresh,
          }),
        };
  const usrsctp = ensureUsrsctp(arch, tc, { refresh: opts.refresh });
  const out = buildPearFogd(arch, tc, { ...tlsDeps, usrsctp }, { agent: opts.agent !== false });
  const info = {
    arch: arch.name,
    binary: relative(ROOT, out.binary),
    version: out.version,
    quickjs: out.js,
    agentBytecode: out.agentBc,
    tls,
    ...(tls === "openssl" ? { openssl: opts.openssl ?? "min" } : {}),
    toolchain: tc.versions,
    buildSeconds: (Date.now() - t0) / 1000,
  };
  if (opts.verify !== false) {
    const v = await verifyBinary(arch, out.binary);
    Object.assign(info, {
      file: v.file,
      fpuInstructions: v.fpuInstructions,
      versionOutput: v.version,
      smoke: v.smoke.detail,
      sizes: v.sizes,
    });
  }
  writeFileSync(join(ROOT, "dist", arch.name, "build-info.json"), JSON.stringify(info, null, 2));
  return info;
}

async function main() {
  const { values } = parseArgs({
    options: {
      arch: { type: "string", multiple: true },
      verify: { type: "boolean", default: true },
      "no-verify": { type: "boolean" },
      "no-agent": { type: "boolean" },
      openssl: { type: "string", default: "min" },
      tls: { type: "string", default: "mbedtls" },
      refresh: { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || !values.arch?.length) {
    process.stdout.write(
      `usage: npm run build:router -- --arch <${ARCH_NAMES.join("|")}|all> [--arch ...]\n` +
        "       [--no-verify] [--no-agent] [--tls mbedtls|openssl] [--openssl min|full]\n" +
        "       [--refresh] [--json]\n",
    );
    process.exit(values.help ? 0 : 2);
  }
  const names = values.arch.includes("all") ? ARCH_NAMES : values.arch;
  const arches = names.map(archOf);
  const release = acquireLock();
  const results = [];
  try {
    ensureHostPackages(arches);
    for (const a of arches) {
      const info = await buildArch(a.name, {
        verify: !values["no-verify"],
        agent: !values["no-agent"],
        openssl: values.openssl,
        tls: values.tls,
        refresh: values.refresh,
      });
      results.push(info);
      const s = info.sizes;
      log(
        `${a.name}: ${info.binary}` +
          (s ? ` ${s.bytes} B, gzip ${s.gzip} B, xz ${s.xz} B` : "") +
          (info.fpuInstructions === 0 ? ", 0 FPU instructions" : "") +
          (info.smoke ? `; ${info.smoke}` : "") +
          ` (${info.buildSeconds.toFixed(1)} s)`,
      );
    }
  } finally {
    release();
  }
  if (values.json) process.stdout.write(JSON.stringify(results, null, 2) + "\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e instanceof RouterBuildError ? e.message : e);
    process.exit(1);
  });
}

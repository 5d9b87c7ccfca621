// Static third-party libraries per arch, from Debian's source packages (orig tarballs):
//   OpenSSL 3 (bookworm)   <cache>/router/<arch>/openssl-<variant>/{include,lib}
//   usrsctp   (bookworm)   <cache>/router/<arch>/usrsctp/{include,lib}
//   mbedTLS 3 (trixie)     <cache>/router/<arch>/mbedtls/{include,lib}  (TLS=mbedtls builds,
//                          configured by scripts/router/mbedtls_config.h), and
//                          <cache>/router/host/mbedtls with the host cc for the C unit tests
//                          against mbedTLS (`make test TLS=mbedtls`)
// Each prefix has a .stamp keyed by the source version, the toolchain and the options, so a
// rerun with the same inputs does nothing.
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { origTarball, resolveVersion, sourceDir } from "./apt.mjs";
import { defaults, freshDir, keyOf, log, routerCache, run, stamp, stamped } from "./lib.mjs";
import { tool } from "./toolchain.mjs";

/** Always: static libs only, nothing loaded at run time. */
const OPENSSL_BASE = ["no-shared", "no-tests", "no-engine", "no-dso", "no-module"];

/**
 * What pear-fogd does not use (it needs DTLS 1.2, TLS 1.2/1.3 client, ECDSA P-256, ECDHE,
 * AES-GCM, ChaCha20-Poly1305, SHA-1/SHA-256, HMAC, X509 self-signed certs, PEM out):
 * old protocols, legacy and national ciphers, CMS/OCSP/CT/CMP/TS, SRP/PSK/SRTP, error strings.
 */
const OPENSSL_TRIM = [
  "no-ssl3",
  "no-tls1",
  "no-tls1_1",
  "no-dtls1",
  "no-comp",
  "no-srp",
  "no-psk",
  "no-srtp",
  "no-sctp",
  "no-gost",
  "no-idea",
  "no-seed",
  "no-camellia",
  "no-aria",
  "no-sm2",
  "no-sm3",
  "no-sm4",
  "no-whirlpool",
  "no-rmd160",
  "no-md4",
  "no-mdc2",
  "no-bf",
  "no-cast",
  "no-des",
  "no-rc2",
  "no-rc4",
  "no-rc5",
  "no-dsa",
  "no-cms",
  "no-ts",
  "no-ocsp",
  "no-ct",
  "no-cmp",
  "no-ui-console",
  "no-siphash",
  "no-blake2",
  "no-scrypt",
  "no-ec2m",
  "no-legacy",
  "no-async",
  "no-nextprotoneg",
  "no-rfc3779",
  "no-ssl-trace",
  "no-filenames",
  "no-autoload-config",
  "no-err",
  "no-deprecated",
  // pear-fogd's DTLS and TLS use ECDHE only; one thread;
  // no CMAC/OCB/SIV modes: fewer objects to compile on every cold build.
  "no-dh",
  "no-cmac",
  "no-ocb",
  "no-siv",
  "no-threads",
];

/** OpenSSL option sets: "min" is what router builds use; "full" is kept to measure the gain. */
export const OPENSSL_VARIANTS = {
  min: [...OPENSSL_BASE, ...OPENSSL_TRIM],
  full: OPENSSL_BASE,
};

const SIZE_CFLAGS = ["-Os", "-ffunction-sections", "-fdata-sections"];

function unpack(step, tarball, into) {
  freshDir(into);
  run(step, "tar", ["xf", tarball, "-C", into, "--strip-components=1"], { nice: true });
}

/** Static OpenSSL for the arch; returns the install prefix. */
export function ensureOpenssl(arch, tc, { variant = "min", refresh } = {}) {
  const version = resolveVersion("bookworm", "openssl", { source: true, refresh });
  const prefix = join(routerCache(arch.name), `openssl-${variant}`);
  const options = OPENSSL_VARIANTS[variant];
  const key = keyOf({ v: 2, version, options, tc: tc.versions, cflags: arch.cflags });
  if (stamped(prefix, key)) return prefix;
  const logFile = join(routerCache(arch.name), "logs", `openssl-${variant}.log`);
  const work = join(routerCache(arch.name), `build-openssl-${variant}`);
  unpack("openssl unpack", origTarball(sourceDir("bookworm", "openssl", version)), work);
  log(`${arch.name}: OpenSSL ${version} (${variant}, ${options.length} options)`);
  const staging = freshDir(`${prefix}.new`);
  run(
    "openssl Configure",
    "perl",
    [
      "./Configure",
      arch.opensslTarget,
      ...options,
      `--prefix=${prefix}`,
      "--libdir=lib",
      "--openssldir=/etc/ssl",
      ...arch.cflags,
      ...SIZE_CFLAGS,
    ],
    {
      cwd: work,
      logFile,
      env: { CC: tc.cc, AR: tool(arch, "ar"), RANLIB: tool(arch, "ranlib") },
    },
  );
  // Only the two static libraries (not build_libs/install_dev, which also build apps/libapps.a
  // and the pkg-config files): generated headers first, then libcrypto.a and libssl.a.
  for (const target of [["build_generated"], ["libcrypto.a", "libssl.a"]]) {
    run("openssl make", "make", [`-j${defaults.jobs}`, ...target], {
      cwd: work,
      logFile,
      nice: true,
    });
  }
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, "include"), { recursive: true });
  mkdirSync(join(staging, "lib"), { recursive: true });
  // include/openssl holds the source headers and the generated ones side by side.
  cpSync(join(work, "include", "openssl"), join(staging, "include", "openssl"), {
    recursive: true,
    filter: (src) => !src.endsWith(".in"),
  });
  for (const lib of ["libcrypto.a", "libssl.a"]) {
    copyFileSync(join(work, lib), join(staging, "lib", lib));
  }
  rmSync(prefix, { recursive: true, force: true });
  renameSync(staging, prefix);
  rmSync(work, { recursive: true, force: true });
  stamp(prefix, key);
  return prefix;
}

function cmakeToolchainArgs(arch, tc) {
  return [
    "-DCMAKE_SYSTEM_NAME=Linux",
    `-DCMAKE_SYSTEM_PROCESSOR=${arch.cmakeProcessor}`,
    `-DCMAKE_C_COMPILER=${tc.cc}`,
    `-DCMAKE_AR=${execPath(tool(arch, "ar"))}`,
    `-DCMAKE_RANLIB=${execPath(tool(arch, "ranlib"))}`,
    "-DCMAKE_BUILD_TYPE=MinSizeRel",
    `-DCMAKE_C_FLAGS=${SIZE_CFLAGS.join(" ")}`,
    "-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY",
    "-DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER",
  ];
}

function execPath(name) {
  return run("which", "sh", ["-c", 'command -v "$1"', "sh", name], { capture: true }).trim();
}

function cmakeBuild(arch, tc, { name, suite, source, want, options, refresh, files = {} }) {
  const version = resolveVersion(suite, source, { source: true, want, refresh });
  const prefix = join(routerCache(arch.name), name);
  const contents = Object.fromEntries(
    Object.entries(files).map(([dest, src]) => [dest, readFileSync(src, "utf8")]),
  );
  const key = keyOf({
    v: 1,
    version,
    options,
    tc: tc.versions,
    cflags: arch.cflags,
    // (absent when no file is replaced: the keys of earlier builds stay valid)
    ...(Object.keys(contents).length ? { contents } : {}),
  });
  if (stamped(prefix, key)) return prefix;
  const logFile = join(routerCache(arch.name), "logs", `${name}.log`);
  const work = join(routerCache(arch.name), `build-${name}`);
  unpack(`${name} unpack`, origTarball(sourceDir(suite, source, version)), work);
  // Files of ours replacing the source's (mbedTLS' configuration header).
  for (const [dest, src] of Object.entries(files)) copyFileSync(src, join(work, dest));
  log(`${arch.name}: ${name} ${version}`);
  rmSync(prefix, { recursive: true, force: true });
  run(
    `${name} cmake`,
    "cmake",
    [
      "-S",
      ".",
      "-B",
      "_b",
      ...(arch.host ? hostCmakeArgs() : cmakeToolchainArgs(arch, tc)),
      `-DCMAKE_INSTALL_PREFIX=${prefix}`,
    ].concat(options),
    { cwd: work, logFile },
  );
  run(`${name} build`, "cmake", ["--build", "_b", `-j${defaults.jobs}`], {
    cwd: work,
    logFile,
    nice: true,
  });
  run(`${name} install`, "cmake", ["--install", "_b"], { cwd: work, logFile });
  rmSync(work, { recursive: true, force: true });
  stamp(prefix, key);
  return prefix;
}

/**
 * Static usrsctp (no programs, no shared lib, no -Werror, AF_CONN only as in libwebrtc);
 * pear-fogd drives its timers.
 */
export function ensureUsrsctp(arch, tc, opts = {}) {
  return cmakeBuild(arch, tc, {
    name: "usrsctp",
    suite: "bookworm",
    source: "libusrsctp",
    options: [
      "-Dsctp_build_programs=OFF",
      "-Dsctp_build_shared_lib=OFF",
      "-Dsctp_build_fuzzer=OFF",
      "-Dsctp_werror=OFF",
      "-Dsctp_debug=OFF",
      "-Dsctp_invariants=OFF",
      // pear-fogd runs SCTP over DTLS only (AF_CONN, RFC 8261): no raw IPv4/IPv6 SCTP.
      "-Dsctp_inet=OFF",
      "-Dsctp_inet6=OFF",
    ],
    ...opts,
  });
}

/** The trimmed mbedTLS configuration (what pear-fogd uses; see the file). */
export const MBEDTLS_CONFIG = join(dirname(fileURLToPath(import.meta.url)), "mbedtls_config.h");

function hostCmakeArgs() {
  return ["-DCMAKE_C_COMPILER=cc", "-DCMAKE_BUILD_TYPE=RelWithDebInfo"];
}

/** The build host as an "arch" for cmakeBuild: host cc, installed in <cache>/router/host. */
export const HOST = { name: "host", host: true, cflags: [] };

/**
 * Static mbedTLS 3.x (trixie's source; bookworm only has 2.28) with pear-fogd's trimmed
 * configuration. `config: false` keeps mbedTLS' default one (the dtls-bench comparison).
 * arch HOST (tc null) builds it with the host cc for the unit tests.
 */
export function ensureMbedtls(arch, tc, { config = true, ...opts } = {}) {
  return cmakeBuild(arch, tc ?? { versions: { host: "cc" } }, {
    name: config ? "mbedtls" : "mbedtls-default",
    files: config ? { "include/mbedtls/mbedtls_config.h": MBEDTLS_CONFIG } : {},
    suite: "trixie",
    source: "mbedtls",
    want: "3.",
    options: [
      "-DENABLE_PROGRAMS=OFF",
      "-DENABLE_TESTING=OFF",
      "-DUSE_SHARED_MBEDTLS_LIBRARY=OFF",
      "-DUSE_STATIC_MBEDTLS_LIBRARY=ON",
      "-DMBEDTLS_FATAL_WARNINGS=OFF",
      "-DGEN_FILES=OFF",
    ],
    ...opts,
  });
}

/** libdir of a cmake install (lib or lib64 or lib/<multiarch>). */
export function libDir(prefix) {
  for (const d of ["lib", "lib64"]) if (existsSync(join(prefix, d))) return join(prefix, d);
  return join(prefix, "lib");
}

// pear-fogd for one arch through libs/webrtc-native/Makefile with command-line overrides:
//   make BUILD=build/<arch> CC=<musl wrapper> AR=<triple>-ar DEPS_CFLAGS=... DEPS_LIBS=...
//        CFLAGS=-DPEARFOG_VERSION=... LDFLAGS="-static -no-pie" build/<arch>/release/pear-fogd
// then stripped to dist/<arch>/pear-fogd. QuickJS-ng (when the Makefile has it): qjsc must run
// on the build host, so it is built first with the host cc into the same BUILD dir, and the
// agent bytecode is embedded (EMBED_AGENT=1).
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { libDir } from "./deps.mjs";
import { defaults, keyOf, log, ROOT, routerCache, run } from "./lib.mjs";
import { tool } from "./toolchain.mjs";

export const NATIVE = join(ROOT, "libs", "webrtc-native");

/** package.json version: the daemon, the ipk and the npm package agree on it. */
export function projectVersion() {
  return JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
}

/** What the Makefile supports right now (QuickJS-ng support is being added). */
function makefileFeatures() {
  const mk = readFileSync(join(NATIVE, "Makefile"), "utf8");
  const entry = /^AGENT_ENTRY\s*:?=\s*(\S+)/m.exec(mk)?.[1];
  return {
    qjsc: /\$\(BUILD\)\/host\/qjsc/.test(mk),
    // The agent's entry module must exist too (it is being written as this lands).
    embedAgent: /EMBED_AGENT/.test(mk) && !!entry && existsSync(join(NATIVE, entry)),
  };
}

/**
 * Builds and strips pear-fogd for the arch. `deps` = { usrsctp } and one of { mbedtls } (the
 * Makefile's TLS=mbedtls, the default for routers) or { openssl } (TLS=openssl) prefixes.
 * Returns { binary, unstripped, js } (js: QuickJS-ng + agent bytecode linked in).
 */
export function buildPearFogd(arch, tc, deps, { agent = true } = {}) {
  const build = `build/${arch.name}`;
  const buildDir = join(NATIVE, build);
  const logFile = join(routerCache(arch.name), "logs", "pear-fogd.log");
  const feats = makefileFeatures();
  // Objects depend on src/*.h only: a new toolchain or library version means a clean build.
  const stamps = Object.fromEntries(
    Object.entries(deps).map(([k, dir]) => [k, readFileSync(join(dir, ".stamp"), "utf8").trim()]),
  );
  const depsKey = keyOf({ tc: tc.versions, cflags: arch.cflags, deps, stamps, feats });
  const keyFile = join(buildDir, ".router-deps-key");
  if (!existsSync(keyFile) || readFileSync(keyFile, "utf8").trim() !== depsKey) {
    rmSync(buildDir, { recursive: true, force: true });
  }
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(keyFile, depsKey + "\n");

  // The size breakdown needs the link map: relink when it is missing.
  if (!existsSync(join(buildDir, "pear-fogd.map"))) {
    rmSync(join(buildDir, "release", "pear-fogd"), { force: true });
  }
  const version = projectVersion();
  const tls = deps.mbedtls ? "mbedtls" : "openssl";
  const tlsLibs = deps.mbedtls
    ? [`-L${libDir(deps.mbedtls)}`, "-lmbedtls", "-lmbedx509", "-lmbedcrypto"]
    : [`-L${libDir(deps.openssl)}`, "-lssl", "-lcrypto"];
  const ldlibs = [...tlsLibs, `-L${libDir(deps.usrsctp)}`, "-lusrsctp", "-lm", ...arch.ldlibs];
  const common = [
    `BUILD=${build}`,
    `TLS=${tls}`,
    ...(deps.mbedtls ? [`MBEDTLS_DIR=${deps.mbedtls}`] : []),
    `DEPS_CFLAGS=-isystem ${deps[tls]}/include -isystem ${deps.usrsctp}/include`,
  ];
  const embed = agent && feats.qjsc && feats.embedAgent;
  if (embed) {
    // Host qjsc (compiles the agent to bytecode) with the host compiler, built once for all
    // arches in build/router-host; each arch's BUILD/host is a link to it, so the cross make
    // below finds it up to date.
    const hostBuild = "build/router-host";
    run(
      "host qjsc",
      "make",
      [`-j${defaults.jobs}`, `BUILD=${hostBuild}`, "CC=cc", "AR=ar", `${hostBuild}/host/qjsc`],
      { cwd: NATIVE, logFile, nice: true },
    );
    const link = join(buildDir, "host");
    let isLink = false;
    try {
      isLink = lstatSync(link).isSymbolicLink();
    } catch {
      /* absent */
    }
    if (!isLink) {
      rmSync(link, { recursive: true, force: true });
      symlinkSync(join("..", "router-host", "host"), link);
    }
  }
  log(`${arch.name}: pear-fogd ${version}${embed ? " + QuickJS-ng + agent bytecode" : ""}`);
  run(
    "pear-fogd make",
    "make",
    [
      `-j${defaults.jobs}`,
      ...common,
      `CC=${tc.cc}`,
      `AR=${tool(arch, "ar")}`,
      `DEPS_LIBS=${ldlibs.join(" ")}`,
      `CFLAGS=-DPEARFOG_VERSION='"${version}"'`,
      `LDFLAGS=-static -no-pie -Wl,-Map=${join(buildDir, "pear-fogd.map")}`,
      ...(embed ? ["EMBED_AGENT=1"] : []),
      `${build}/release/pear-fogd`,
    ],
    { cwd: NATIVE, logFile, nice: true },
  );
  const unstripped = join(buildDir, "release", "pear-fogd");
  const dist = join(ROOT, "dist", arch.name);
  mkdirSync(dist, { recursive: true });
  const binary = join(dist, "pear-fogd");
  copyFileSync(unstripped, binary);
  run("strip", tool(arch, "strip"), ["--strip-all", "-R", ".comment", "-R", ".note", binary], {
    logFile,
  });
  const nm = run("nm", tool(arch, "nm"), [unstripped], { capture: true });
  const js = /\bJS_NewRuntime\b/.test(nm);
  // The Makefile leaves a weak (V) empty pearfog_agent_bc when the bytecode is not embedded.
  const agentBc = /^\S+ [RrDd] pearfog_agent_bc$/m.test(nm);
  return { binary, unstripped, map: join(buildDir, "pear-fogd.map"), js, agentBc, version, tls };
}

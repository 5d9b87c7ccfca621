// `npm run bench -- footprint [--json]`: what embedding QuickJS-ng and the agent costs pear-fogd
// (issue 4). Two release (-Os) builds in their own build dirs: pear-fogd with the JS host and the
// agent bundle embedded as bytecode (EMBED_AGENT=1), and pear-fogd without QuickJS-ng (QJS_SRC=,
// the anchor "no_js"). Each is started `runs` times on loopback; the JS build with a UCI file that
// points the agent at a real coordinator (src/coordinator in this process, SQLite in a temp dir,
// a fresh one per run): the agent creates its key, reads pear-fogd, applies sharing, connects over
// ws_client, signs in and heartbeats — its idle state on a router with uplink.
//
// Metrics (medians of `runs`):
//   rss_idle_mib            VmRSS after `settleMs` idle, registered (anchor: no_js)
//   rss_idle_private_mib    RssAnon (heap, stacks, data) after `settleMs` (anchor: no_js)
//   js_heap_kib             pearfog_js_heap_bytes from /metrics (the QuickJS-ng runtime's malloc)
//   start_to_ready_ms       spawn → the coordinator registers the node (its key proof checked);
//                           anchor: spawn → the no_js data plane's "ready" line
//   agent_started_ms        spawn → the agent's "node did:…" line (key, pear-fogd read, sharing
//                           applied; before the coordinator link)
//   agent_after_data_plane_ms  registered − the same run's data-plane "ready" line (what the JS
//                           host and the coordinator handshake add to start-up)
//   binary_bytes            stripped pear-fogd (anchor: no_js, stripped)
//   binary_bytes_no_parser  the same with QJS_PARSER=0 (QuickJS-ng without its JS parser: the
//                           agent is bytecode anyway; anchor: no_js)
//   rss_idle_mib_router, rss_idle_private_mib_router, start_to_ready_ms_router
//                           the same for the static musl build OpenWrt gets (x86_64 hosts with
//                           `npm run build:router`'s x86_64 toolchain and deps in the router cache:
//                           OpenSSL trimmed, no shared libraries; anchor: its no_js build);
//                           skipped with a note when the toolchain is not there
//   agent_bundle_bytes      esbuild output for QuickJS (build/footprint/js/agent/agent.mjs)
//   agent_bytecode_bytes    qjsc bytecode embedded in the binary
// Not measured here: rss_per_connection_kib (the agent keeps no per-peer state; the data
// plane's figure is bench gateway's rss_kib_per_connection).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { startCoordinator } from "../src/coordinator/main";
import { freePort, NATIVE_DIR } from "../test/support/pear-fogd";
import { report } from "./report";

/** Every knob of this bench. */
export const FOOTPRINT_BENCH_DEFAULTS = {
  /** Starts per binary; figures are medians (count). */
  runs: 5,
  /** Idle time before reading RSS, milliseconds. */
  settleMs: 3_000,
  /** Upper bound on start-up, milliseconds. */
  startTimeoutMs: 15_000,
} as const;

const C = FOOTPRINT_BENCH_DEFAULTS;

function build(dir: string, vars: string[]): string {
  const target = `${dir}/release/pear-fogd`;
  execFileSync("make", ["-C", NATIVE_DIR, "-j2", `BUILD=${dir}`, ...vars, target], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  return join(NATIVE_DIR, target);
}

/** The x86_64 static musl build (as OpenWrt gets it), when build:router's toolchain is cached. */
function buildRouter(dir: string, vars: string[]): string | null {
  if (process.arch !== "x64") return null;
  // scripts/router/lib.mjs's routerCache("x86_64"), read only
  const r = join(
    process.env.PEAR_FOG_CACHE || join(homedir(), ".cache", "pear-fog"),
    "router/x86_64",
  );
  const cc = join(r, "bin/cc");
  const ssl = join(r, "openssl-min");
  const sctp = join(r, "usrsctp");
  if (![cc, `${ssl}/lib/libcrypto.a`, `${sctp}/lib/libusrsctp.a`].every((f) => existsSync(f)))
    return null;
  return build(dir, [
    `CC=${cc}`,
    "AR=ar",
    `DEPS_CFLAGS=-isystem ${ssl}/include -isystem ${sctp}/include`,
    `DEPS_LIBS=-L${ssl}/lib -L${sctp}/lib -lssl -lcrypto -lusrsctp -lm`,
    "LDFLAGS=-static -no-pie",
    ...vars,
  ]);
}

function stripped(bin: string, tmp: string): number {
  const out = join(tmp, `stripped-${statSync(bin).ino}`);
  execFileSync("strip", ["-o", out, bin]);
  return statSync(out).size;
}

function procKib(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]);
}

interface Run {
  readyMs: number;
  agentMs: number | null;
  registeredMs: number | null;
  vmRssKib: number;
  rssAnonKib: number;
  jsHeapBytes: number | null;
}

async function runOnce(bin: string, tmp: string, withAgent: boolean): Promise<Run> {
  const dir = mkdtempSync(join(tmp, "run-"));
  const httpPort = await freePort();
  const coord = withAgent
    ? await startCoordinator({ host: "127.0.0.1", port: 0, dbPath: join(dir, "coord.sqlite") })
    : undefined;
  let registeredMs: number | null = null;
  let t0 = 0;
  if (coord) {
    // the moment the coordinator accepts the node's key proof and lists it
    const reg = coord.server.registry;
    const register = reg.register.bind(reg);
    reg.register = (...a: Parameters<typeof register>) => {
      registeredMs ??= performance.now() - t0;
      return register(...a);
    };
  }
  const conf = join(dir, "pear-fog");
  writeFileSync(
    conf,
    `config pear-fog 'main'
	option store_path '${dir}/store'
	option ctl_socket '${dir}/ctl.sock'
	option bind '127.0.0.1'
	option rtc_port '0'
	option http_port '${httpPort}'
	option sharing '1'
	option coordinator '${coord ? coord.url.replace(/^http/, "ws") : "ws://127.0.0.1:9"}/ws/node'
	option key_path '${dir}/node.key'
	option agent_staging '${dir}/staging'
`,
  );
  t0 = performance.now();
  const proc = spawn(bin, ["--config", conf], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  let readyMs = -1;
  let agentMs: number | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready:\n${stderr}`)), C.startTimeoutMs);
      const check = () => {
        if (readyMs >= 0 && (!withAgent || registeredMs !== null)) {
          clearTimeout(timer);
          clearInterval(poll);
          resolve();
        }
      };
      const poll = setInterval(check, 5);
      proc.stderr!.setEncoding("utf8");
      proc.stderr!.on("data", (d: string) => {
        stderr += d;
        if (readyMs < 0 && /info: ready /.test(stderr)) readyMs = performance.now() - t0;
        if (agentMs === null && /agent: node did:key:/.test(stderr))
          agentMs = performance.now() - t0;
        check();
      });
      proc.once("exit", (code) => reject(new Error(`pear-fogd exited ${code}:\n${stderr}`)));
    });
    await new Promise((r) => setTimeout(r, C.settleMs));
    if (coord && !coord.server.registry.list().length)
      throw new Error(`the node left the coordinator:\n${stderr}`);
    const run: Run = {
      readyMs,
      agentMs,
      registeredMs,
      vmRssKib: procKib(proc.pid!, "VmRSS"),
      rssAnonKib: procKib(proc.pid!, "RssAnon"),
      jsHeapBytes: null,
    };
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const heap = /^pearfog_js_heap_bytes (\d+)$/m.exec(metrics);
    if (heap) run.jsHeapBytes = Number(heap[1]);
    return run;
  } finally {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    }
    await coord?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), "bench-footprint-"));
  try {
    const withJs = build("build/footprint/js", ["EMBED_AGENT=1"]);
    const noJs = build("build/footprint/nojs", ["QJS_SRC="]);
    const noParser = build("build/footprint/noparser", ["EMBED_AGENT=1", "QJS_PARSER=0"]);
    const routerJs = buildRouter("build/footprint/router-js", ["EMBED_AGENT=1"]);
    const routerNoJs = routerJs && buildRouter("build/footprint/router-nojs", ["QJS_SRC="]);
    const js: Run[] = [];
    const base: Run[] = [];
    const rjs: Run[] = [];
    const rbase: Run[] = [];
    for (let i = 0; i < C.runs; i++) {
      base.push(await runOnce(noJs, tmp, false));
      js.push(await runOnce(withJs, tmp, true));
      if (routerJs && routerNoJs) {
        rbase.push(await runOnce(routerNoJs, tmp, false));
        rjs.push(await runOnce(routerJs, tmp, true));
      }
    }
    const med = (rs: Run[], f: (r: Run) => number) => median(rs.map(f));
    // The same three figures for a build pair (with JS vs without), suffixed per build.
    const reportPair = (with_: Run[], without: Run[], suffix: string) => {
      const anchor = `no_js${suffix}`;
      report({
        metric: `rss_idle_mib${suffix}`,
        value: med(with_, (r) => r.vmRssKib) / 1024,
        unit: "MiB",
        anchor,
        anchor_value: med(without, (r) => r.vmRssKib) / 1024,
      });
      report({
        metric: `rss_idle_private_mib${suffix}`,
        value: med(with_, (r) => r.rssAnonKib) / 1024,
        unit: "MiB",
        anchor,
        anchor_value: med(without, (r) => r.rssAnonKib) / 1024,
      });
      if (!suffix) {
        report({
          metric: "js_heap_kib",
          value: med(with_, (r) => r.jsHeapBytes ?? 0) / 1024,
          unit: "KiB",
        });
      }
      report({
        metric: `start_to_ready_ms${suffix}`,
        value: med(with_, (r) => r.registeredMs ?? Number.NaN),
        unit: "ms",
        anchor: `${anchor}_data_plane_ready`,
        anchor_value: med(without, (r) => r.readyMs),
      });
    };
    reportPair(js, base, "");
    if (rjs.length) {
      reportPair(rjs, rbase, "_router");
    } else {
      console.error(
        "footprint: no x86_64 router toolchain cached (npm run build:router): *_router skipped",
      );
    }
    report({
      metric: "agent_started_ms",
      value: med(js, (r) => r.agentMs ?? Number.NaN),
      unit: "ms",
    });
    report({
      metric: "agent_after_data_plane_ms",
      value: med(js, (r) => (r.registeredMs ?? Number.NaN) - r.readyMs),
      unit: "ms",
    });
    report({
      metric: "binary_bytes",
      value: stripped(withJs, tmp),
      unit: "B",
      anchor: "no_js",
      anchor_value: stripped(noJs, tmp),
    });
    report({
      metric: "binary_bytes_no_parser",
      value: stripped(noParser, tmp),
      unit: "B",
      anchor: "no_js",
      anchor_value: stripped(noJs, tmp),
    });
    const agentDir = join(NATIVE_DIR, "build/footprint/js/agent");
    report({
      metric: "agent_bundle_bytes",
      value: statSync(join(agentDir, "agent.mjs")).size,
      unit: "B",
    });
    const bc = /pearfog_agent_bc_size = (\d+)/.exec(
      readFileSync(join(agentDir, "agent_bc.c"), "utf8"),
    );
    report({ metric: "agent_bytecode_bytes", value: Number(bc?.[1] ?? NaN), unit: "B" });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();

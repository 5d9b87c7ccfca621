// `npm test`: set up what is missing, then run every tier and end with one line
// "N passed, N failed[, N skipped]". A tier that cannot run counts as failed, never skipped.
//
//   npm test                 all tiers
//   npm test -- --tier unit  only the named tier(s) (repeatable); see TIERS below
//
// Environment: PEAR_FOG_CACHE (download cache), PEAR_FOG_FUZZ_SECONDS (per harness, default 5).
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { bootstrap, ROOT } from "./bootstrap.mjs";

const RESULTS = join(ROOT, ".test-results");
const NATIVE = join(ROOT, "libs", "webrtc-native");

/** Run a command, echoing its output, and return { code, out }. */
function run(cmd, args, opts = {}) {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: process.env, ...opts });
    let out = "";
    const take = (stream) => (buf) => {
      out += buf;
      stream.write(buf);
    };
    child.stdout.on("data", take(process.stdout));
    child.stderr.on("data", take(process.stderr));
    child.on("error", (err) => {
      out += `\n${err.message}\n`;
      resolvePromise({ code: 127, out });
    });
    child.on("close", (code) => resolvePromise({ code: code ?? 1, out }));
  });
}

/** A single pass/fail check named after what it ran. */
async function check(name, cmd, args, opts) {
  const { code } = await run(cmd, args, opts);
  console.log(`${code === 0 ? "ok" : "FAIL"} ${name}`);
  return { passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0 };
}

async function vitestTier(project) {
  const file = join(RESULTS, `vitest-${project}.json`);
  rmSync(file, { force: true });
  const { code } = await run("npx", [
    "vitest",
    "run",
    "--project",
    project,
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${file}`,
  ]);
  let r;
  try {
    r = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return { passed: 0, failed: 1, skipped: 0 }; // vitest could not even report
  }
  const counts = {
    passed: r.numPassedTests,
    failed: r.numFailedTests,
    skipped: r.numPendingTests + r.numTodoTests,
  };
  // A suite that failed to load (syntax error, failing hook) has no failed test: count it.
  if (code !== 0 && counts.failed === 0) counts.failed = Math.max(1, r.numFailedTestSuites);
  if (r.numTotalTests === 0) counts.failed += 1; // a tier with no tests is a broken tier
  return counts;
}

/** Sum every "N passed, N failed" line a tier's binaries printed. */
function summedLines(out, code) {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const m of out.matchAll(/^(\d+) passed, (\d+) failed$/gm)) {
    counts.passed += Number(m[1]);
    counts.failed += Number(m[2]);
  }
  if (code !== 0 && counts.failed === 0) counts.failed = 1; // build error, crash, sanitizer
  if (counts.passed + counts.failed === 0) counts.failed = 1;
  return counts;
}

async function cTier() {
  // The release daemon (-Os) links too: a missing library shows up here, not on a router.
  // `agent` (the host qjsc + the agent bytecode) is built here once, not inside a test's timeout.
  const release = await check("pear-fogd release build", "make", [
    "-C",
    NATIVE,
    "-j2",
    "all",
    "agent",
  ]);
  const { code, out } = await run("make", ["-C", NATIVE, "-j2", "test"]);
  const unit = summedLines(out, code);
  return {
    passed: unit.passed + release.passed,
    failed: unit.failed + release.failed,
    skipped: 0,
  };
}

async function fuzzTier() {
  const seconds = process.env.PEAR_FOG_FUZZ_SECONDS || "5";
  const { code, out } = await run("make", [
    "-C",
    NATIVE,
    "-j2",
    "fuzz-run",
    `FUZZ_SECONDS=${seconds}`,
  ]);
  const counts = {
    passed: (out.match(/^ok fuzz_/gm) || []).length,
    failed: (out.match(/^FAIL fuzz_/gm) || []).length,
    skipped: 0,
  };
  if (code !== 0 && counts.failed === 0) counts.failed = 1;
  if (counts.passed + counts.failed === 0) counts.failed = 1;
  return counts;
}

async function staticTier() {
  const parts = [
    await check("typecheck", "npx", ["tsc", "--noEmit", "-p", "tsconfig.json"]),
    await check("lint", "npx", ["eslint", "."]),
    await check("format", "npx", ["prettier", "--check", "."]),
    await check("build", "node", ["scripts/build.mjs"]),
  ];
  return parts.reduce(
    (a, b) => ({
      passed: a.passed + b.passed,
      failed: a.failed + b.failed,
      skipped: a.skipped + b.skipped,
    }),
    { passed: 0, failed: 0, skipped: 0 },
  );
}

/** Tiers in run order. The build tier runs first: later tiers use its bundles. */
const TIERS = {
  static: staticTier, // typecheck, lint, prettier, esbuild bundles
  unit: () => vitestTier("unit"), // src/**/*.test.ts
  c: cTier, // libs/webrtc-native/test under ASan + UBSan
  fuzz: fuzzTier, // each libFuzzer harness for a few seconds
  integration: () => vitestTier("integration"), // test/**/*.test.ts: real processes, peers
};

async function main() {
  const wanted = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--tier" && argv[i + 1]) wanted.push(argv[++i]);
    else if (argv[i].startsWith("--tier=")) wanted.push(argv[i].slice(7));
    else {
      console.error(
        `test: unknown argument ${argv[i]} (use --tier ${Object.keys(TIERS).join("|")})`,
      );
      process.exit(2);
    }
  }
  for (const t of wanted) {
    if (!(t in TIERS)) {
      console.error(`test: unknown tier "${t}" (tiers: ${Object.keys(TIERS).join(", ")})`);
      process.exit(2);
    }
  }
  const total = { passed: 0, failed: 0, skipped: 0 };
  try {
    bootstrap();
  } catch (err) {
    console.error(`setup failed: ${err.message}`);
    total.failed += 1;
    console.log(`${total.passed} passed, ${total.failed} failed`);
    process.exit(1);
  }
  mkdirSync(RESULTS, { recursive: true });
  const rows = [];
  for (const [name, tier] of Object.entries(TIERS)) {
    if (wanted.length && !wanted.includes(name)) continue;
    console.log(`\n=== tier: ${name}`);
    const t0 = Date.now();
    const r = await tier();
    rows.push(
      `${name}: ${r.passed} passed, ${r.failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
    total.passed += r.passed;
    total.failed += r.failed;
    total.skipped += r.skipped;
  }
  console.log("\n=== summary");
  for (const row of rows) console.log(`  ${row}`);
  const skipped = total.skipped ? `, ${total.skipped} skipped` : "";
  console.log(`${total.passed} passed, ${total.failed} failed${skipped}`);
  process.exit(total.failed ? 1 : 0);
}

main();

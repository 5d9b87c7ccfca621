// `npm run fuzz [-- SECONDS [NAME...]]`: the long fuzzing run. Every libFuzzer harness under
// libs/webrtc-native/fuzz/ (or the named ones) runs SECONDS (default 300) from its seed corpus.
// Findings land in libs/webrtc-native/build/fuzz/crash-<name>-*; `npm test` runs each for 5 s.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { bootstrap, ROOT } from "./bootstrap.mjs";

const NATIVE = join(ROOT, "libs", "webrtc-native");
const args = process.argv.slice(2);
const seconds = args[0] && /^\d+$/.test(args[0]) ? args.shift() : "300";
const known = readdirSync(join(NATIVE, "fuzz"))
  .filter((f) => /^fuzz_.*\.c$/.test(f))
  .map((f) => f.slice(5, -2));
for (const name of args) {
  if (!known.includes(name)) {
    console.error(`fuzz: no harness "${name}" (have: ${known.join(", ")})`);
    process.exit(2);
  }
}
bootstrap();
const targets = (args.length ? args : known).map((n) => `build/fuzz/fuzz_${n}`);
const r = spawnSync(
  "make",
  ["-C", NATIVE, "fuzz-run", `FUZZ_SECONDS=${seconds}`, `FUZZERS=${targets.join(" ")}`],
  { stdio: "inherit" },
);
process.exit(r.status ?? 1);

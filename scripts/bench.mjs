// `npm run bench -- NAME [--json]`: runs bench/NAME.ts. With --json each result is one JSON
// object per line: {"metric","value","unit"} and, when compared with a peer measured in the same
// run, "anchor", "anchor_value", "ratio" (value / anchor_value). See bench/report.ts.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { bootstrap, ROOT } from "./bootstrap.mjs";

// bench/*.ts are benchmarks, except the helpers they share.
const HELPERS = new Set(["report.ts", "counters.ts"]);
const available = readdirSync(join(ROOT, "bench"))
  .filter((f) => f.endsWith(".ts") && !HELPERS.has(f))
  .map((f) => f.slice(0, -3));
const [name, ...rest] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME [--json]\n  benchmarks: ${available.join(", ")}`);
  process.exit(2);
}
bootstrap();
const r = spawnSync("npx", ["tsx", join("bench", `${name}.ts`), ...rest], {
  cwd: ROOT,
  stdio: "inherit",
});
process.exit(r.status ?? 1);

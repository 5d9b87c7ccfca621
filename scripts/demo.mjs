// `npm run demo`: the fog CDN end to end on this machine (scripts/demo/fog-cdn.ts): coordinator,
// three pear-fogd nodes, an ffmpeg HLS stream, headless Chromium playing it through hls.js and
// the pear-fog SDK. `npm run demo -- manifest` runs the smaller manifest demo instead.
// Environment: PEAR_FOG_DEMO_SECONDS (video length, default 120), PEAR_FOG_DEMO_RATE (default 4).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { bootstrap, ROOT } from "./bootstrap.mjs";

const which = process.argv[2] ?? "fog";
if (which === "manifest") {
  await import("./demo/manifest.mjs");
} else if (which !== "fog") {
  console.error(`usage: npm run demo [-- manifest]`);
  process.exit(2);
} else {
  bootstrap();
  const build = spawnSync(process.execPath, [join(ROOT, "scripts", "build.mjs"), "cli", "sdk"], {
    stdio: "inherit",
  });
  if (build.status !== 0) process.exit(1);
  const r = spawnSync("npx", ["tsx", join("scripts", "demo", "fog-cdn.ts")], {
    cwd: ROOT,
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
}

#!/usr/bin/env node
// `pear-fog-agent`: runs the esbuild bundle (dist/pear-fog-agent.mjs), building it on first use.
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bundle = join(root, "dist", "pear-fog-agent.mjs");
if (!existsSync(bundle)) {
  execFileSync(process.execPath, [join(root, "scripts", "build.mjs"), "agent"], {
    stdio: "inherit",
  });
}
await import(pathToFileURL(bundle).href);

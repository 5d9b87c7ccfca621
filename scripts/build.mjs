// esbuild bundles. One entry per shipped artefact; output under dist/.
//   node scripts/build.mjs            build all
//   node scripts/build.mjs cli        build one (by name)
import { build } from "esbuild";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./bootstrap.mjs";

/** Shipped bundles. `entry` paths that do not exist yet are reported, not silently dropped. */
export const BUNDLES = {
  // `pear-fog` command line (keygen, publish, verify, ...), Node.
  cli: {
    entry: "src/cli/main.ts",
    outfile: "dist/pear-fog.mjs",
    platform: "node",
    format: "esm",
    target: "node20",
    banner: { js: "#!/usr/bin/env node" },
  },
  // `pear-fog-agent`: the node agent on Node, next to pear-fogd (QuickJS-ng inside pear-fogd
  // is the router's way, issue 4).
  agent: {
    entry: "src/agent/main.ts",
    outfile: "dist/pear-fog-agent.mjs",
    platform: "node",
    format: "esm",
    target: "node20",
    // `ws` is CommonJS and requires node built-ins; give the ESM bundle a require().
    banner: {
      js: '#!/usr/bin/env node\nimport { createRequire as __pfRequire } from "node:module";\nconst require = __pfRequire(import.meta.url);',
    },
  },
  // Browser SDK, one file: `<script src="pear-fog-sdk.js">` defines the global `PearFog`.
  sdk: {
    entry: "src/sdk/index.ts",
    outfile: "dist/pear-fog-sdk.js",
    platform: "browser",
    format: "iife",
    globalName: "PearFog",
    target: "es2022",
    minify: true,
  },
};

export async function buildBundles(names = Object.keys(BUNDLES)) {
  for (const name of names) {
    const b = BUNDLES[name];
    if (!b) throw new Error(`unknown bundle "${name}" (known: ${Object.keys(BUNDLES).join(", ")})`);
    const { entry, ...opts } = b;
    if (!existsSync(join(ROOT, entry))) throw new Error(`bundle ${name}: missing entry ${entry}`);
    await build({
      absWorkingDir: ROOT,
      entryPoints: [entry],
      bundle: true,
      sourcemap: "linked",
      legalComments: "none",
      logLevel: "warning",
      ...opts,
    });
  }
}

const names = process.argv.slice(2);
buildBundles(names.length ? names : undefined).catch((err) => {
  console.error(`build: ${err.message}`);
  process.exit(1);
});

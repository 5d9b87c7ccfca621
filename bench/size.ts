// `npm run bench -- size [--json] [--build]`: what a router owner downloads. For each OpenWrt
// arch whose router build is in dist/<arch>/ (`npm run build:router`; with --build, missing ones
// are built first): the stripped static pear-fogd, its gzip -9, and the pear-fog ipk built from
// it (scripts/ipk, in a temp dir). The mipsel ipk is compared with its budget (issue 5:
// 1.2 MB), so `ratio` > 1 means over budget.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
// @ts-expect-error plain ESM script without types
import { buildFeed } from "../scripts/ipk/build.mjs";
import { report } from "./report";

const ROOT = resolve(fileURLToPath(import.meta.url), "..", "..");
const ARCHES = ["mipsel_24kc", "arm_cortex-a7_neon-vfpv4", "aarch64_cortex-a53", "x86_64"];
/** The mipsel_24kc ipk budget (issue 5), bytes. */
const MIPSEL_IPK_BUDGET = 1_200_000;

for (const arch of ARCHES) {
  const bin = join(ROOT, "dist", arch, "pear-fogd");
  if (!existsSync(bin) && process.argv.includes("--build")) {
    spawnSync("node", ["scripts/build-router.mjs", "--arch", arch], {
      cwd: ROOT,
      stdio: "inherit",
    });
  }
  if (!existsSync(bin)) {
    process.stderr.write(`size: ${arch}: no dist/${arch}/pear-fogd (npm run build:router)\n`);
    continue;
  }
  const bytes = readFileSync(bin);
  report({ metric: `pearfogd_bytes_${arch}`, value: bytes.length, unit: "B" });
  report({
    metric: `pearfogd_gzip_bytes_${arch}`,
    value: gzipSync(bytes, { level: 9 }).length,
    unit: "B",
  });
  const out = mkdtempSync(join(tmpdir(), "pf-size-"));
  try {
    const feed = buildFeed({ arch, bin, out, key: "" }) as { written: string[] };
    const ipk = feed.written.find((f) => f.startsWith("pear-fog_"))!;
    const size = statSync(join(out, ipk)).size;
    report({
      metric: `ipk_bytes_${arch}`,
      value: size,
      unit: "B",
      ...(arch === "mipsel_24kc" ? { anchor: "budget", anchor_value: MIPSEL_IPK_BUDGET } : {}),
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

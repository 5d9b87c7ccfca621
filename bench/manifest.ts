// `npm run bench -- manifest [--json]`: publish and verify throughput of a 64 MiB file
// (chunk + SHA-256 + atomic chunk writes + signed manifest; verify re-reads and re-hashes
// every chunk), each compared with coreutils `sha256sum` of the same file in the same run.
// Each figure is the median of RUNS runs; MB = 10^6 bytes. The file is in the page cache.
// Also: parse + verify (pure @noble path, as in browsers and QuickJS) of a manifest at the
// chunk cap, milliseconds, no anchor.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publish } from "../src/cli/publish";
import { verifyPublished } from "../src/cli/verify";
import { generateKeyPair } from "../src/protocol/ed25519";
import {
  buildManifest,
  encodeManifest,
  parseManifest,
  signManifest,
  verifyManifest,
} from "../src/protocol/manifest";
import { MANIFEST_LIMITS } from "../src/protocol/manifest-types";
import { report } from "./report";

const SIZE = 64 * 1024 * 1024;
const RUNS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(fn: () => unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const dir = mkdtempSync(join(tmpdir(), "pear-fog-bench-"));
try {
  const file = join(dir, "content.bin");
  writeFileSync(file, randomBytes(SIZE));
  const key = generateKeyPair();
  const mbs = (s: number): number => SIZE / 1e6 / s;
  const anchor: number[] = [];
  const pub: number[] = [];
  const ver: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    anchor.push(await timed(() => execFileSync("sha256sum", [file], { stdio: "ignore" })));
    const out = join(dir, `out${i}`);
    pub.push(await timed(() => publish(file, { key, outDir: out })));
    ver.push(await timed(() => verifyPublished(join(out, "manifest.json"), join(out, "chunks"))));
    rmSync(out, { recursive: true, force: true });
  }
  const sha = mbs(median(anchor));
  report({
    metric: "publish_mb_s",
    value: mbs(median(pub)),
    unit: "MB/s",
    anchor: "sha256sum",
    anchor_value: sha,
  });
  report({
    metric: "verify_mb_s",
    value: mbs(median(ver)),
    unit: "MB/s",
    anchor: "sha256sum",
    anchor_value: sha,
  });
  // A manifest at MANIFEST_LIMITS.maxChunks: 64 files of 1024 chunks, random ids.
  const n = MANIFEST_LIMITS.maxChunks;
  const perFile = 1024;
  const files = Array.from({ length: n / perFile }, (_, f) => ({
    path: `f${f}`,
    size: perFile * 1024,
    chunks: Array.from({ length: perFile }, () => ({
      id: randomBytes(32).toString("hex"),
      size: 1024,
    })),
  }));
  const big = encodeManifest(
    signManifest(
      buildManifest({
        type: "dir",
        name: "cap",
        version: 1,
        created: 0,
        chunkSize: 1024,
        origins: [],
        files,
        publisher: key.did,
      }),
      key,
    ),
  );
  const pv: number[] = [];
  for (let i = 0; i < RUNS; i++) pv.push(await timed(() => verifyManifest(parseManifest(big))));
  report({ metric: `parse_verify_${n}_chunks_ms`, value: median(pv) * 1000, unit: "ms" });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// `npm run demo -- manifest`: the signed content manifest with the real `pear-fog` CLI.
// In a temporary directory: keygen, a 5 MiB random file, publish, verify, flip one byte in
// one chunk, verify again (must fail). Exit 0 only if all of that held.
import { bootstrap, ROOT } from "../bootstrap.mjs";
bootstrap();

const { spawnSync } = await import("node:child_process");
const { randomBytes } = await import("node:crypto");
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import("node:fs");
const { tmpdir } = await import("node:os");
const { join } = await import("node:path");

const bundle = join(ROOT, "dist", "pear-fog.mjs");
const dir = mkdtempSync(join(tmpdir(), "pear-fog-demo-"));

function say(msg) {
  console.log(`demo: ${msg}`);
}

function fail(msg) {
  console.error(`demo: FAILED: ${msg}`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}

/** Run `node <args>`; returns { code, stdout, stderr }. */
function node(args) {
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: (r.stderr ?? "").trim() };
}

function cli(...args) {
  const r = node([bundle, ...args]);
  say(`$ pear-fog ${args.map((a) => a.replace(dir, "$TMP")).join(" ")}  -> exit ${r.code}`);
  return r;
}

const build = node([join(ROOT, "scripts", "build.mjs"), "cli"]);
if (build.code !== 0) fail(`build: ${build.stderr}`);

const key = join(dir, "publisher.key");
const k = cli("keygen", "--out", key);
if (k.code !== 0) fail(k.stderr);
const did = k.stdout.trim();
say(`publisher ${did}`);

const file = join(dir, "video.bin");
writeFileSync(file, randomBytes(5 * 1024 * 1024));
const out = join(dir, "out");
const p = cli("publish", file, "--key", key, "--out", out);
if (p.code !== 0) fail(p.stderr);

const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
const chunks = manifest.files.flatMap((f) => f.chunks);
const v = cli("verify", join(out, "manifest.json"), "--publisher", did);
if (v.code !== 0) fail(`verify of untouched output failed: ${v.stderr}`);
const cid = /content id ([0-9a-f]{64})/.exec(v.stdout)?.[1];
if (!cid) fail(`verify printed no content id: ${v.stdout}`);

const victim = chunks[Math.floor(chunks.length / 2)];
const path = join(out, "chunks", victim.id);
const bytes = readFileSync(path);
bytes[1000] ^= 0xff;
writeFileSync(path, bytes);
say(`flipped byte 1000 of chunk ${victim.id.slice(0, 16)}...`);
const t = cli("verify", join(out, "manifest.json"));
if (t.code === 0) fail("verify accepted a tampered chunk");
if (!t.stderr.includes("bad_chunk") || !t.stderr.includes(victim.id)) {
  fail(`verify failed for the wrong reason: ${t.stderr}`);
}
say(`  ${t.stderr}`);

rmSync(dir, { recursive: true, force: true });
say(`manifest ok (${chunks.length} chunks, content id ${cid}); tampered chunk detected`);

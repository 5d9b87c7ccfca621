// Checks on a built router binary: static + right arch (file, ELF header), no FPU instructions
// for soft-float targets, --version/--help under qemu-user, and a real run: store a chunk
// through the control socket (the binary's own `ctl` client mode) and fetch it over HTTP.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { RouterBuildError } from "./lib.mjs";
import { tool } from "./toolchain.mjs";

/** `file -b` of the binary. */
export function fileType(bin) {
  return spawnSync("file", ["-b", bin], { encoding: "utf8" }).stdout.trim();
}

/** e_machine from the ELF header (little-endian targets only, which all of ours are). */
export function elfMachine(bin) {
  const h = readFileSync(bin).subarray(0, 20);
  if (h.readUInt32BE(0) !== 0x7f454c46) return -1;
  return h.readUInt16LE(18);
}

/** Number of instructions naming an FPU register ($f0..$f31) in the disassembly (MIPS). */
export function fpuInstructionCount(arch, bin) {
  const r = spawnSync(tool(arch, "objdump"), ["-d", bin], {
    encoding: "utf8",
    maxBuffer: 512 << 20,
  });
  if (r.status !== 0) throw new RouterBuildError("objdump", r.stderr.trim());
  return r.stdout.split("\n").filter((l) => /\$f[0-9]/.test(l)).length;
}

/** Runs the binary (through qemu-user for foreign arches) and returns { status, stdout }. */
export function runTarget(arch, bin, args, opts = {}) {
  const argv = [...arch.qemu, bin, ...args];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 20_000, ...opts });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Raw, gzip -9 and xz -9e sizes of the binary (the ipk's data.tar.gz is gzip). */
export function sizes(bin) {
  const raw = readFileSync(bin);
  const xz = spawnSync("xz", ["-9e", "-c", bin], { maxBuffer: 64 << 20 }).stdout;
  return { bytes: raw.length, gzip: gzipSync(raw, { level: 9 }).length, xz: xz.length };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function httpGet(port, path) {
  return new Promise((resolve, reject) => {
    const req = get({ host: "127.0.0.1", port, path, timeout: 10_000 }, (res) => {
      const parts = [];
      res.on("data", (d) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(parts) }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.on("error", reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the daemon with a temp store, puts a random 200 KiB chunk with `pear-fogd ctl
 * chunk_put`, GETs /chunks/<id> from its HTTP port and compares the bytes.
 * Returns { ok, id, bytes, startMs, detail }.
 */
export async function serveChunkSmoke(arch, bin) {
  const dir = mkdtempSync(join(tmpdir(), `pf-router-${arch.name}-`));
  const sock = join(dir, "ctl.sock");
  const port = await freePort();
  const data = randomBytes(200 * 1024);
  const id = createHash("sha256").update(data).digest("hex");
  writeFileSync(join(dir, "chunk"), data);
  const argv = [
    ...arch.qemu,
    bin,
    "--store-path",
    join(dir, "store"),
    "--ctl-socket",
    sock,
    "--bind",
    "127.0.0.1",
    "--rtc-port",
    "0",
    "--http-port",
    String(port),
    "--log-level",
    "warn",
  ];
  const t0 = Date.now();
  const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const done = (ok, detail, startMs) => ({ ok, id, bytes: data.length, startMs, detail });
  try {
    let startMs = -1;
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) return done(false, `daemon exited: ${stderr.trim()}`, -1);
      try {
        const h = await httpGet(port, "/healthz");
        if (h.status === 200) {
          startMs = Date.now() - t0;
          break;
        }
      } catch {
        /* not listening yet */
      }
      await sleep(50);
    }
    if (startMs < 0) return done(false, "no /healthz within 10 s", -1);
    const put = runTarget(arch, bin, [
      "--ctl-socket",
      sock,
      "ctl",
      "chunk_put",
      JSON.stringify({ chunk: id, path: join(dir, "chunk") }),
    ]);
    if (put.status !== 0) return done(false, `ctl chunk_put: ${put.stdout}${put.stderr}`, startMs);
    const got = await httpGet(port, `/chunks/${id}`);
    if (got.status !== 200) return done(false, `GET /chunks: HTTP ${got.status}`, startMs);
    if (!got.body.equals(data)) return done(false, `GET /chunks: ${got.body.length} bytes differ`);
    return done(true, "chunk stored via ctl and served byte-identical over HTTP", startMs);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * All checks; returns a report object and throws RouterBuildError on the first failure
 * (unless `soft`, then failures are listed in report.failures).
 */
export async function verifyBinary(arch, bin, { soft = false } = {}) {
  const failures = [];
  const fail = (m) => {
    if (!soft) throw new RouterBuildError(`verify ${arch.name}`, m);
    failures.push(m);
  };
  const file = fileType(bin);
  if (!/statically linked|static-pie linked/.test(file)) fail(`not static: ${file}`);
  if (!file.includes(arch.fileArch)) fail(`wrong arch: ${file} (want ${arch.fileArch})`);
  if (elfMachine(bin) !== arch.elfMachine) fail(`ELF e_machine ${elfMachine(bin)}`);
  const fpu = arch.softFloat ? fpuInstructionCount(arch, bin) : null;
  if (fpu) fail(`${fpu} FPU instructions in a soft-float binary`);
  const ver = runTarget(arch, bin, ["--version"]);
  if (ver.status !== 0) fail(`--version: exit ${ver.status ?? ver.signal} ${ver.stderr.trim()}`);
  const help = runTarget(arch, bin, ["--help"]);
  if (help.status !== 0 || !/--http-port/.test(help.stdout + help.stderr)) {
    fail(`--help: exit ${help.status ?? help.signal}`);
  }
  const smoke = await serveChunkSmoke(arch, bin);
  if (!smoke.ok) fail(`serve chunk: ${smoke.detail}`);
  return {
    arch: arch.name,
    file,
    static: /statically linked/.test(file),
    fpuInstructions: fpu,
    version: ver.stdout.trim(),
    smoke,
    sizes: sizes(bin),
    mtime: statSync(bin).mtimeMs,
    failures,
  };
}

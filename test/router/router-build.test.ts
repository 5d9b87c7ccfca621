// Router builds (issue 5): for each OpenWrt arch, `npm run build:router -- --arch A` (cached
// under $PEAR_FOG_CACHE/router) yields a static musl pear-fogd of that arch which answers
// --version/--help under qemu-user and serves a chunk it was given over its control socket;
// mipsel_24kc has no FPU instruction at all and does not grow past its measured size.
//
// These checks are made here independently of scripts/router/verify.mjs. Cold (nothing
// cached) the four builds take long (see docs/router-builds.md); warm they only relink.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(fileURLToPath(import.meta.url), "..", "..", "..");

/**
 * The issue-5 budget (a 1.2 MB mipsel ipk) is met since the router builds link mbedTLS
 * instead of OpenSSL: gzip -9 of the mipsel binary 953,536 B, ipk 970,995 B (ratio 0.81)
 * measured on 2026-12-06 (docs/router-builds.md has the OpenSSL build of the same tree).
 * `npm run bench -- size` reports the ipk against the budget; this guards against growth:
 * the measured size + 5 %.
 */
const MIPSEL_GZIP_CEILING = 1_001_300;

interface Target {
  arch: string;
  qemu: string[];
  fileArch: string;
  elfMachine: number;
  objdump: string;
}

const TARGETS: Target[] = [
  {
    arch: "x86_64",
    qemu: [],
    fileArch: "x86-64",
    elfMachine: 62,
    objdump: "x86_64-linux-gnu-objdump",
  },
  {
    arch: "aarch64_cortex-a53",
    qemu: ["qemu-aarch64-static", "-cpu", "cortex-a53"],
    fileArch: "ARM aarch64",
    elfMachine: 183,
    objdump: "aarch64-linux-gnu-objdump",
  },
  {
    arch: "arm_cortex-a7_neon-vfpv4",
    qemu: ["qemu-arm-static", "-cpu", "cortex-a7"],
    fileArch: "ARM, EABI5",
    elfMachine: 40,
    objdump: "arm-linux-gnueabihf-objdump",
  },
  {
    arch: "mipsel_24kc",
    qemu: ["qemu-mipsel-static", "-cpu", "24Kc"],
    fileArch: "MIPS, MIPS32 rel2",
    elfMachine: 8,
    objdump: "mipsel-linux-gnu-objdump",
  },
];

/** A cold build of one arch compiles musl/OpenSSL/usrsctp/QuickJS: allow 40 minutes. */
const BUILD_TIMEOUT_MS = 40 * 60_000;

function build(arch: string): string {
  const r = spawnSync("node", ["scripts/build-router.mjs", "--arch", arch, "--no-verify"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: BUILD_TIMEOUT_MS,
  });
  if (r.status !== 0) throw new Error(`build-router ${arch} failed:\n${r.stderr.slice(-3000)}`);
  return join(ROOT, "dist", arch, "pear-fogd");
}

function runTarget(t: Target, bin: string, args: string[]) {
  const argv = [...t.qemu, bin, ...args];
  return spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 20_000 });
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

function httpGet(port: number, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((res, rej) => {
    const req = get({ host: "127.0.0.1", port, path, timeout: 10_000 }, (r) => {
      const parts: Buffer[] = [];
      r.on("data", (d: Buffer) => parts.push(d));
      r.on("end", () => res({ status: r.statusCode ?? 0, body: Buffer.concat(parts) }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", rej);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(TARGETS)("router build $arch", (t) => {
  let bin = "";

  beforeAll(() => {
    bin = build(t.arch);
  }, BUILD_TIMEOUT_MS);

  it("is a static executable for the target arch", () => {
    const file = spawnSync("file", ["-b", bin], { encoding: "utf8" }).stdout;
    expect(file).toMatch(/statically linked/);
    expect(file).toContain(t.fileArch);
    const elf = readFileSync(bin).subarray(0, 20);
    expect(elf.readUInt32BE(0)).toBe(0x7f454c46);
    expect(elf.readUInt16LE(18)).toBe(t.elfMachine);
    expect(file).not.toMatch(/interpreter/);
  });

  it("answers --version and --help under qemu-user", () => {
    const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
    const v = runTarget(t, bin, ["--version"]);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe(`pear-fogd ${version}`);
    const h = runTarget(t, bin, ["--help"]);
    expect(h.status).toBe(0);
    expect(h.stdout).toContain("--http-port");
  });

  it("stores a chunk via its control socket and serves the same bytes over HTTP", async () => {
    const dir = mkdtempSync(join(tmpdir(), `pf-router-test-${t.arch}-`));
    const sock = join(dir, "ctl.sock");
    const port = await freePort();
    const data = randomBytes(300 * 1024);
    const id = createHash("sha256").update(data).digest("hex");
    writeFileSync(join(dir, "chunk"), data);
    const argv = [
      ...t.qemu,
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
    ];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: "ignore" });
    try {
      let up = false;
      for (let i = 0; i < 200 && !up; i++) {
        up = await httpGet(port, "/healthz").then(
          (r) => r.status === 200,
          () => false,
        );
        if (!up) await sleep(50);
      }
      expect(up).toBe(true);
      const missing = await httpGet(port, `/chunks/${id}`);
      expect(missing.status).toBe(404);
      const put = runTarget(t, bin, [
        "--ctl-socket",
        sock,
        "ctl",
        "chunk_put",
        JSON.stringify({ chunk: id, path: join(dir, "chunk") }),
      ]);
      expect(put.stderr).toBe("");
      expect(put.status).toBe(0);
      // A chunk whose bytes do not hash to its id is refused.
      const bad = runTarget(t, bin, [
        "--ctl-socket",
        sock,
        "ctl",
        "chunk_put",
        JSON.stringify({ chunk: "0".repeat(64), path: join(dir, "chunk") }),
      ]);
      expect(bad.status).toBe(1);
      const got = await httpGet(port, `/chunks/${id}`);
      expect(got.status).toBe(200);
      expect(got.body.length).toBe(data.length);
      expect(got.body.equals(data)).toBe(true);
    } finally {
      child.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    }
  });

  if (t.arch === "mipsel_24kc") {
    it("has zero FPU instructions (a 24Kc has no FPU)", () => {
      const r = spawnSync(t.objdump, ["-d", bin], { encoding: "utf8", maxBuffer: 512 << 20 });
      expect(r.status).toBe(0);
      const lines = r.stdout.split("\n");
      expect(lines.length).toBeGreaterThan(100_000);
      const fpu = lines.filter((l) => /\$f[0-9]/.test(l));
      expect(fpu.slice(0, 5)).toEqual([]);
    });

    it(`does not grow: gzip -9 of the binary <= ${MIPSEL_GZIP_CEILING} bytes`, () => {
      const gz = gzipSync(readFileSync(bin), { level: 9 }).length;
      expect(gz).toBeLessThanOrEqual(MIPSEL_GZIP_CEILING);
    });
  }
});

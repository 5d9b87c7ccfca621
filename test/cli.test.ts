// `pear-fog` CLI end to end: the built bundle (dist/pear-fog.mjs) as a child process.
// keygen -> publish (file, dir, HLS and DASH from a local HTTP server) -> verify, then
// tampering (chunk, manifest field, signature, chunk id), truncated and oversized manifests,
// bad input, and that failures leave nothing half-written.
import { execFile, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const BUNDLE = join(ROOT, "dist", "pear-fog.mjs");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BUNDLE, ...args], { encoding: "utf8" }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
    });
  });
}

/** A failing run: exit code, and stderr is exactly one `pear-fog: ...` line matching `re`. */
function expectFail(r: Run, code: number, re: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^pear-fog: /);
  expect(lines[0]).toMatch(re);
}

function flipBit(path: string, offset: number, bit = 0): void {
  const b = readFileSync(path);
  b[offset]! ^= 1 << bit;
  writeFileSync(path, b);
}

function sha256Hex(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Files served by the local origin, path -> body. */
const served = new Map<string, Buffer>();
let server: Server;
let base: string;
let dir: string;
let key: string;
let did: string;
/** A local TCP port nothing listens on. */
let closedPort: number;

function serve(path: string, body: Buffer | string): void {
  served.set(path, Buffer.isBuffer(body) ? body : Buffer.from(body));
}

beforeAll(async () => {
  execFileSync(process.execPath, [join(ROOT, "scripts", "build.mjs"), "cli"], { stdio: "inherit" });
  dir = mkdtempSync(join(tmpdir(), "pear-fog-cli-"));
  server = createServer((req, res) => {
    const body = served.get(new URL(req.url ?? "/", "http://x").pathname);
    if (!body) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-length": body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const tmp = createServer();
  await new Promise<void>((r) => tmp.listen(0, "127.0.0.1", r));
  closedPort = (tmp.address() as AddressInfo).port;
  await new Promise<void>((r) => tmp.close(() => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // HLS: master with two variants (one fMP4 with an init segment) and an audio rendition.
  serve(
    "/hls/master.m3u8",
    [
      "#EXTM3U",
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="audio/en.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=500000,AUDIO="a"',
      "low/index.m3u8",
      '#EXT-X-STREAM-INF:BANDWIDTH=1500000,AUDIO="a"',
      `${base}/hls/high/index.m3u8`,
      "",
    ].join("\n"),
  );
  for (const v of ["low", "high", "audio"]) {
    const segs = [0, 1, 2].map((i) => `seg${i}.m4s`);
    const name = v === "audio" ? "en.m3u8" : "index.m3u8";
    const lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:4", '#EXT-X-MAP:URI="init.mp4"'];
    for (const s of segs) lines.push("#EXTINF:4.0,", s);
    lines.push("#EXT-X-ENDLIST", "");
    serve(`/hls/${v}/${name}`, lines.join("\n"));
    serve(`/hls/${v}/init.mp4`, randomBytes(700));
    segs.forEach((s, i) => serve(`/hls/${v}/${s}`, randomBytes(3000 + i * 1500)));
  }
  // DASH: SegmentTemplate $Number$ over a fixed duration, two representations.
  serve(
    "/dash/stream.mpd",
    `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT11S">
 <Period><AdaptationSet>
  <SegmentTemplate media="$RepresentationID$/$Number%02d$.m4s" initialization="$RepresentationID$/init.mp4"
   duration="4" timescale="1" startNumber="1"/>
  <Representation id="v1" bandwidth="100000"/><Representation id="v2" bandwidth="200000"/>
 </AdaptationSet></Period></MPD>`,
  );
  for (const r of ["v1", "v2"]) {
    serve(`/dash/${r}/init.mp4`, randomBytes(500));
    for (const n of ["01", "02", "03"]) serve(`/dash/${r}/${n}.m4s`, randomBytes(2500));
  }
  key = join(dir, "publisher.key");
  const k = await run("keygen", "--out", key);
  expect(k.code, k.stderr).toBe(0);
  did = k.stdout.trim();
}, 120_000);

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function publishOut(name: string): string {
  return join(dir, name);
}

describe("pear-fog keygen", () => {
  it("writes a 0600 key file and prints its did:key", () => {
    expect(did).toMatch(/^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}$/);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    const k = JSON.parse(readFileSync(key, "utf8"));
    expect(k.did).toBe(did);
    expect(k.seed).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses to overwrite, and usage errors exit 2", async () => {
    expectFail(await run("keygen", "--out", key), 1, /file exists/);
    expectFail(await run("keygen"), 2, /--out <path> is required/);
    expectFail(await run("keygen", "--bogus"), 2, /keygen: .*bogus/);
    expect((await run("keygen", "--help")).stdout).toMatch(/^usage: pear-fog keygen/);
  });
});

describe("pear-fog publish + verify: file", () => {
  let out: string;
  let data: Buffer;

  beforeAll(async () => {
    data = randomBytes(1_000_000);
    writeFileSync(join(dir, "movie.bin"), data);
    out = publishOut("file");
    const r = await run(
      "publish",
      join(dir, "movie.bin"),
      "--key",
      key,
      "--out",
      out,
      "--chunk-size",
      "64K",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/16 chunks \(16 written/);
  });

  it("writes manifest + chunks that verify; content id = SHA-256 of manifest.json", async () => {
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(m).toMatchObject({
      v: 1,
      type: "file",
      name: "movie.bin",
      size: 1_000_000,
      chunkSize: 65536,
    });
    expect(m.publisher).toBe(did);
    const chunks = readdirSync(join(out, "chunks"));
    expect(chunks.sort()).toEqual(m.files[0].chunks.map((c: { id: string }) => c.id).sort());
    expect(readFileSync(join(out, "chunks", m.files[0].chunks[0].id))).toEqual(
      data.subarray(0, 65536),
    );
    const v = await run("verify", join(out, "manifest.json"));
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain("16/16 chunks ok");
    const cid = sha256Hex(readFileSync(join(out, "manifest.json")));
    expect(v.stdout).toContain(`content id ${cid}`);
    expect((await run("verify", join(out, "manifest.json"), "--publisher", did)).code).toBe(0);
  });

  it("canonical encoding is byte-stable across runs", async () => {
    const a = publishOut("stable-a");
    const b = publishOut("stable-b");
    for (const o of [a, b]) {
      const r = await run(
        "publish",
        join(dir, "movie.bin"),
        "--key",
        key,
        "--out",
        o,
        "--created",
        "1700000000",
      );
      expect(r.code, r.stderr).toBe(0);
    }
    expect(
      readFileSync(join(a, "manifest.json")).equals(readFileSync(join(b, "manifest.json"))),
    ).toBe(true);
  });

  it("a flipped bit in a chunk is detected", async () => {
    const o = publishOut("tamper-chunk");
    expect((await run("publish", join(dir, "movie.bin"), "--key", key, "--out", o)).code).toBe(0);
    const m = JSON.parse(readFileSync(join(o, "manifest.json"), "utf8"));
    const id = m.files[0].chunks[2].id;
    flipBit(join(o, "chunks", id), 12345, 3);
    expectFail(
      await run("verify", join(o, "manifest.json")),
      1,
      new RegExp(`bad_chunk: chunk 2: SHA-256 [0-9a-f]{64}, expected ${id}`),
    );
    rmSync(join(o, "chunks", m.files[0].chunks[3].id));
    expectFail(
      await run("verify", join(o, "manifest.json")),
      1,
      /bad_chunk: chunk 2.*\(and 1 more bad chunks\)/,
    );
    // The manifest alone is still fine.
    expect((await run("verify", join(o, "manifest.json"), "--no-chunks")).code).toBe(0);
  });

  it("a flipped bit in a manifest field, the signature or a chunk id is detected", async () => {
    const text = readFileSync(join(out, "manifest.json"), "latin1");
    const cases: [string, number, RegExp][] = [
      ["name", text.indexOf('"name":"movie.bin"') + 9, /bad_signature/],
      ["size digit", text.indexOf('"created":') + 11, /bad_signature/],
      ["signature", text.indexOf('"signature":"') + 20, /bad_signature/],
      ["chunk id", text.indexOf('"id":"') + 10, /bad_merkle/],
      ["merkle root", text.indexOf('"merkleRoot":"') + 20, /bad_merkle/],
      ["publisher", text.indexOf('"publisher":"') + 30, /bad_(signature|field)/],
    ];
    for (const [what, off, re] of cases) {
      const o = publishOut(`tamper-${what.replace(" ", "-")}`);
      mkdirSync(o);
      const path = join(o, "manifest.json");
      writeFileSync(path, readFileSync(join(out, "manifest.json")));
      // One bit that keeps the character a lowercase hex digit (a->c, f->d, else bit 0), so
      // the field stays well-formed and the cryptographic check is what catches it.
      const ch = text[off]!;
      flipBit(path, off, ch === "a" || ch === "f" ? 1 : 0);
      expectFail(await run("verify", path, join(out, "chunks")), 1, re);
    }
  });

  it("refuses truncated and oversized manifests with a clear error", async () => {
    const bytes = readFileSync(join(out, "manifest.json"));
    const t = join(dir, "truncated.json");
    writeFileSync(t, bytes.subarray(0, bytes.length - 7));
    expectFail(
      await run("verify", t, "--no-chunks"),
      1,
      /verify .*truncated\.json: malformed: not JSON \(truncated\?\)/,
    );
    const big = join(dir, "big.json");
    writeFileSync(big, Buffer.concat([bytes, Buffer.alloc(8 * 1024 * 1024, 0x20)]));
    expectFail(await run("verify", big, "--no-chunks"), 1, /too_large: more than 8388608 bytes/);
    const pretty = join(dir, "pretty.json");
    writeFileSync(pretty, JSON.stringify(JSON.parse(bytes.toString()), null, 2));
    expectFail(await run("verify", pretty, "--no-chunks"), 1, /non_canonical/);
  });
});

describe("pear-fog publish + verify: directory", () => {
  it("publishes a tree with sorted relative paths, empty files too", async () => {
    const src = join(dir, "site");
    mkdirSync(join(src, "b", "c"), { recursive: true });
    writeFileSync(join(src, "z.txt"), "zzz");
    writeFileSync(join(src, "b", "c", "deep.bin"), randomBytes(5000));
    writeFileSync(join(src, "b", "empty"), "");
    const out = publishOut("dir");
    const r = await run(
      "publish",
      src,
      "--key",
      key,
      "--out",
      out,
      "--chunk-size",
      "2048",
      "--origin",
      "https://origin.example/site/",
      "--name",
      "my site",
      "--content-version",
      "7",
    );
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(m).toMatchObject({
      type: "dir",
      name: "my site",
      version: 7,
      origins: ["https://origin.example/site/"],
    });
    expect(m.files.map((f: { path: string }) => f.path)).toEqual([
      "b/c/deep.bin",
      "b/empty",
      "z.txt",
    ]);
    expect(m.files[0].chunks.map((c: { size: number }) => c.size)).toEqual([2048, 2048, 904]);
    expect((await run("verify", join(out, "manifest.json"))).code).toBe(0);
  });
});

describe("pear-fog publish + verify: HLS and DASH from a local origin", () => {
  it("HLS master: every variant, rendition, init and media segment", async () => {
    const out = publishOut("hls");
    const r = await run(
      "publish",
      `${base}/hls/master.m3u8`,
      "--key",
      key,
      "--out",
      out,
      "--chunk-size",
      "2K",
    );
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(m.type).toBe("hls");
    expect(m.origins).toEqual([`${base}/hls/master.m3u8`]);
    const uris = m.files.map((f: { uri: string }) => f.uri);
    expect(uris).toHaveLength(12);
    for (const v of ["low", "high", "audio"]) {
      for (const s of ["init.mp4", "seg0.m4s", "seg1.m4s", "seg2.m4s"])
        expect(uris).toContain(`${base}/hls/${v}/${s}`);
    }
    for (const f of m.files) {
      const body = served.get(new URL(f.uri).pathname)!;
      expect(f.size).toBe(body.length);
      const joined = Buffer.concat(
        f.chunks.map((c: { id: string }) => readFileSync(join(out, "chunks", c.id))),
      );
      expect(joined.equals(body)).toBe(true);
    }
    const v = await run("verify", join(out, "manifest.json"));
    expect(v.code, v.stderr).toBe(0);
  });

  it("DASH SegmentTemplate: init + ceil(11/4) = 3 segments per representation", async () => {
    const out = publishOut("dash");
    const r = await run(
      "publish",
      `${base}/dash/stream.mpd`,
      "--key",
      key,
      "--out",
      out,
      "--chunk-size",
      "1K",
    );
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(m.type).toBe("dash");
    expect(m.files.map((f: { uri: string }) => f.uri.slice(base.length))).toEqual([
      "/dash/v1/init.mp4",
      "/dash/v1/01.m4s",
      "/dash/v1/02.m4s",
      "/dash/v1/03.m4s",
      "/dash/v2/init.mp4",
      "/dash/v2/01.m4s",
      "/dash/v2/02.m4s",
      "/dash/v2/03.m4s",
    ]);
    expect((await run("verify", join(out, "manifest.json"))).code).toBe(0);
  });

  it("a missing segment fails cleanly and leaves no manifest or temp file", async () => {
    serve(
      "/broken/index.m3u8",
      "#EXTM3U\n#EXTINF:4,\nok.ts\n#EXTINF:4,\nmissing.ts\n#EXT-X-ENDLIST\n",
    );
    serve("/broken/ok.ts", randomBytes(4000));
    const out = publishOut("broken");
    expectFail(
      await run("publish", `${base}/broken/index.m3u8`, "--key", key, "--out", out),
      1,
      new RegExp(`fetch ${base}/broken/missing.ts: HTTP 404`),
    );
    expect(existsSync(join(out, "manifest.json"))).toBe(false);
    const leftovers = readdirSync(join(out, "chunks")).filter((f) => f.startsWith("."));
    expect(leftovers).toEqual([]);
  });
});

describe("pear-fog: bad input gets one line and a non-zero exit", () => {
  it.each([
    [
      ["publish", "/nonexistent/file", "--key", "KEY", "--out", "OUT"],
      1,
      /publish \/nonexistent\/file: no such file or directory/,
    ],
    [
      ["publish", "FILE", "--key", "/nonexistent.key", "--out", "OUT"],
      1,
      /publish --key \/nonexistent\.key: no such file/,
    ],
    [
      ["publish", "FILE", "--key", "FILE", "--out", "OUT"],
      1,
      /publish --key .*: key file is not JSON/,
    ],
    [["publish", "FILE", "--key", "KEY"], 2, /--out is required/],
    [
      ["publish", "FILE", "--key", "KEY", "--out", "OUT", "--chunk-size", "12"],
      2,
      /--chunk-size must be 1024\.\.16777216/,
    ],
    [
      ["publish", "FILE", "--key", "KEY", "--out", "OUT", "--origin", "ftp://x/"],
      2,
      /--origin ftp:\/\/x\/: not an http\(s\) URL/,
    ],
    [
      ["publish", "http://127.0.0.1:CLOSED/x.m3u8", "--key", "KEY", "--out", "OUT"],
      1,
      /fetch http:\/\/127\.0\.0\.1:\d+\/x\.m3u8: ECONNREFUSED/,
    ],
    [["verify", "/nonexistent.json"], 1, /verify \/nonexistent\.json: /],
    [["frobnicate"], 2, /unknown command "frobnicate"/],
  ] as [string[], number, RegExp][])("%j", async (args, code, re) => {
    const file = join(dir, "plain.txt");
    writeFileSync(file, "hello");
    const sub = (a: string): string =>
      a.includes("CLOSED")
        ? a.replace("CLOSED", String(closedPort))
        : a === "KEY"
          ? key
          : a === "FILE"
            ? file
            : a === "OUT"
              ? join(dir, "bad-out")
              : a;
    expectFail(await run(...args.map(sub)), code, re);
    expect(existsSync(join(dir, "bad-out", "manifest.json"))).toBe(false);
  });

  it("publishing a non-HLS/DASH URL is refused", async () => {
    serve("/page.html", "<html></html>");
    expectFail(
      await run("publish", `${base}/page.html`, "--key", key, "--out", join(dir, "html")),
      1,
      /not an HLS playlist \(#EXTM3U\) or a DASH MPD/,
    );
  });
});

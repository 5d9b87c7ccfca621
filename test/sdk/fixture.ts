// Test world for the SDK integration tests: a real HLS stream (ffmpeg), a local origin on
// 127.0.0.1 that also serves the test page, the SDK bundle (esbuild, IIFE global PearFog) and
// hls.js; the stream published with the CLI's publish() (signed manifest + chunk files); a
// real coordinator with the content registered over the signed REST API; and wrtc fog nodes.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { publish } from "../../src/cli/publish";
import { signApiRequest } from "../../src/coordinator/api-auth";
import { startCoordinator, type RunningCoordinator } from "../../src/coordinator/main";
import { generateKeyPair, type KeyPair } from "../../src/protocol/ed25519";
import type { Manifest } from "../../src/protocol/manifest-types";
import { type ServeOptions, WrtcFogNode } from "./fog-node";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** Chunk length used for the test stream, bytes (segments are ~24 KiB: ~6 chunks each). */
export const TEST_CHUNK_SIZE = 4096;

export interface OriginRequest {
  path: string;
  range: string | undefined;
}

export interface Fixture {
  dir: string;
  origin: string;
  /** Every request the origin saw (cleared by tests as they like). */
  requests: OriginRequest[];
  playlistUrl: string;
  manifestUrl: string;
  manifest: Manifest;
  contentId: string;
  publisher: KeyPair;
  /** Chunk id → bytes, for every chunk of the stream. */
  chunks: Map<string, Uint8Array>;
  /** Segment URL → bytes. */
  segments: Map<string, Uint8Array>;
  coord: RunningCoordinator;
  /** ws://…/ws/browser */
  coordinatorWs: string;
  /** Start a fog node holding `ids` (default: every chunk). */
  startNode(opts?: ServeOptions, ids?: string[]): Promise<WrtcFogNode>;
  close(): Promise<void>;
}

/** The SDK bundle as the lead's build will make it: src/sdk/index.ts, IIFE global PearFog. */
export async function buildSdkBundle(): Promise<string> {
  const r = await build({
    entryPoints: [join(ROOT, "src/sdk/index.ts")],
    bundle: true,
    format: "iife",
    globalName: "PearFog",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return r.outputFiles[0]!.text;
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>pear-fog sdk test</title>
<script src="/hls.js"></script><script src="/sdk.js"></script>
<video id="v" muted playsinline></video>`;

export async function startFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), "pf-sdk-"));
  const media = join(dir, "media");
  mkdirSync(media);
  execFileSync("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-f", "lavfi"],
    ...["-i", "testsrc=duration=8:size=160x120:rate=10", "-c:v", "libx264"],
    ...["-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "10", "-hls_time", "2"],
    ...["-hls_list_size", "0", "-f", "hls", join(media, "index.m3u8")],
  ]);
  const sdk = await buildSdkBundle();
  const hlsJs = readFileSync(join(ROOT, "node_modules/hls.js/dist/hls.min.js"));
  let manifestBytes = new Uint8Array();
  const requests: OriginRequest[] = [];

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    requests.push({ path, range: req.headers.range });
    const send = (type: string, body: string | Uint8Array) => {
      res.writeHead(200, { "content-type": type, "access-control-allow-origin": "*" });
      res.end(body);
    };
    if (path === "/" || path === "/index.html") return send("text/html", PAGE);
    if (path === "/sdk.js") return send("text/javascript", sdk);
    if (path === "/hls.js") return send("text/javascript", hlsJs);
    if (path === "/manifest.json") return send("application/json", manifestBytes);
    const m = /^\/media\/([\w.-]+)$/.exec(path);
    if (!m) {
      res.writeHead(404);
      return res.end();
    }
    let body: Buffer;
    try {
      body = readFileSync(join(media, m[1]!));
    } catch {
      res.writeHead(404);
      return res.end();
    }
    const type = path.endsWith(".m3u8") ? "application/vnd.apple.mpegurl" : "video/mp2t";
    const r = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (r) {
      const a = Number(r[1]);
      const b = Math.min(Number(r[2]), body.length - 1);
      res.writeHead(206, {
        "content-type": type,
        "content-range": `bytes ${a}-${b}/${body.length}`,
        "access-control-allow-origin": "*",
      });
      return res.end(body.subarray(a, b + 1));
    }
    send(type, body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const playlistUrl = `${origin}/media/index.m3u8`;

  const publisher = generateKeyPair();
  const pub = await publish(playlistUrl, {
    key: publisher,
    outDir: join(dir, "pub"),
    chunkSize: TEST_CHUNK_SIZE,
  });
  manifestBytes = new Uint8Array(readFileSync(pub.manifestPath));
  const chunks = new Map<string, Uint8Array>();
  const segments = new Map<string, Uint8Array>();
  for (const f of pub.manifest.files) {
    const bytes = new Uint8Array(readFileSync(join(media, new URL(f.uri!).pathname.slice(7))));
    segments.set(f.uri!, bytes);
    f.chunks.forEach((c, i) => {
      chunks.set(c.id, bytes.subarray(i * TEST_CHUNK_SIZE, i * TEST_CHUNK_SIZE + c.size));
    });
  }

  const coord = await startCoordinator({
    port: 0,
    host: "127.0.0.1",
    dbPath: join(dir, "coord.db"),
    publishers: [publisher.did],
  });
  // Register the content with the coordinator: the signed manifest bytes over signed REST.
  const auth = signApiRequest(
    publisher.did,
    publisher.seed,
    "POST",
    "/api/manifests",
    manifestBytes,
  );
  const res = await fetch(`${coord.url}/api/manifests`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: auth },
    body: manifestBytes,
  });
  if (res.status !== 201) throw new Error(`register content: ${res.status} ${await res.text()}`);
  const registered = ((await res.json()) as { contentId: string }).contentId;
  if (registered !== pub.contentId) throw new Error(`content id ${registered} != ${pub.contentId}`);

  const nodes: WrtcFogNode[] = [];
  return {
    dir,
    origin,
    requests,
    playlistUrl,
    manifestUrl: `${origin}/manifest.json`,
    manifest: pub.manifest,
    contentId: pub.contentId,
    publisher,
    chunks,
    segments,
    coord,
    coordinatorWs: `${coord.url.replace(/^http/, "ws")}/ws/browser`,
    async startNode(opts = {}, ids?: string[]) {
      const held = ids ? new Map(ids.map((id) => [id, chunks.get(id)!])) : chunks;
      const n = new WrtcFogNode(held, opts);
      await n.start(coord.url);
      nodes.push(n);
      // Wait until the coordinator indexed the inventory.
      const first = [...held.keys()][0];
      for (let i = 0; first && i < 100; i++) {
        if (coord.server.content.holders(first).has(n.did)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      return n;
    },
    async close() {
      for (const n of nodes) await n.close();
      await coord.close();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// What the agent's integration tests share: an origin HTTP server with Range (and faults), a
// browser's coordinator link (find, offer), and polling until a condition holds.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { publish } from "../../src/cli/publish";
import { signApiRequest } from "../../src/coordinator/api-auth";
import type { CoordinatorOptions } from "../../src/coordinator/config";
import { startCoordinator, type RunningCoordinator } from "../../src/coordinator/main";
import { generateKeyPair, type KeyPair } from "../../src/protocol/ed25519";
import {
  decodeCoordinatorToBrowser,
  encodeMessage,
  type CoordinatorToBrowser,
} from "../../src/protocol/messages";
import { until as pollUntil } from "../support/until";

/** Origin: serves `dir` with Range; `corrupt` maps a path to a byte offset to flip on the way out. */
export async function startOrigin(dir: string, corrupt: Map<string, number>) {
  let requests = 0;
  let down = false;
  const server: Server = createServer((req, res) => {
    requests++;
    if (down) {
      res.writeHead(503).end();
      return;
    }
    const path = decodeURIComponent((req.url ?? "/").slice(1));
    let body: Buffer;
    try {
      body = Buffer.from(readFileSync(join(dir, path)));
    } catch {
      res.writeHead(404).end();
      return;
    }
    const flip = corrupt.get(path);
    if (flip !== undefined) body[flip] = body[flip]! ^ 0x01;
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (m) {
      const a = Number(m[1]);
      const b = Math.min(Number(m[2]), body.length - 1);
      res.writeHead(206, { "content-range": `bytes ${a}-${b}/${body.length}` });
      res.end(body.subarray(a, b + 1));
    } else {
      res.writeHead(200).end(body);
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    /** Requests seen so far (answered or not). */
    requests: () => requests,
    /** From now on every request gets 503. */
    goDown: () => {
      down = true;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A browser's coordinator link: find and offer over /ws/browser. */
export class BrowserLink {
  private req = 0;
  private readonly waiting: ((m: CoordinatorToBrowser) => boolean)[] = [];
  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (d) => {
      const m = decodeCoordinatorToBrowser(String(d));
      const i = this.waiting.findIndex((w) => w(m));
      if (i >= 0) this.waiting.splice(i, 1);
    });
  }
  static async open(url: string): Promise<BrowserLink> {
    const ws = new WebSocket(url);
    await new Promise<void>((res, rej) => (ws.once("open", () => res()), ws.once("error", rej)));
    ws.send(encodeMessage({ t: "browser.hello", version: "agent-test" }));
    return new BrowserLink(ws);
  }
  private next<T>(pick: (m: CoordinatorToBrowser) => T | undefined, ms = 5000): Promise<T> {
    return new Promise<T>((res, rej) => {
      const timer = setTimeout(() => rej(new Error("no reply from the coordinator")), ms);
      this.waiting.push((m) => {
        const v = pick(m);
        if (v === undefined) return false;
        clearTimeout(timer);
        res(v);
        return true;
      });
    });
  }
  /** Node ids the coordinator offers for these chunks. */
  async find(content: string, chunks: string[]): Promise<string[]> {
    const req = ++this.req;
    const p = this.next((m) => (m.t === "browser.found" && m.req === req ? m : undefined));
    this.ws.send(encodeMessage({ t: "browser.find", req, content, chunks }));
    return (await p).nodes.filter((n) => n.has.length > 0).map((n) => n.node);
  }
  async offer(node: string, sdp: string): Promise<string> {
    const session = `s${++this.req}`;
    const p = this.next((m) => (m.t === "sig.answer" && m.session === session ? m.sdp : undefined));
    this.ws.send(encodeMessage({ t: "sig.offer", session, node, sdp }));
    return p;
  }
  close(): void {
    this.ws.close();
  }
}

/**
 * A period longer than any test here, milliseconds: a heartbeat or inventory refresh set to it
 * never comes during the test, so only a prompt report can explain what the coordinator learns.
 */
export const LONGER_THAN_A_TEST_MS = 600_000;

/** test/support/until.ts, polling every 100 ms for up to `ms` (default 15 s). */
export function until<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  ms = 15_000,
): Promise<T> {
  return pollUntil(what, f, ms, 100);
}

/** POST a signed manifest to the coordinator's REST API as its publisher. */
export async function uploadManifest(
  coordinatorUrl: string,
  publisher: KeyPair,
  manifestPath: string,
): Promise<void> {
  const body = new Uint8Array(readFileSync(manifestPath));
  const up = await fetch(`${coordinatorUrl}/api/manifests`, {
    method: "POST",
    headers: {
      authorization: signApiRequest(publisher.did, publisher.seed, "POST", "/api/manifests", body),
      "content-type": "application/json",
    },
    body,
  });
  if (up.status >= 300) throw new Error(`manifest upload: HTTP ${up.status} ${await up.text()}`);
}

/** Published content behind an origin, a coordinator that knows it, and a browser link. */
export interface ContentWorld {
  dir: string;
  origin: Awaited<ReturnType<typeof startOrigin>>;
  coord: RunningCoordinator;
  link: BrowserLink;
  contentId: string;
  /** Chunk ids by file path. */
  chunks: Map<string, string[]>;
  close(): Promise<void>;
}

/**
 * Writes `files` under a temp dir, serves them from an origin (with `corrupt` faults), publishes
 * them (signed manifest, `chunkSize`), starts a coordinator on loopback (SQLite in the temp dir,
 * `coordinator` options over the defaults), uploads the manifest and opens a browser link.
 */
export async function startContentWorld(o: {
  files: Record<string, Uint8Array>;
  chunkSize: number;
  corrupt?: Map<string, number>;
  coordinator?: CoordinatorOptions;
}): Promise<ContentWorld> {
  const dir = mkdtempSync(join(tmpdir(), "pear-fog-agent-"));
  const publisher = generateKeyPair();
  const media = join(dir, "media");
  mkdirSync(media);
  for (const [name, bytes] of Object.entries(o.files)) writeFileSync(join(media, name), bytes);
  const origin = await startOrigin(media, o.corrupt ?? new Map());
  const pub = await publish(media, {
    key: publisher,
    outDir: join(dir, "pub"),
    chunkSize: o.chunkSize,
    origins: [origin.url],
  });
  const coord = await startCoordinator({
    host: "127.0.0.1",
    port: 0,
    dbPath: join(dir, "coordinator.sqlite"),
    publishers: [publisher.did],
    ...o.coordinator,
  });
  await uploadManifest(coord.url, publisher, pub.manifestPath);
  const link = await BrowserLink.open(`${coord.url.replace(/^http/, "ws")}/ws/browser`);
  return {
    dir,
    origin,
    coord,
    link,
    contentId: pub.contentId,
    chunks: new Map(pub.manifest.files.map((f) => [f.path!, f.chunks.map((c) => c.id)])),
    async close() {
      link.close();
      await coord.close();
      await origin.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

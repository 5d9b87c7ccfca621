// The demo's origin: a plain HTTP server on 127.0.0.1 for the stream, the signed manifest, the
// player page, hls.js and the SDK bundle. It counts the segment bytes it serves: what the fog
// did not carry came from here.
import { readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize } from "node:path";

export interface Origin {
  url: string;
  /** Segment (.ts) bytes served so far, full and ranged. */
  segmentBytes(): number;
  /**
   * Segment bytes served again for a byte range served before (the same file and range): the
   * nodes' fills fetch ranges, so this is the fog filling a chunk from the origin twice.
   */
  repeatRangeBytes(): number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  ".m3u8": "application/vnd.apple.mpegurl",
  ".ts": "video/mp2t",
  ".json": "application/json",
  ".js": "text/javascript",
  ".html": "text/html; charset=utf-8",
};

/**
 * Serves `root` (media + manifest.json) plus `extra` in-memory files (page, scripts).
 * `delayMs` holds every response that long first: an origin farther away than loopback.
 */
export async function startOrigin(
  root: string,
  extra: Record<string, string | Buffer>,
  { delayMs = 0 }: { delayMs?: number } = {},
): Promise<Origin> {
  let segBytes = 0;
  let repeatBytes = 0;
  const rangesServed = new Set<string>(); // "<path> <first>-<last>" of segment ranges
  const server: Server = createServer((req, res) => {
    if (delayMs > 0) setTimeout(() => serve(req, res), delayMs);
    else serve(req, res);
  });
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const path = normalize(decodeURIComponent((req.url ?? "/").split("?")[0]!));
    const headers = { "access-control-allow-origin": "*", "cache-control": "no-store" };
    const dot = path.lastIndexOf(".");
    const ext = path === "/" ? ".html" : dot >= 0 ? path.slice(dot) : "";
    let body: Buffer;
    if (extra[path] !== undefined) {
      body = Buffer.from(extra[path]!);
    } else {
      const file = join(root, path);
      if (!file.startsWith(root) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
        res.writeHead(404, headers).end();
        return;
      }
      body = readFileSync(file);
    }
    const type = TYPES[ext] ?? "application/octet-stream";
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (m) {
      const first = Number(m[1]);
      const last = Math.min(m[2] ? Number(m[2]) : body.length - 1, body.length - 1);
      if (first > last) {
        res.writeHead(416, { ...headers, "content-range": `bytes */${body.length}` }).end();
        return;
      }
      if (ext === ".ts") {
        segBytes += last - first + 1;
        const key = `${path} ${first}-${last}`;
        if (rangesServed.has(key)) repeatBytes += last - first + 1;
        rangesServed.add(key);
      }
      res
        .writeHead(206, {
          ...headers,
          "content-type": type,
          "content-range": `bytes ${first}-${last}/${body.length}`,
        })
        .end(body.subarray(first, last + 1));
      return;
    }
    if (ext === ".ts") segBytes += body.length;
    res.writeHead(200, { ...headers, "content-type": type }).end(body);
  };
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    segmentBytes: () => segBytes,
    repeatRangeBytes: () => repeatBytes,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

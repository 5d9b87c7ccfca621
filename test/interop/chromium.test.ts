// pear-fogd against Debian's Chromium, headless, driven by playwright-core: the page opens a
// data channel to pear-fogd through offer/answer and fetches chunks with the SDK's chunk client;
// SHA-256 is checked in the page (WebCrypto) and again in Node.
import { build } from "esbuild";
import { createServer, type Server } from "node:http";
import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../support/chromium";
import { randomChunk, startPearFogd, type PearFogd } from "../support/pear-fogd";

declare global {
  interface Window {
    PearFogTest: {
      offer(): Promise<string>;
      answer(sdp: string): Promise<void>;
      fetchAll(
        ids: string[],
        inflight: number,
      ): Promise<{ hashes: string[]; bytes: number; ms: number }>;
    };
  }
}

// Runs in the page: the SDK chunk client over a real RTCPeerConnection.
const PAGE_ENTRY = `
import { ChunkClient } from "${resolve(__dirname, "../../src/sdk/chunk-client.ts")}";
let pc, dc, client;
const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
const bytes = (h) => Uint8Array.from(h.match(/../g).map((x) => parseInt(x, 16)));
window.PearFogTest = {
  async offer() {
    pc = new RTCPeerConnection();
    dc = pc.createDataChannel("pear-fog-chunks");
    await pc.setLocalDescription(await pc.createOffer());
    return pc.localDescription.sdp;
  },
  async answer(sdp) {
    await pc.setRemoteDescription({ type: "answer", sdp });
    await new Promise((res, rej) => {
      if (dc.readyState === "open") return res();
      const t = setTimeout(() => rej(new Error("open timeout; ice=" + pc.iceConnectionState)), 10000);
      dc.onopen = () => { clearTimeout(t); res(); };
    });
    client = new ChunkClient(dc, { requestTimeoutMs: 60000 });
  },
  async fetchAll(ids, inflight) {
    const hashes = new Array(ids.length);
    let next = 0, total = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: inflight }, async () => {
      while (next < ids.length) {
        const i = next++;
        const b = await client.get(bytes(ids[i]));
        hashes[i] = hex(await crypto.subtle.digest("SHA-256", b));
        total += b.length;
      }
    }));
    return { hashes, bytes: total, ms: performance.now() - t0 };
  },
};
`;

describe("pear-fogd ⇄ Chromium", () => {
  let node: PearFogd;
  let browser: Browser;
  let page: Page;
  let server: Server;

  beforeAll(async () => {
    node = await startPearFogd();
    const bundle = await build({
      stdin: { contents: PAGE_ENTRY, resolveDir: __dirname, loader: "js" },
      bundle: true,
      format: "iife",
      write: false,
      platform: "browser",
    });
    const js = bundle.outputFiles[0]!.text;
    server = createServer((req, res) => {
      if (req.url === "/test.js") {
        res.writeHead(200, { "content-type": "text/javascript" }).end(js);
      } else {
        res
          .writeHead(200, { "content-type": "text/html" })
          .end(`<!doctype html><script src="/test.js"></script>`);
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => window.PearFogTest !== undefined);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
    expect(await node.stop(), node.log()).toBe(0);
  });

  it("opens a data channel and fetches 16 MiB, hashes checked in the page", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 64; i++) ids.push(await node.putChunk(randomChunk(256 * 1024)));
    const offer = await page.evaluate(() => window.PearFogTest.offer());
    const r = await node.ctl.request("offer", { sdp: offer });
    await page.evaluate((sdp) => window.PearFogTest.answer(sdp), r.sdp as string);
    const got = await page.evaluate((list) => window.PearFogTest.fetchAll(list, 4), ids);
    expect(got.hashes).toEqual(ids);
    expect(got.bytes).toBe(16 * 1024 * 1024);
  }, 60_000);
});

// Warm-up for the demo: an earlier viewer's requests. It asks the coordinator for every chunk
// of the content (browser.find over /ws/browser), which makes the content popular; placement
// then tells nodes to hold it, they fill from the origin, and their heartbeats index it. Returns
// when every chunk has a holder (or the deadline passes), with the share covered.
import WebSocket from "ws";
import { decodeCoordinatorToBrowser, encodeMessage, LIMITS } from "../../src/protocol/messages";

export async function warmUp(
  browserWsUrl: string,
  content: string,
  chunks: string[],
  deadlineMs: number,
): Promise<number> {
  const ws = new WebSocket(browserWsUrl);
  await new Promise<void>((res, rej) => {
    ws.once("open", () => res());
    ws.once("error", rej);
  });
  ws.send(encodeMessage({ t: "browser.hello", version: "demo-warmup" }));
  let req = 0;
  const replies = new Map<number, (held: Set<number>) => void>();
  ws.on("message", (data) => {
    try {
      const msg = decodeCoordinatorToBrowser(String(data));
      if (msg.t === "browser.found") {
        replies.get(msg.req)?.(new Set(msg.nodes.flatMap((n) => n.has)));
        replies.delete(msg.req);
      }
    } catch {
      /* other messages are not the warm-up's business */
    }
  });
  const find = (batch: string[]) =>
    new Promise<number>((res) => {
      const id = ++req;
      const timer = setTimeout(() => (replies.delete(id), res(0)), 2000);
      replies.set(id, (held) => (clearTimeout(timer), res(held.size)));
      ws.send(encodeMessage({ t: "browser.find", req: id, content, chunks: batch }));
    });
  const end = Date.now() + deadlineMs;
  let covered = 0;
  try {
    while (Date.now() < end) {
      covered = 0;
      for (let i = 0; i < chunks.length; i += LIMITS.findChunks) {
        covered += await find(chunks.slice(i, i + LIMITS.findChunks));
      }
      if (covered === chunks.length) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    ws.close();
  }
  return chunks.length ? covered / chunks.length : 1;
}

// The segment bench's second kind of node: Google's libwebrtc (@roamhq/wrtc) as the data-channel
// server, in a process of its own like pear-fogd, serving the chunk protocol from memory with the
// same framing as pear-fogd (DATA frames of up to 64 KiB). It answers what a WebRTC stack that
// is not ours does with the same viewer, so the bench can tell pear-fogd's cost apart from
// WebRTC's own.
//   child:  tsx bench/segment/libwebrtc-node.ts CHUNKS BYTES  → prints {"ids":[hex…]} once, then
//           answers each stdin line {"offer":sdp} with {"answer":sdp}
//   parent: startLibwebrtcNode(chunks, bytes)
import { createHash, randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { answerOffer, PEARFOGD_DATA_PIECE, type ServeLog } from "../../test/sdk/fog-node";
import { childLines, spawnModule, stopChild } from "../swarm/child";

export interface LibwebrtcNode {
  pid: number;
  /** The chunks it serves (hex SHA-256 ids). */
  ids: string[];
  /** Answers an offer (the data channel is "pear-fog-chunks"). */
  answer(offerSdp: string): Promise<{ sdp: string; session: string }>;
  close(): Promise<void>;
}

export async function startLibwebrtcNode(chunks: number, bytes: number): Promise<LibwebrtcNode> {
  const child = spawnModule(fileURLToPath(import.meta.url), [String(chunks), String(bytes)]);
  // One JSON line per question, in order.
  const line = childLines(child, "libwebrtc node");
  const next = async () => {
    const l = await line();
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`libwebrtc node said: ${l} (${String(e)})`);
    }
  };
  const first = await next();
  if (!Array.isArray(first.ids)) throw new Error(`libwebrtc node said: ${JSON.stringify(first)}`);
  let sessions = 0;
  return {
    pid: child.pid ?? 0,
    ids: first.ids as string[],
    async answer(offerSdp) {
      const reply = next();
      child.stdin!.write(`${JSON.stringify({ offer: offerSdp })}\n`);
      const r = await reply;
      if (typeof r.answer !== "string") throw new Error(`libwebrtc node: ${JSON.stringify(r)}`);
      return { sdp: r.answer, session: `libwebrtc-${++sessions}` };
    },
    close: () => stopChild(child),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [n = "64", size = "65536"] = process.argv.slice(2);
  const chunks = new Map<string, Uint8Array>();
  for (let i = 0; i < Number(n); i++) {
    const b = new Uint8Array(randomBytes(Number(size)));
    chunks.set(createHash("sha256").update(b).digest("hex"), b);
  }
  const log: ServeLog = { gets: [], bytes: 0 };
  const peers: RTCPeerConnection[] = [];
  process.stdout.write(`${JSON.stringify({ ids: [...chunks.keys()] })}\n`);
  // One offer at a time, answered in order (the parent matches answers to questions by order).
  let queue = Promise.resolve();
  createInterface({ input: process.stdin }).on("line", (l) => {
    queue = queue.then(async () => {
      try {
        const { offer } = JSON.parse(l) as { offer: string };
        const sdp = await answerOffer(
          offer,
          chunks,
          { pieceBytes: PEARFOGD_DATA_PIECE },
          log,
          peers,
        );
        process.stdout.write(`${JSON.stringify({ answer: sdp })}\n`);
      } catch (e) {
        process.stdout.write(`${JSON.stringify({ error: String(e) })}\n`);
      }
    });
  });
  const quit = () => {
    for (const pc of peers) pc.close();
    process.exit(0);
  };
  process.stdin.on("end", quit);
  process.on("SIGTERM", quit);
}

// The swarm bench's origin in a process of its own (`originProcess: 1`): a real origin is
// another machine, and an origin inside the bench process would answer the HTTP-only viewers
// without a single hop between processes, while every fog segment crosses to pear-fogd and back.
//   child:  npx tsx bench/swarm/origin-process.ts DIR DELAY_MS   → prints "url <url>"; answers
//           each stdin line "bytes" with "bytes <segment bytes served so far> <of them, ranges
//           served before>"
//   parent: startOriginProcess(dir, delayMs)
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { childLines, spawnModule, stopChild } from "./child";
import { startOrigin } from "../../scripts/demo/origin";

export interface OriginProcess {
  url: string;
  pid: number;
  /**
   * [segment bytes served so far, of them bytes of ranges served before] (Origin.segmentBytes,
   * Origin.repeatRangeBytes), in one question to the child.
   */
  counts(): Promise<[number, number]>;
  close(): Promise<void>;
}

export async function startOriginProcess(dir: string, delayMs: number): Promise<OriginProcess> {
  const child = spawnModule(fileURLToPath(import.meta.url), [dir, String(delayMs)]);
  // Its answers come one line per question, in order; an exit fails every question open.
  const next = childLines(child, "origin process");
  const first = await next();
  if (!first.startsWith("url ")) throw new Error(`origin process said: ${first}`);
  return {
    url: first.slice(4),
    pid: child.pid ?? 0,
    async counts() {
      const answer = next();
      child.stdin!.write("bytes\n");
      const [, bytes, repeat] = (await answer).split(" ").map(Number);
      return [bytes!, repeat!];
    },
    close: () => stopChild(child),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [dir, delay = "0"] = process.argv.slice(2);
  const origin = await startOrigin(dir!, {}, { delayMs: Number(delay) });
  process.stdout.write(`url ${origin.url}\n`);
  createInterface({ input: process.stdin }).on("line", (l) => {
    if (l === "bytes") {
      process.stdout.write(`bytes ${origin.segmentBytes()} ${origin.repeatRangeBytes()}\n`);
    }
  });
  process.stdin.on("end", () => process.exit(0));
  process.on("SIGTERM", () => process.exit(0));
}

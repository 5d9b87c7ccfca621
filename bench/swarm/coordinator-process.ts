// The swarm bench's coordinator in a process of its own (`coordinatorProcess: 1`): a real
// coordinator is a server elsewhere, and one inside the bench process would answer the fog
// viewers' finds and relay their offers on the event loop that also runs every viewer (the
// HTTP-only viewers have no such work), and count its CPU as theirs.
//   child:  npx tsx bench/swarm/coordinator-process.ts OPTIONS_JSON → prints "url <url>"
//   parent: startCoordinatorProcess(options)
import { fileURLToPath } from "node:url";
import { childLines, spawnModule, stopChild } from "./child";
import { startCoordinator, type StartOptions } from "../../src/coordinator/main";

export interface CoordinatorProcess {
  url: string;
  pid: number;
  close(): Promise<void>;
}

/** `options` must be JSON (no verifier, no clock: the defaults). */
export async function startCoordinatorProcess(options: StartOptions): Promise<CoordinatorProcess> {
  const child = spawnModule(fileURLToPath(import.meta.url), [JSON.stringify(options)]);
  const first = await childLines(child, "coordinator process")();
  if (!first.startsWith("url ")) throw new Error(`coordinator process said: ${first}`);
  return {
    url: first.slice(4),
    pid: child.pid ?? 0,
    close: () => stopChild(child),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const c = await startCoordinator(JSON.parse(process.argv[2]!) as StartOptions);
  process.stdout.write(`url ${c.url}\n`);
  const stop = () => void c.close().then(() => process.exit(0));
  process.stdin.on("end", stop);
  process.on("SIGTERM", stop);
}

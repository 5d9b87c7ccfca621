// One fog node as its own process for `npm run bench -- jobs`: a real pear-fogd (release) and
// the agent on the Node platform, one task slot. Prints "ready <did>" and runs until SIGTERM.
//   npx tsx bench/jobs/node.ts <coordinator http url> [slots]
import { startDemoNode } from "../../scripts/demo/node";

const [url, slots = "1"] = process.argv.slice(2);
if (!url) {
  process.stderr.write("usage: node.ts COORDINATOR_URL [SLOTS]\n");
  process.exit(2);
}
const node = await startDemoNode(url, { agent: { tickMs: 500, jobs: { slots: Number(slots) } } });
const c0 = process.cpuUsage();
process.stdout.write(`ready ${node.did}\ncpu0 ${(c0.user + c0.system) / 1000}\n`);
const stop = () => {
  const j = node.agent.stats().jobs;
  const cpu = process.cpuUsage(); // the whole process: main thread and the task workers
  process.stdout.write(`cpu ${(cpu.user + cpu.system) / 1000}\n`);
  process.stderr.write(
    `node ${node.did.slice(-8)}: ran ${j.ran}, failed ${JSON.stringify(j.failed)}\n`,
  );
  node.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

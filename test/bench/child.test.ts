// childLines (bench/swarm/child.ts): a helper process's stdout lines as answers, in order; a
// line printed before anyone asked is kept; once the child has exited, a wait rejects.
import { spawn } from "node:child_process";
import { expect, it } from "vitest";
import { childLines } from "../../bench/swarm/child";

it("hands out lines in order, keeps early ones, and rejects once the child has exited", async () => {
  const child = spawn(process.execPath, ["-e", "console.log('one'); console.log('two')"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const next = childLines(child, "test child");
  await new Promise((r) => child.once("close", r)); // both lines printed before the first ask
  expect(await next()).toBe("one");
  expect(await next()).toBe("two");
  await expect(next()).rejects.toThrow("test child exited (0)");
});

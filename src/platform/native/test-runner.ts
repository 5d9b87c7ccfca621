// Runs the unit tests bundled by `make agent-tests` inside pear-fogd and reports on its log:
// one `agent-test ok|FAIL "<name as JSON>"[ error]` line per test, then
// "agent-tests: N passed, M failed".
// test/native/agent-suite.test.ts reads these lines.
import * as fog from "pear-fog:native";
import { runRegistered } from "./vitest-shim";

export async function runTestsAndReport(): Promise<void> {
  const results = await runRegistered();
  for (const r of results) {
    if (r.ok) fog.log("info", `agent-test ok ${JSON.stringify(r.name)}`);
    else fog.log("error", `agent-test FAIL ${JSON.stringify(r.name)} ${r.error ?? ""}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  fog.log("info", `agent-tests: ${results.length - failed} passed, ${failed} failed`);
}

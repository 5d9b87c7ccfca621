// Edge-compute apps end to end: a signed app deployed through a real coordinator to a real
// pear-fogd (its embedded agent verifies again and starts a sandbox thread) → running; tampered
// and malformed deploys refused with typed errors; stop/start; update with rollback when the new
// version throws at start; a memory hog is stopped while its neighbour keeps running; the router
// owner lists and stops apps over the control socket; delete.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeKeyFile } from "../../src/protocol/ed25519";
import { startAppsWorld, type AppsWorld } from "./world";

const ROOT = join(import.meta.dirname, "../..");

/** `pear-fog ARGS` from the built CLI bundle: exit code and output. */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, "dist", "pear-fog.mjs"), ...args],
      { encoding: "utf8" },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const res = { memoryMiB: 4, cpuShares: 1024, uploadKiBps: 0, storageMiB: 1 };

describe("apps through the coordinator on a real pear-fogd", () => {
  let w: AppsWorld;
  const hello = enc(
    "pear.kv.set('boots', String(Number(pear.kv.get('boots') || 0) + 1)); console.log('hello up');",
  );
  const helloDesc = { name: "hello", version: "1.0.0", resources: res, capabilities: { kv: true } };

  beforeAll(async () => {
    w = await startAppsWorld();
  }, 120_000);
  afterAll(async () => {
    await w?.close();
  });

  it("deploys a signed app: coordinator → node → running; the owner sees it", async () => {
    const m = w.manifest(helloDesc, hello);
    const r = await w.api("POST", "/api/apps", w.deployBody(m, hello));
    expect(r.status).toBe(202);
    expect((r.json as { state: string }).state).toBe("deploying");
    const v = await w.waitApp("hello", (a) => a.state === "running");
    expect(v.node).toBe(w.nodeId);
    const list = await w.d.ctl.request("app_list");
    expect(list.apps).toEqual([
      expect.objectContaining({ name: "hello", version: "1.0.0", state: "running" }),
    ]);
    const logs = await w.api("GET", "/api/apps/hello/logs");
    expect((logs.json as { text: string }).text).toMatch(/hello up/);
  }, 60_000);

  it("refuses tampered bundles, tampered manifests and malformed requests with typed errors", async () => {
    const m = w.manifest({ ...helloDesc, name: "evil" }, hello);
    const tampered = await w.api("POST", "/api/apps", w.deployBody(m, enc("while(1){}")));
    expect([tampered.status, (tampered.json as { error: string }).error]).toEqual([
      422,
      "bad_bundle",
    ]);
    const more = { ...m, resources: { ...m.resources, memoryMiB: 200 } };
    const forged = await w.api("POST", "/api/apps", w.deployBody(more, hello));
    expect([forged.status, (forged.json as { error: string }).error]).toEqual([
      422,
      "bad_signature",
    ]);
    const bad = await w.api("POST", "/api/apps", { manifest: { name: "x" }, bundle: "" });
    expect((bad.json as { error: string }).error).toBe("invalid");
    const junk = await w.api("POST", "/api/apps", "not an object");
    expect(junk.status).toBe(400);
    const unsigned = await fetch(`${w.coordUrl}/api/apps`, { method: "POST", body: "{}" });
    expect(unsigned.status).toBe(401);
    expect((await w.api("GET", "/api/apps/evil")).status).toBe(404);
  });

  it("stops and starts", async () => {
    expect((await w.api("POST", "/api/apps/hello/stop", {})).status).toBe(202);
    await w.waitApp("hello", (a) => a.state === "stopped");
    expect((await w.d.ctl.request("app_list")).apps).toEqual([]);
    expect((await w.api("POST", "/api/apps/hello/start", {})).status).toBe(202);
    await w.waitApp("hello", (a) => a.state === "running");
  }, 30_000);

  it("an update that fails to start rolls back to the previous version", async () => {
    const v2 = enc("throw new Error('v2 is broken')");
    const m2 = w.manifest({ ...helloDesc, version: "2.0.0" }, v2);
    expect((await w.api("PUT", "/api/apps/hello", w.deployBody(m2, v2))).status).toBe(202);
    const v = await w.waitApp("hello", (a) => a.rolledBack !== undefined && a.state === "running");
    expect(v.version).toBe("1.0.0");
    expect(v.rolledBack).toEqual({
      from: "2.0.0",
      reason: expect.stringMatching(/throw: .*v2 is broken/),
    });
    // a good update goes through
    const v3 = enc("console.log('v3')");
    const m3 = w.manifest({ ...helloDesc, version: "3.0.0" }, v3);
    expect((await w.api("PUT", "/api/apps/hello", w.deployBody(m3, v3))).status).toBe(202);
    await w.waitApp("hello", (a) => a.state === "running" && a.version === "3.0.0");
  }, 30_000);

  it("a memory hog is stopped at its limit; its neighbour keeps running", async () => {
    const hog = enc(
      "const a = []; (function f() { a.push(new Uint8Array(256 << 10)); setTimeout(f, 1) })()",
    );
    const m = w.manifest(
      { name: "hog", version: "1", resources: { ...res, memoryMiB: 2 }, capabilities: {} },
      hog,
    );
    expect((await w.api("POST", "/api/apps", w.deployBody(m, hog))).status).toBe(202);
    const v = await w.waitApp("hog", (a) => a.state === "failed");
    expect(v.reason).toMatch(/^memory/);
    expect((await w.api("GET", "/api/apps/hello")).json).toMatchObject({ state: "running" });
    const names = ((await w.d.ctl.request("app_list")).apps as { name: string }[]).map(
      (a) => a.name,
    );
    expect(names).toEqual(["hello"]);
    expect((await w.api("DELETE", "/api/apps/hog")).status).toBe(200);
  }, 30_000);

  it("pear-fog app: deploy --wait, status, logs, stop --wait, delete; an error is one line", async () => {
    execFileSync(process.execPath, [join(ROOT, "scripts", "build.mjs"), "cli"], {
      stdio: "ignore",
    });
    const dir = mkdtempSync(join(tmpdir(), "pear-fog-app-cli-"));
    writeFileSync(join(dir, "dev.key"), encodeKeyFile(w.dev));
    writeFileSync(join(dir, "bundle.js"), "console.log('from the cli')");
    writeFileSync(
      join(dir, "app.json"),
      JSON.stringify({ name: "cli-app", version: "0.1.0", resources: res, capabilities: {} }),
    );
    const common = ["--key", join(dir, "dev.key"), "--coordinator", w.coordUrl];
    const dep = await cli(
      "app",
      "deploy",
      join(dir, "bundle.js"),
      "--app",
      join(dir, "app.json"),
      "--wait",
      ...common,
    );
    expect(dep.code, dep.stderr).toBe(0);
    expect(JSON.parse(dep.stdout)).toMatchObject({
      name: "cli-app",
      state: "running",
      version: "0.1.0",
    });
    const st = await cli("app", "status", ...common);
    expect((JSON.parse(st.stdout) as { name: string }[]).map((a) => a.name)).toContain("cli-app");
    const logs = await cli("app", "logs", "cli-app", ...common);
    expect(logs.stdout).toMatch(/from the cli/);
    const stop = await cli("app", "stop", "cli-app", "--wait", ...common);
    expect(JSON.parse(stop.stdout)).toMatchObject({ state: "stopped" });
    expect((await cli("app", "delete", "cli-app", ...common)).code).toBe(0);
    const gone = await cli("app", "status", "cli-app", ...common);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^pear-fog: app: .*404 not_found/),
    ]);
    const usage = await cli("app", "dance", ...common);
    expect(usage.code).toBe(2);
  }, 60_000);

  it("the router owner stops an app over the control socket; delete removes it", async () => {
    await w.d.ctl.request("app_stop", { name: "hello" });
    const v = await w.waitApp("hello", (a) => a.state === "stopped");
    expect(v.reason).toBe("owner_stopped");
    await expect(w.d.ctl.request("app_stop", { name: "nope" })).rejects.toThrow(/not_found/);
    expect((await w.api("DELETE", "/api/apps/hello")).status).toBe(200);
    expect((await w.api("GET", "/api/apps/hello")).status).toBe(404);
    expect((await w.api("GET", "/api/apps")).json).toEqual([]);
  }, 30_000);
});

import { describe, expect, it } from "vitest";
import { ReplayCache, verifyApiRequest } from "../coordinator/api-auth";
import { generateKeyPair } from "../protocol/ed25519";
import { JobError, JobsClient } from "./jobs-client";

/** A client of a publisher key that talks through `fake` instead of the network. */
function clientOver(fake: unknown, kp = generateKeyPair()): JobsClient {
  const fetch = fake as typeof globalThis.fetch;
  return new JobsClient({ coordinatorUrl: "http://coord/", did: kp.did, seed: kp.seed, fetch });
}

describe("JobsClient", () => {
  it("signs requests the coordinator's api-auth accepts, and maps HTTP errors to JobError codes", async () => {
    const kp = generateKeyPair();
    const replay = new ReplayCache();
    const seen: string[] = [];
    const fake = (async (url: string, init: RequestInit) => {
      const path = new URL(url).pathname;
      const body = init.body ? new Uint8Array(init.body as Uint8Array) : new Uint8Array(0);
      const headers = init.headers as Record<string, string>;
      const v = verifyApiRequest(
        headers.authorization,
        init.method!,
        path,
        body,
        Date.now(),
        60_000,
        replay,
      );
      seen.push(`${init.method} ${path} ${v.ok ? "ok" : v.reason}`);
      if (path === "/api/jobs")
        return new Response(JSON.stringify({ jobId: "J", tasks: 2 }), { status: 201 });
      if (path === "/api/jobs/J") return new Response(JSON.stringify({ state: "done" }));
      if (path === "/api/jobs/J/results")
        return new Response(
          JSON.stringify({ state: "done", results: [{ ok: 2 }, { error: "throw" }] }),
        );
      return new Response(JSON.stringify({ error: "busy", detail: "full" }), { status: 503 });
    }) as unknown as typeof fetch;
    const c = clientOver(fake, kp);
    const e = await c
      .execute([1, "x"], (x: number) => x * 2, { pollMs: 1 })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(JobError);
    expect((e as JobError).code).toBe("task_failed");
    expect((e as JobError).results).toEqual([2, undefined]);
    expect((e as JobError).failures).toEqual([{ index: 1, error: "throw" }]);
    expect(seen).toEqual(["POST /api/jobs ok", "GET /api/jobs/J ok", "GET /api/jobs/J/results ok"]);
    await expect(c.status("other")).rejects.toMatchObject({ code: "busy" });
  });

  it("rides out a coordinator restart: polls through refused connections, resubmits a job it lost", async () => {
    const seen: string[] = [];
    let jobs = 0;
    let phase: "up" | "down" | "restarted" = "up";
    const fake = (async (url: string, init: RequestInit) => {
      const path = new URL(url).pathname;
      seen.push(`${phase} ${init.method} ${path}`);
      if (phase === "down") {
        phase = "restarted";
        throw new TypeError("fetch failed (ECONNREFUSED)");
      }
      if (path === "/api/jobs") {
        jobs++;
        return new Response(JSON.stringify({ jobId: `J${jobs}`, tasks: 1 }), { status: 201 });
      }
      if (phase === "up") {
        phase = "down"; // the coordinator goes away after the first poll
        return new Response(JSON.stringify({ state: "running" }));
      }
      if (path === "/api/jobs/J1")
        return new Response(JSON.stringify({ error: "not_found", detail: "no job" }), {
          status: 404,
        });
      if (path === "/api/jobs/J2") return new Response(JSON.stringify({ state: "done" }));
      return new Response(JSON.stringify({ state: "done", results: [{ ok: 4 }] }));
    }) as unknown as typeof fetch;
    const c = clientOver(fake);
    await expect(c.execute([2], (x: number) => x * 2, { pollMs: 1 })).resolves.toEqual([4]);
    expect(seen).toEqual([
      "up POST /api/jobs",
      "up GET /api/jobs/J1",
      "down GET /api/jobs/J1",
      "restarted GET /api/jobs/J1",
      "restarted POST /api/jobs",
      "restarted GET /api/jobs/J2",
      "restarted GET /api/jobs/J2/results",
    ]);
    // With no resubmits left, the lost job is an error naming it.
    phase = "restarted";
    jobs = 0;
    const lost = clientOver(fake);
    await expect(
      lost.execute([2], (x: number) => x * 2, { pollMs: 1, resubmits: 0 }),
    ).rejects.toMatchObject({ code: "not_found" });
  });
});

import { describe, expect, it } from "vitest";
import { resolveConfig, SDK_DEFAULTS, SdkError } from "./config";

const base = { coordinator: "wss://c.example/ws/browser", manifestUrl: "https://o.example/m.json" };

describe("resolveConfig", () => {
  it("merges options over the defaults", () => {
    const cfg = resolveConfig({ ...base, maxNodes: 5 });
    expect(cfg).toMatchObject({ ...SDK_DEFAULTS, ...base, maxNodes: 5 });
  });

  it.each([
    [{ coordinator: "http://c.example/ws" }, /coordinator/],
    [{ manifestUrl: "" }, /manifestUrl/],
    [{ maxNodes: 0 }, /maxNodes/],
    [{ maxInflightPerNode: 1.5 }, /maxInflightPerNode/],
    [{ stealFactor: 0.5 }, /stealFactor/],
    [{ stealFactor: -1 }, /stealFactor/],
    [{ stealFactor: Number.POSITIVE_INFINITY }, /stealFactor/],
    [{ stealFactor: Number.NaN }, /stealFactor/],
    [{ preconnect: 1 as unknown as boolean }, /preconnect/],
    [{ deadlineFraction: 0 }, /deadlineFraction/],
    [{ deadlineFraction: 1.5 }, /deadlineFraction/],
    [{ minDeadlineMs: 5000, maxDeadlineMs: 1000 }, /minDeadlineMs/],
  ])("refuses %j", (bad, re) => {
    let err: unknown;
    try {
      resolveConfig({ ...base, ...bad });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SdkError);
    expect((err as SdkError).code).toBe("bad_option");
    expect((err as SdkError).message).toMatch(re);
  });
});

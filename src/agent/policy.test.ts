import { describe, expect, it } from "vitest";
import { parseHours } from "./config";
import { addServed, decideSharing, parseUsage, usageFor } from "./policy";

const cfg = (o: Partial<Parameters<typeof decideSharing>[0]> = {}) => ({
  sharing: true,
  hours: [],
  monthlyCapBytes: 0,
  ...o,
});
const at = (hhmm: string, month = "2026-11") => {
  const [h, m] = hhmm.split(":").map(Number) as [number, number];
  return { minuteOfDay: h * 60 + m, month };
};
const none = { month: "2026-11", bytes: 0 };

describe("decideSharing", () => {
  it("is off when the owner has not switched sharing on, whatever the hours", () => {
    expect(decideSharing(cfg({ sharing: false }), at("03:00"), none)).toEqual({
      share: false,
      reason: "disabled",
    });
  });

  it("follows hours windows, including one that wraps midnight", () => {
    const c = cfg({
      hours: [parseHours("hours", "22:00-07:00"), parseHours("hours", "12:00-13:00")],
    });
    expect(decideSharing(c, at("23:59"), none).share).toBe(true);
    expect(decideSharing(c, at("00:00"), none).share).toBe(true);
    expect(decideSharing(c, at("06:59"), none).share).toBe(true);
    expect(decideSharing(c, at("07:00"), none)).toEqual({ share: false, reason: "outside_hours" });
    expect(decideSharing(c, at("12:30"), none).share).toBe(true);
    expect(decideSharing(c, at("13:00"), none).share).toBe(false);
    expect(decideSharing(c, at("21:59"), none).share).toBe(false);
  });

  it("stops at the monthly cap and starts again when the month rolls over", () => {
    const c = cfg({ monthlyCapBytes: 1000 });
    let u = addServed(none, "2026-11", 999);
    expect(decideSharing(c, at("10:00"), u).share).toBe(true);
    u = addServed(u, "2026-11", 1);
    expect(decideSharing(c, at("10:00"), u)).toEqual({ share: false, reason: "monthly_cap" });
    expect(decideSharing(c, at("00:01", "2026-12"), u).share).toBe(true);
    expect(addServed(u, "2026-12", 5)).toEqual({ month: "2026-12", bytes: 5 });
    expect(usageFor(u, "2026-11")).toBe(u);
  });

  it("ignores negative deltas (a restarted daemon's counter went back to zero)", () => {
    expect(addServed({ month: "2026-11", bytes: 10 }, "2026-11", -5).bytes).toBe(10);
  });
});

describe("parseUsage", () => {
  it("reads what the agent writes and refuses junk", () => {
    expect(parseUsage(JSON.stringify({ month: "2026-11", bytes: 42 }))).toEqual({
      month: "2026-11",
      bytes: 42,
    });
    expect(parseUsage("{")).toBeNull();
    expect(parseUsage(JSON.stringify({ month: "Nov", bytes: 1 }))).toBeNull();
    expect(parseUsage(JSON.stringify({ month: "2026-11", bytes: -1 }))).toBeNull();
    expect(parseUsage(JSON.stringify({ month: "2026-11", bytes: 1.5 }))).toBeNull();
  });
});

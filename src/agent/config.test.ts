import { describe, expect, it } from "vitest";
import {
  AGENT_CONFIG_DEFAULTS,
  ConfigError,
  formatAgentConfig,
  parseAgentConfig,
  parseHours,
  parseRate,
  parseSize,
  withinHours,
} from "./config";

const FULL = `
config pear-fog 'main'
	option sharing 'yes'
	option upload_cap '5mbit'
	option monthly_cap '200G'
	list hours '00:00-07:00'
	list hours '22:30-24:00'
	option store_path '/mnt/sda1/pear-fog'
	option store_size '1536M'
	option coordinator 'wss://fog.example.net/ws/node'
	option key_path '/etc/pear-fog/node.key'
	option job_slots '2'
	option future_option 'ignored'
`;

function errorOf(text: string): ConfigError {
  try {
    parseAgentConfig(text);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("no error");
}

describe("agent config", () => {
  it("reads every option", () => {
    expect(parseAgentConfig(FULL)).toEqual({
      sharing: true,
      uploadCapBps: 625_000,
      monthlyCapBytes: 200 * 1024 ** 3,
      hours: [
        { startMin: 0, endMin: 420 },
        { startMin: 1350, endMin: 1440 },
      ],
      storePath: "/mnt/sda1/pear-fog",
      storeSizeBytes: Math.floor(1.5 * 1024 ** 3),
      coordinatorUrl: "wss://fog.example.net/ws/node",
      keyPath: "/etc/pear-fog/node.key",
      jobSlots: 2,
    });
  });

  it("uses defaults for missing options and a missing section", () => {
    expect(parseAgentConfig("config pear-fog 'main'\n")).toEqual(AGENT_CONFIG_DEFAULTS);
    expect(parseAgentConfig("# nothing\n")).toEqual(AGENT_CONFIG_DEFAULTS);
    expect(parseAgentConfig("config pear-fog\n option sharing 1\n").sharing).toBe(true);
  });

  it("names the bad option", () => {
    const cases: [string, string][] = [
      ["option sharing 'maybe'", "sharing"],
      ["option upload_cap 'fast'", "upload_cap"],
      ["option upload_cap '0mbit'", "upload_cap"],
      ["option monthly_cap '10X'", "monthly_cap"],
      ["list hours '25:00-26:00'", "hours"],
      ["list hours '7-9'", "hours"],
      ["option store_path 'relative/dir'", "store_path"],
      ["option store_size '0'", "store_size"],
      ["option coordinator 'http://x/ws'", "coordinator"],
      ["option coordinator 'not a url'", "coordinator"],
      ["option key_path 'key'", "key_path"],
      ["option job_slots '17'", "job_slots"],
      ["option job_slots '-1'", "job_slots"],
    ];
    for (const [line, option] of cases) {
      const e = errorOf(`config pear-fog main\n\t${line}\n`);
      expect(e.option, line).toBe(option);
      expect(e.message, line).toContain(`pear-fog.${option}=`);
    }
  });

  it("parses rates, sizes and hours", () => {
    expect(parseRate("r", "500kbit")).toBe(62_500);
    expect(parseRate("r", "2MB/s")).toBe(2 * 1024 * 1024);
    expect(parseRate("r", "0")).toBe(0);
    expect(() => parseRate("r", "1bit")).toThrow(ConfigError);
    expect(() => parseRate("r", "5mbps")).toThrow(ConfigError);
    expect(parseRate("r", "1gbit")).toBe(125_000_000);
    expect(parseRate("r", "250000")).toBe(250_000);
    expect(parseSize("s", "512M")).toBe(512 * 1024 * 1024);
    expect(parseSize("s", "1GiB")).toBe(1024 ** 3);
    expect(() => parseSize("s", "1 GiB")).toThrow(ConfigError);
    expect(() => parseSize("s", "1.5G")).toThrow(ConfigError);
    expect(parseSize("s", "4096")).toBe(4096);
    expect(() => parseSize("s", "-1G")).toThrow(ConfigError);
    expect(() => parseSize("s", "9999999999T")).toThrow(/at most 2\^53-1/);
    expect(parseHours("h", "23:00-06:00")).toEqual({ startMin: 1380, endMin: 360 });
    expect(() => parseHours("h", "10:00-10:00")).toThrow(/empty window/);
    expect(() => parseHours("h", "24:30-01:00")).toThrow(/out of range/);
  });

  it("checks hours windows, including ones that wrap past midnight", () => {
    const night = [parseHours("h", "23:00-06:00")];
    expect(withinHours(night, 23 * 60)).toBe(true);
    expect(withinHours(night, 3 * 60)).toBe(true);
    expect(withinHours(night, 6 * 60)).toBe(false);
    expect(withinHours(night, 12 * 60)).toBe(false);
    expect(withinHours([], 12 * 60)).toBe(true);
  });

  it("writes a config that reads back identically", () => {
    const cfg = parseAgentConfig(FULL);
    const text = formatAgentConfig(cfg);
    expect(text).toContain("config 'pear-fog' 'main'");
    expect(text).toContain("\tlist hours '22:30-24:00'");
    expect(parseAgentConfig(text)).toEqual(cfg);
    expect(parseAgentConfig(formatAgentConfig(AGENT_CONFIG_DEFAULTS))).toEqual(
      AGENT_CONFIG_DEFAULTS,
    );
  });
});

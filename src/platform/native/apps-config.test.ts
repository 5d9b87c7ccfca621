import { describe, expect, it } from "vitest";
import { findSection, parseUci } from "../../agent/uci/uci";
import { appOptionsFromUci } from "./apps-config";

const sec = (body: string) =>
  findSection(parseUci(`config pear-fog 'main'\n${body}`), "@pear-fog[0]");

describe("apps UCI options", () => {
  it("defaults when absent; values when present", () => {
    expect(appOptionsFromUci(sec(""))).toEqual({ limits: {}, manager: {} });
    expect(
      appOptionsFromUci(
        sec(
          "\toption apps '0'\n\toption apps_wifi 'yes'\n\toption apps_cpu '250'\n\toption apps_memory '32M'\n\toption apps_path '/mnt/apps'\n\toption apps_upload '64'\n",
        ),
      ),
    ).toEqual({
      limits: { cpuPermille: 250, memoryBytes: 32 << 20, uploadBytesPerSec: 64 * 1024 },
      manager: { enabled: false, allowWifi: true, dir: "/mnt/apps" },
    });
  });

  it("a bad value names its option", () => {
    expect(() => appOptionsFromUci(sec("\toption apps_cpu '0'\n"))).toThrow(/apps_cpu/);
    expect(() => appOptionsFromUci(sec("\toption apps_memory 'lots'\n"))).toThrow(/apps_memory/);
    expect(() => appOptionsFromUci(sec("\toption apps_wifi 'maybe'\n"))).toThrow(/apps_wifi/);
    expect(() => appOptionsFromUci(sec("\toption apps_path 'rel'\n"))).toThrow(/apps_path/);
    expect(() => appOptionsFromUci(sec("\toption apps_upload '-1'\n"))).toThrow(/apps_upload/);
    expect(() => appOptionsFromUci(sec("\toption apps_upload '1.5'\n"))).toThrow(/apps_upload/);
    expect(appOptionsFromUci(sec("\toption apps_upload '0'\n")).limits).toEqual({
      uploadBytesPerSec: 0,
    });
  });
});

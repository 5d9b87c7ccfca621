// The NAT lab tests itself: a UDP probe (probe.ts, RFC 5780 style) behind each NAT box must
// classify it as the class the box was built to be (RFC 4787 mapping + filtering).
import { once } from "node:events";
import { resolve } from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLab, INET_IPS, NAT_CLASSES, type Lab } from "./lab";
import { natClassOf, type ProbeResult } from "./probe";

const PROBE = resolve(import.meta.dirname, "probe.ts");
const root = process.getuid?.() === 0;

describe.skipIf(!root)("NAT lab", () => {
  let lab: Lab;
  let server: ChildProcess;
  beforeAll(async () => {
    lab = createLab([...NAT_CLASSES]);
    server = lab.spawn(lab.inetNs, process.execPath, [
      "--import",
      "tsx",
      PROBE,
      "server",
      ...INET_IPS,
    ]);
    const [line] = (await once(server.stdout!, "data")) as [Buffer];
    expect(line.toString()).toContain("ready");
  });
  afterAll(() => {
    server?.kill();
    lab?.destroy();
  });

  for (const [i, nat] of NAT_CLASSES.entries()) {
    it(`a ${nat} box probes as ${nat}`, () => {
      const out = lab.exec(lab.sites[i]!.hostNs, process.execPath, [
        "--import",
        "tsx",
        PROBE,
        "client",
        ...INET_IPS,
      ]);
      const r = JSON.parse(out) as ProbeResult;
      expect(natClassOf(r), JSON.stringify(r)).toBe(nat);
      // the server saw the NAT's public address, never the private one
      for (const m of r.mapped) expect(m.startsWith(`${lab.sites[i]!.wanIp}:`)).toBe(true);
    });
  }

  it("rebuilding a box changes its class", () => {
    lab.setNat(0, "symmetric");
    const out = lab.exec(lab.sites[0]!.hostNs, process.execPath, [
      "--import",
      "tsx",
      PROBE,
      "client",
      ...INET_IPS,
    ]);
    expect(natClassOf(JSON.parse(out) as ProbeResult)).toBe("symmetric");
  });
});

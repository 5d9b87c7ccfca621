// The NAT matrix: libwebrtc behind each of the four NAT classes × pear-fogd behind each of
// them (lab.ts), the coordinator's STUN responder and coturn on the "internet". Every pair must
// connect and fetch a chunk whose SHA-256 is checked; pairs that can connect directly
// (directPossible) must not be relayed, and the others must use the TURN relay.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NAT_CLASSES } from "./lab";
import { createWorld, directPossible, type PairResult, type World } from "./world";

const root = process.getuid?.() === 0;

describe.skipIf(!root)("NAT matrix: browser (libwebrtc) × pear-fogd", () => {
  let world: World;
  const results: PairResult[] = [];
  beforeAll(async () => {
    world = await createWorld();
  });
  afterAll(async () => {
    await world?.close();
    const rows = results.map(
      (r) =>
        `${r.browserNat.padEnd(18)} ${r.nodeNat.padEnd(18)} ${r.connected ? (r.relayed ? "relayed" : "direct ") : "FAILED "} ${r.local}/${r.remote} open ${r.connectMs} ms (first ${r.initial}${r.settleMs > 0 ? `, direct after ${r.settleMs} ms` : ""})`,
    );
    console.log(`browser NAT        node NAT\n${rows.join("\n")}`);
  });

  for (const b of NAT_CLASSES) {
    for (const n of NAT_CLASSES) {
      const direct = directPossible(b, n);
      it(`browser ${b} × node ${n}: connects ${direct ? "directly" : "through TURN"}`, async () => {
        const r = await world.runPair(b, n);
        results.push(r);
        expect(r.error, r.error).toBeUndefined();
        expect(r.connected).toBe(true);
        expect(r.relayed, `${r.local}/${r.remote}`).toBe(!direct);
        // the class pear-fogd reports in its heartbeat (rankNodes weighs it)
        expect(r.nodeReachability).toBe(n === "symmetric" ? "nat-symmetric" : "nat-cone");
      });
    }
  }
});

// Port mapping first: pear-fogd behind a NAT whose upstream is a real IGD (miniupnpd) maps its
// WebRTC port with NAT-PMP, reports itself reachable ("public") and is reached directly even
// from a symmetric NAT — pairs that need TURN without the mapping. Stopping pear-fogd removes
// the gateway's mapping.
describe.skipIf(!root)("NAT matrix with a UPnP / NAT-PMP gateway upstream of pear-fogd", () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  for (const n of NAT_CLASSES) {
    it(`browser symmetric × node ${n} + miniupnpd: direct through the mapping`, async () => {
      const r = await world.runPair("symmetric", n, 20_000, { nodeUpnp: true });
      expect(r.error, r.error).toBeUndefined();
      expect(r.connected).toBe(true);
      expect(r.relayed, `${r.local}/${r.remote}`).toBe(false);
      expect(r.nodeReachability).toBe("public");
      expect(r.mappingRemoved).toBe(true);
      expect(r.mappedWith).toBe("PCP"); // miniupnpd speaks PCP first
    });
  }

  // each protocol alone against the same miniupnpd (pear-fogd --port-mapping)
  for (const [proto, name] of [
    ["upnp", "UPnP-IGD"],
    ["natpmp", "NAT-PMP"],
  ] as const) {
    it(`maps with ${name} alone: browser symmetric × node port-restricted, direct`, async () => {
      const r = await world.runPair("symmetric", "port-restricted", 20_000, {
        nodeUpnp: true,
        portMapping: proto,
      });
      expect(r.error, r.error).toBeUndefined();
      expect(r.mappedWith).toBe(name);
      expect(r.relayed, `${r.local}/${r.remote}`).toBe(false);
      expect(r.nodeReachability).toBe("public");
      expect(r.mappingRemoved).toBe(true);
    });
  }
});

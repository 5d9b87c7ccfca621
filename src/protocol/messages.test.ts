import { describe, expect, it } from "vitest";
import {
  LIMITS,
  MAX_MESSAGE_BYTES,
  ProtocolError,
  decodeBrowserMessage,
  decodeCoordinatorToBrowser,
  decodeCoordinatorToNode,
  decodeNodeMessage,
  encodeMessage,
  nodeAuthPayload,
  type BrowserToCoordinator,
  type CoordinatorToBrowser,
  type CoordinatorToNode,
  type NodeToCoordinator,
} from "./messages";

const DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
const C1 = "a".repeat(64);
const C2 = "0123456789abcdef".repeat(4);

// One typed example of every message per direction: if an interface and its validator drift
// apart, either tsc (here) or the round trip fails.
const nodeMsgs: NodeToCoordinator[] = [
  { t: "node.hello", nodeId: DID, version: "0.1.0", probeUrl: "https://198.51.100.7:8443/ping" },
  { t: "node.hello", nodeId: DID, version: "0.1.0" },
  { t: "node.auth", sig: "A".repeat(86) },
  {
    t: "node.heartbeat",
    seq: 3,
    capacity: {
      uplinkCapBps: 625000,
      uplinkUsedBps: 1000,
      storeBytes: 5,
      storeCapBytes: 1 << 30,
      load: 0.25,
      reachability: "nat-cone",
    },
    inventory: { add: [C1], remove: [C2], full: true },
    bytesServed: 12345,
  },
  {
    t: "node.probes",
    results: [
      { target: DID, rttMs: 12.5 },
      { target: "lm-fra", rttMs: 30 },
    ],
  },
  { t: "sig.answer", session: "r1", sdp: "v=0\r\n" },
  {
    t: "sig.candidate",
    session: "r1",
    candidate: "candidate:1 1 udp 1 1.2.3.4 5 typ host",
    mid: "0",
  },
];
const toNodeMsgs: CoordinatorToNode[] = [
  { t: "node.challenge", nonce: "abc_-", coordinatorId: "coord-1" },
  { t: "node.welcome", heartbeatMs: 1000, deadAfterMs: 5000, credibility: 0.8 },
  { t: "node.probe", targets: [{ id: "lm-fra", url: "https://lm.example/ping" }] },
  {
    t: "node.hold",
    content: "video-1",
    chunks: [C1, C2],
    sources: [
      { kind: "origin", url: "https://cdn.example/v1" },
      { kind: "node", nodeId: DID },
    ],
  },
  { t: "sig.offer", session: "r1", sdp: "v=0" },
  { t: "sig.candidate", session: "r1", candidate: "c" },
  { t: "error", code: "rate_limited", detail: "slow down" },
];
const browserMsgs: BrowserToCoordinator[] = [
  { t: "browser.hello", version: "sdk/0.1" },
  { t: "browser.find", req: 1, content: "video-1", chunks: [C1, C2], max: 4 },
  { t: "browser.rtt", samples: [{ target: DID, rttMs: 8 }] },
  { t: "browser.badchunk", node: DID, content: "video-1", chunk: C1, reason: "hash_mismatch" },
  { t: "browser.stats", p2pBytes: 10, httpBytes: 0 },
  { t: "sig.offer", session: "pc-1", node: DID, sdp: "v=0" },
  { t: "sig.candidate", session: "pc-1", candidate: "c", mid: "0" },
];
const toBrowserMsgs: CoordinatorToBrowser[] = [
  { t: "browser.welcome", browser: "b1", probe: [{ id: DID, url: "https://198.51.100.7/ping" }] },
  { t: "browser.found", req: 1, nodes: [{ node: DID, score: 0.7, has: [0, 1], rttMs: 8 }] },
  { t: "sig.answer", session: "pc-1", node: DID, sdp: "v=0" },
  { t: "sig.candidate", session: "pc-1", node: DID, candidate: "c" },
  { t: "error", code: "not_found", detail: "no content", req: 3 },
];

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ProtocolError) return e.code;
    throw e;
  }
  return "ok";
}

describe("message round trips", () => {
  it.each([
    ["node", nodeMsgs, decodeNodeMessage],
    ["to node", toNodeMsgs, decodeCoordinatorToNode],
    ["browser", browserMsgs, decodeBrowserMessage],
    ["to browser", toBrowserMsgs, decodeCoordinatorToBrowser],
  ] as const)("%s messages decode to themselves", (_, msgs, decode) => {
    for (const m of msgs) {
      expect(decode(encodeMessage(m))).toEqual(m);
      expect(decode(new TextEncoder().encode(encodeMessage(m)))).toEqual(m);
    }
  });

  it("node auth payload is domain separated and binds coordinator, node and nonce", () => {
    const p = new TextDecoder().decode(nodeAuthPayload(DID, "n1", "coord"));
    expect(p).toBe(`pear-fog/node-auth/v1\ncoord\n${DID}\nn1`);
  });
});

describe("hostile input", () => {
  const hello = (extra: Record<string, unknown>) =>
    JSON.stringify({ t: "browser.hello", version: "x", ...extra });

  it("rejects unknown types, including prototype names", () => {
    for (const t of [
      "browser.teleport",
      "toString",
      "__proto__",
      "constructor",
      "hasOwnProperty",
      "",
    ]) {
      expect(codeOf(() => decodeBrowserMessage(JSON.stringify({ t })))).toBe("unknown_type");
    }
    // A node message on the browser socket and vice versa.
    expect(codeOf(() => decodeBrowserMessage(encodeMessage(nodeMsgs[0]!)))).toBe("unknown_type");
    expect(codeOf(() => decodeNodeMessage(encodeMessage(browserMsgs[0]!)))).toBe("unknown_type");
  });

  it("rejects binary frames that are not UTF-8", () => {
    const bytes = new TextEncoder().encode('{"t":"browser.hello","version":"xx"}');
    bytes[bytes.length - 4] = 0xff;
    expect(codeOf(() => decodeBrowserMessage(bytes))).toBe("invalid");
  });

  it("rejects non-objects and missing t", () => {
    for (const f of ["", "{", "null", "[]", "1", '"x"', "{}", '{"t":1}', "true"]) {
      expect(
        codeOf(() => decodeBrowserMessage(f)),
        f,
      ).toBe("invalid");
    }
  });

  it("rejects extra, missing and mistyped fields", () => {
    expect(codeOf(() => decodeBrowserMessage(hello({ extra: 1 })))).toBe("invalid");
    expect(
      codeOf(() => decodeBrowserMessage('{"t":"browser.hello","__proto__":{"x":1},"version":"x"}')),
    ).toBe("invalid");
    expect(codeOf(() => decodeBrowserMessage('{"t":"browser.hello"}'))).toBe("invalid");
    expect(codeOf(() => decodeBrowserMessage(hello({ version: 5 })))).toBe("invalid");
    const find = { t: "browser.find", req: 1, content: "c", chunks: [C1] };
    const bad = (over: Record<string, unknown>) =>
      codeOf(() => decodeBrowserMessage(JSON.stringify({ ...find, ...over })));
    expect(bad({})).toBe("ok");
    expect(bad({ req: -1 })).toBe("invalid");
    expect(bad({ req: 1.5 })).toBe("invalid");
    expect(bad({ req: "1" })).toBe("invalid");
    expect(bad({ chunks: [C1.toUpperCase()] })).toBe("invalid");
    expect(bad({ chunks: [C1 + "a"] })).toBe("too_large");
    expect(bad({ chunks: C1 })).toBe("invalid");
    expect(bad({ content: "has space" })).toBe("invalid");
    expect(bad({ max: 0 })).toBe("invalid");
    expect(bad({ max: LIMITS.foundNodes + 1 })).toBe("invalid");
    const hb = JSON.parse(encodeMessage(nodeMsgs[3]!)) as Record<string, Record<string, unknown>>;
    hb.capacity!.load = 1.5;
    expect(codeOf(() => decodeNodeMessage(JSON.stringify(hb)))).toBe("invalid");
    hb.capacity!.load = 0.5;
    hb.capacity!.reachability = "moon";
    expect(codeOf(() => decodeNodeMessage(JSON.stringify(hb)))).toBe("invalid");
    expect(
      codeOf(() =>
        decodeNodeMessage(JSON.stringify({ t: "node.hello", nodeId: "did:web:x", version: "1" })),
      ),
    ).toBe("invalid");
    expect(
      codeOf(() =>
        decodeCoordinatorToNode(
          JSON.stringify({ t: "node.hold", content: "c", chunks: [], sources: [{ kind: "ftp" }] }),
        ),
      ),
    ).toBe("invalid");
    expect(
      codeOf(() =>
        decodeCoordinatorToNode(
          JSON.stringify({
            t: "node.hold",
            content: "c",
            chunks: [],
            sources: [{ kind: "origin", url: "javascript:alert(1)" }],
          }),
        ),
      ),
    ).toBe("invalid");
  });

  it("rejects strings and arrays over their caps with too_large", () => {
    expect(
      codeOf(() => decodeBrowserMessage(hello({ version: "x".repeat(LIMITS.text + 1) }))),
    ).toBe("too_large");
    const many = Array.from({ length: LIMITS.findChunks + 1 }, () => C1);
    expect(
      codeOf(() =>
        decodeBrowserMessage(
          JSON.stringify({ t: "browser.find", req: 1, content: "c", chunks: many }),
        ),
      ),
    ).toBe("too_large");
    const sdp = "a".repeat(LIMITS.sdp + 1);
    expect(
      codeOf(() =>
        decodeBrowserMessage(JSON.stringify({ t: "sig.offer", session: "s", node: DID, sdp })),
      ),
    ).toBe("too_large");
  });

  it("rejects frames over MAX_MESSAGE_BYTES before parsing, counting UTF-8 bytes", () => {
    const pad = " ".repeat(MAX_MESSAGE_BYTES);
    expect(codeOf(() => decodeBrowserMessage(hello({}) + pad))).toBe("too_large");
    // 3-byte characters: under the limit in UTF-16 units, over it in UTF-8 bytes.
    const wide = "€".repeat(Math.ceil(MAX_MESSAGE_BYTES / 3) + 1);
    expect(wide.length).toBeLessThan(MAX_MESSAGE_BYTES);
    expect(codeOf(() => decodeBrowserMessage(hello({ version: wide })))).toBe("too_large");
    expect(codeOf(() => decodeBrowserMessage(new Uint8Array(MAX_MESSAGE_BYTES + 1)))).toBe(
      "too_large",
    );
    // encodeMessage refuses to produce such a frame.
    expect(
      codeOf(() =>
        encodeMessage({ t: "sig.offer", session: "s", sdp: "x".repeat(MAX_MESSAGE_BYTES) }),
      ),
    ).toBe("too_large");
  });

  it("survives random mutations of valid frames with only ProtocolError", () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = '{}[]":,0123456789.-eEtrufalsn\\ abc\u0000\u00e9';
    const frames = [...nodeMsgs, ...browserMsgs].map((m) => encodeMessage(m));
    for (let i = 0; i < 5000; i++) {
      const base = frames[rand(frames.length)] as string;
      const chars = [...base];
      for (let k = 0, n = 1 + rand(4); k < n; k++) {
        const at = rand(chars.length + 1);
        const op = rand(3);
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, alphabet[rand(alphabet.length)] as string);
        else chars[at] = alphabet[rand(alphabet.length)] as string;
      }
      const f = chars.join("");
      for (const decode of [decodeNodeMessage, decodeBrowserMessage]) {
        try {
          decode(f);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
        }
      }
    }
  });
});

// The coordinator's STUN responder over a real UDP socket, and TURN REST credentials.
import { createHmac, randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { crc32 } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  answerStun,
  iceServersFor,
  parseStun,
  startStunServer,
  STUN_MAGIC,
  type StunServer,
} from "./stun";

/** A Binding request (RFC 8489 §6.1), optionally with extra attributes and FINGERPRINT. */
function request(
  attrs: { type: number; value: Buffer }[] = [],
  fingerprint = true,
  type = 0x0001,
): Buffer {
  const body = Buffer.concat(
    attrs.map(({ type: t, value }) => {
      const a = Buffer.alloc(4 + value.length + ((4 - (value.length % 4)) % 4));
      a.writeUInt16BE(t, 0);
      a.writeUInt16BE(value.length, 2);
      value.copy(a, 4);
      return a;
    }),
  );
  const head = Buffer.alloc(20);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(body.length + (fingerprint ? 8 : 0), 2);
  head.writeUInt32BE(STUN_MAGIC, 4);
  randomBytes(12).copy(head, 8);
  const msg = Buffer.concat([head, body]);
  if (!fingerprint) return msg;
  const fp = Buffer.alloc(8);
  fp.writeUInt16BE(0x8028, 0);
  fp.writeUInt16BE(4, 2);
  fp.writeUInt32BE((crc32(msg) ^ 0x5354554e) >>> 0, 4);
  return Buffer.concat([msg, fp]);
}

function xorMapped(resp: Buffer): { address: string; port: number } {
  const m = parseStun(resp)!;
  const v = m.attrs.find((a) => a.type === 0x0020)!.value;
  const port = v.readUInt16BE(2) ^ (STUN_MAGIC >>> 16);
  const cookie = Buffer.alloc(4);
  cookie.writeUInt32BE(STUN_MAGIC);
  const ip = [0, 1, 2, 3].map((i) => v[4 + i]! ^ cookie[i]!).join(".");
  return { address: ip, port };
}

describe("STUN responder (RFC 8489 §6.3)", () => {
  let srv: StunServer;
  let client: Socket;
  beforeAll(async () => {
    srv = await startStunServer("127.0.0.1", 0);
    client = createSocket("udp4");
    await new Promise<void>((r) => client.bind(0, "127.0.0.1", () => r()));
  });
  afterAll(async () => {
    client.close();
    await srv.close();
  });

  const roundTrip = (msg: Buffer, waitMs = 300): Promise<Buffer | null> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        client.off("message", on);
        resolve(null);
      }, waitMs);
      const on = (m: Buffer) => {
        clearTimeout(t);
        client.off("message", on);
        resolve(m);
      };
      client.on("message", on);
      client.send(msg, srv.port, "127.0.0.1");
    });

  it("answers a Binding request with the source address, transaction id and FINGERPRINT", async () => {
    const req = request();
    const resp = (await roundTrip(req))!;
    expect(resp).not.toBeNull();
    const m = parseStun(resp)!;
    expect(m.type).toBe(0x0101);
    expect(m.txid.equals(req.subarray(8, 20))).toBe(true);
    expect(xorMapped(resp)).toEqual({ address: "127.0.0.1", port: client.address().port });
    // FINGERPRINT is last and right
    expect(m.fingerprintAt).toBe(resp.length - 8);
    expect(resp.readUInt32BE(resp.length - 4)).toBe(
      (crc32(resp.subarray(0, resp.length - 8)) ^ 0x5354554e) >>> 0,
    );
    // a request without FINGERPRINT is answered too
    expect(await roundTrip(request([], false))).not.toBeNull();
  });

  it("answers unknown comprehension-required attributes with 420 + UNKNOWN-ATTRIBUTES", async () => {
    const resp = (await roundTrip(request([{ type: 0x0031, value: Buffer.alloc(4) }])))!;
    const m = parseStun(resp)!;
    expect(m.type).toBe(0x0111);
    const ec = m.attrs.find((a) => a.type === 0x0009)!.value;
    expect(ec[2]! * 100 + ec[3]!).toBe(420);
    expect(m.attrs.find((a) => a.type === 0x000a)!.value.readUInt16BE(0)).toBe(0x0031);
    // comprehension-optional unknown ones are ignored
    const ok = (await roundTrip(request([{ type: 0xc057, value: Buffer.alloc(4) }])))!;
    expect(parseStun(ok)!.type).toBe(0x0101);
  });

  it("drops what is not a well-formed Binding request", async () => {
    const bad = request();
    bad[bad.length - 1]! ^= 1; // wrong FINGERPRINT
    expect(await roundTrip(bad)).toBeNull();
    expect(await roundTrip(request([], true, 0x0011))).toBeNull(); // indication
    expect(await roundTrip(request([], true, 0x0101))).toBeNull(); // a response
    expect(await roundTrip(Buffer.from("GET / HTTP/1.1\r\n\r\n"))).toBeNull();
    const short = request([], false);
    expect(await roundTrip(short.subarray(0, 19))).toBeNull();
    const badLen = request([{ type: 0x8022, value: Buffer.from("abcd") }], false);
    badLen.writeUInt16BE(12, 2); // length past the datagram
    expect(await roundTrip(badLen)).toBeNull();
    expect(answerStun(Buffer.alloc(20), { address: "1.2.3.4", port: 1 })).toBeNull();
    expect(srv.answered()).toBeGreaterThanOrEqual(4);
  });

  it("encodes IPv6 and IPv4-mapped sources", () => {
    const req = request();
    const r6 = answerStun(req, { address: "2001:db8::1", port: 5000 })!;
    const v = parseStun(r6)!.attrs.find((a) => a.type === 0x0020)!.value;
    expect(v[1]).toBe(0x02);
    expect(v.length).toBe(20);
    const r4 = answerStun(req, { address: "::ffff:10.0.0.1", port: 5000 })!;
    expect(xorMapped(r4)).toEqual({ address: "10.0.0.1", port: 5000 });
  });
});

describe("ICE server list", () => {
  it("mints coturn REST credentials (use-auth-secret) that expire", () => {
    const cfg = {
      stun: ["stun:stun.example:3478"],
      turn: ["turn:turn.example:3478?transport=udp"],
      turnSecret: "s3cret",
      turnTtlS: 600,
    };
    const [stun, turn] = iceServersFor(cfg, "browser-1", 1_700_000_000_000);
    expect(stun).toEqual({ urls: ["stun:stun.example:3478"] });
    expect(turn!.username).toBe(`${1_700_000_000 + 600}:browser-1`);
    expect(turn!.credential).toBe(
      createHmac("sha1", "s3cret").update(turn!.username!).digest("base64"),
    );
    expect(iceServersFor({ ...cfg, turnSecret: "" }, "x", 0)).toHaveLength(1);
    expect(iceServersFor({ ...cfg, stun: [], turn: [] }, "x", 0)).toEqual([]);
  });
});

describe("coordinator: ICE servers in browser.welcome, STUN responder from the config", () => {
  it("hands out STUN and TURN (fresh credentials) and answers STUN on ice.stunPort", async () => {
    const { startCoordinator } = await import("./main");
    const { default: WebSocket } = await import("ws");
    const c = await startCoordinator({
      port: 0,
      dbPath: ":memory:",
      ice: {
        stunPort: 0,
        stunHost: "127.0.0.1",
        stun: ["stun:127.0.0.1:3478"],
        turn: ["turn:127.0.0.1:3478?transport=udp"],
        turnSecret: "s3cret",
        turnTtlS: 60,
      },
    });
    try {
      const ws = new WebSocket(`${c.url.replace(/^http/, "ws")}/ws/browser`);
      const welcome = await new Promise<Record<string, unknown>>((resolve, reject) => {
        ws.once("error", reject);
        ws.once("open", () => ws.send(JSON.stringify({ t: "browser.hello", version: "test" })));
        ws.on("message", (d: Buffer) => {
          const m = JSON.parse(d.toString()) as Record<string, unknown>;
          if (m.t === "browser.welcome") resolve(m);
        });
      });
      ws.close();
      const ice = welcome.iceServers as {
        urls: string[];
        username?: string;
        credential?: string;
      }[];
      expect(ice[0]).toEqual({ urls: ["stun:127.0.0.1:3478"] });
      expect(ice[1]!.urls).toEqual(["turn:127.0.0.1:3478?transport=udp"]);
      const [expiry, id] = ice[1]!.username!.split(":");
      expect(id).toBe(welcome.browser);
      expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(50);
      expect(ice[1]!.credential).toBe(
        createHmac("sha1", "s3cret").update(ice[1]!.username!).digest("base64"),
      );
      // the responder listens where the config put it
      const port = c.server.stunPort()!;
      const sock = createSocket("udp4");
      const resp = await new Promise<Buffer>((resolve) => {
        sock.once("message", resolve);
        sock.send(request(), port, "127.0.0.1");
      });
      sock.close();
      expect(parseStun(resp)!.type).toBe(0x0101);
    } finally {
      await c.close();
    }
  });
});

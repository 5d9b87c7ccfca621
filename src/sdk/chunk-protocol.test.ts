import { describe, expect, it } from "vitest";
import {
  ChunkProtocolError,
  decodeResponse,
  encodeCancel,
  encodeGet,
  FLAG_LAST,
} from "./chunk-protocol";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("chunk protocol (mirror of libs/webrtc-native/src/chunk_proto.c)", () => {
  it("encodes GET and CANCEL byte-exact", () => {
    const id = new Uint8Array(32).map((_, i) => i);
    expect(hex(encodeGet(0x01020304, id, 5, 7))).toBe(
      "0101" + "01020304" + hex(id) + "00000005" + "00000007",
    );
    expect(hex(encodeCancel(9))).toBe("010200000009");
    expect(() => encodeGet(1, new Uint8Array(31))).toThrow(RangeError);
  });

  it("decodes DATA and ERROR", () => {
    const data = Uint8Array.from(
      Buffer.from(
        "01" + "81" + "01" + "00" + "00000007" + "00000002" + "00000005" + "aabbcc",
        "hex",
      ),
    );
    const r = decodeResponse(data);
    expect(r).toMatchObject({ type: "data", reqId: 7, last: true, offset: 2, total: 5 });
    expect(r.type === "data" && hex(r.payload)).toBe("aabbcc");
    const err = Uint8Array.from(Buffer.from("0182" + "03" + "00" + "00000009" + "000003e8", "hex"));
    expect(decodeResponse(err)).toEqual({
      type: "error",
      reqId: 9,
      code: "RATE_LIMITED",
      retryAfterMs: 1000,
    });
    expect(FLAG_LAST).toBe(1);
  });

  it("refuses malformed responses", () => {
    const bad = [
      "01", // short
      "0281000000000001000000000000000100", // version 2
      "0181020000000001000000000000000100", // unknown flag
      "0181000000000001000000000000000000", // empty, not last
      "0181010000000001000000040000000300", // offset beyond total
      "0182070000000001000000000", // odd length
      "01820700000000010000000000", // wrong ERROR length (13)
      "018207000000000100000000", // unknown code 7
      "0101000000000001", // a request type
    ];
    for (const h of bad) {
      expect(() => decodeResponse(Uint8Array.from(Buffer.from(h, "hex"))), h).toThrow(
        ChunkProtocolError,
      );
    }
  });
});

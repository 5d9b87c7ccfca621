import { describe, expect, it } from "vitest";
import { base58Decode, base58Encode, BASE58_MAX_DECODE_CHARS } from "./base58";
import { didKeyFromPublicKey, publicKeyFromDidKey } from "./did-key";
import { keyPairFromSeed } from "./ed25519";
import { hexEncode } from "./hex";
import { utf8Encode } from "./utf8";

describe("base58btc (draft-msporny-base58 examples)", () => {
  it.each([
    ["48656c6c6f20576f726c6421", "2NEpo7TZRRrLZSi2U"], // "Hello World!"
    [
      hexEncode(utf8Encode("The quick brown fox jumps over the lazy dog.")),
      "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z",
    ],
    ["0000287fb4cd", "11233QC4"], // leading zero bytes become "1"s
    ["", ""],
    ["00", "1"],
    ["0000", "11"],
    ["ff", "5Q"],
  ])("%s <-> %s", (hex, b58) => {
    expect(base58Encode(Uint8Array.from(Buffer.from(hex, "hex")))).toBe(b58);
    expect(hexEncode(base58Decode(b58)!)).toBe(hex);
  });

  it("round trips random bytes", () => {
    for (let n = 0; n < 80; n++) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = (Math.random() * 256) | 0;
      if (n > 2) b[0] = 0;
      expect(hexEncode(base58Decode(base58Encode(b))!)).toBe(hexEncode(b));
    }
  });

  it("refuses characters outside the alphabet and over-long input", () => {
    for (const bad of ["0", "O", "I", "l", "+", "é", "abc def"]) {
      expect(base58Decode(bad)).toBeUndefined();
    }
    expect(base58Decode("2".repeat(BASE58_MAX_DECODE_CHARS + 1))).toBeUndefined();
  });
});

describe("did:key (W3C CCG did:key method, Ed25519)", () => {
  it("spec example: did document publicKeyBase58 <-> did", () => {
    // did:key spec example DID and its verification method's publicKeyBase58.
    const pub = base58Decode("B12NYF8RrR3h41TDCTJojY59usg3mbtbjnFs7Eud1Y6u")!;
    const did = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH";
    expect(didKeyFromPublicKey(pub)).toBe(did);
    expect(hexEncode(publicKeyFromDidKey(did)!)).toBe(hexEncode(pub));
  });

  it("test vector: all-zero seed", () => {
    // did:key test-vectors/ed25519-x25519.json, seed 00..00.
    expect(keyPairFromSeed(new Uint8Array(32)).did).toBe(
      "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
    );
  });

  it("refuses other methods, codecs, lengths and non-canonical spellings", () => {
    const did = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH";
    expect(publicKeyFromDidKey(did.replace("did:key", "did:web"))).toBeUndefined();
    expect(publicKeyFromDidKey(did.slice(0, -1))).toBeUndefined();
    expect(publicKeyFromDidKey(did + "1")).toBeUndefined();
    expect(publicKeyFromDidKey("did:key:z1" + did.slice(9))).toBeUndefined();
    // secp256k1-pub multicodec (0xe7 0x01) is not Ed25519
    const k = new Uint8Array(34);
    k[0] = 0xe7;
    k[1] = 0x01;
    expect(publicKeyFromDidKey("did:key:z" + base58Encode(k))).toBeUndefined();
    expect(() => didKeyFromPublicKey(new Uint8Array(33))).toThrow(RangeError);
  });
});

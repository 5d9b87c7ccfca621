import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import {
  ed25519Sign,
  ed25519Verify,
  encodeKeyFile,
  generateKeyPair,
  keyPairFromSeed,
  parseKeyFile,
} from "./ed25519";
import { hexDecode, hexEncode } from "./hex";
import { utf8Encode } from "./utf8";

const h = (s: string): Uint8Array => hexDecode(s)!;

// RFC 8032 section 7.1, TEST 1..3.
const RFC8032 = [
  {
    seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    pub: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    msg: "",
    sig: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    pub: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    msg: "72",
    sig: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
  {
    seed: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    pub: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    msg: "af82",
    sig: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  },
];

describe("Ed25519 (RFC 8032 section 7.1)", () => {
  RFC8032.forEach((v, i) => {
    it(`TEST ${i + 1}: public key, signature, verify`, () => {
      const kp = keyPairFromSeed(h(v.seed));
      expect(hexEncode(kp.publicKey)).toBe(v.pub);
      const sig = ed25519Sign(h(v.msg), kp.seed);
      expect(hexEncode(sig)).toBe(v.sig);
      expect(ed25519Verify(sig, h(v.msg), kp.publicKey)).toBe(true);
    });
    it(`TEST ${i + 1}: any flipped bit in signature, message or key fails`, () => {
      const sig = h(v.sig);
      const pub = h(v.pub);
      for (let bit = 0; bit < 512; bit += 7) {
        const s = sig.slice();
        s[bit >> 3]! ^= 1 << (bit & 7);
        expect(ed25519Verify(s, h(v.msg), pub)).toBe(false);
      }
      const p = pub.slice();
      p[0]! ^= 1;
      expect(ed25519Verify(sig, h(v.msg), p)).toBe(false);
      expect(ed25519Verify(sig, h(v.msg + "00"), pub)).toBe(false);
    });
  });

  it("refuses wrong lengths without throwing", () => {
    expect(ed25519Verify(new Uint8Array(63), new Uint8Array(0), new Uint8Array(32))).toBe(false);
    expect(ed25519Verify(new Uint8Array(64), new Uint8Array(0), new Uint8Array(31))).toBe(false);
    expect(() => keyPairFromSeed(new Uint8Array(31))).toThrow(RangeError);
  });
});

describe("SHA-256 (FIPS 180-2 appendix B vectors)", () => {
  it.each([
    ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    [
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ],
    ["a".repeat(1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"],
  ])("sha256(%#)", (msg, want) => {
    expect(hexEncode(sha256(utf8Encode(msg)))).toBe(want);
  });
});

describe("key file", () => {
  it("round trips and is checked", () => {
    const kp = generateKeyPair();
    const text = encodeKeyFile(kp);
    expect(text.endsWith("\n")).toBe(true);
    const back = parseKeyFile(text);
    expect(back.did).toBe(kp.did);
    expect(hexEncode(back.seed)).toBe(hexEncode(kp.seed));
    const other = generateKeyPair();
    const lying = JSON.stringify({ ...JSON.parse(text), did: other.did });
    expect(() => parseKeyFile(lying)).toThrow(/does not match/);
    expect(() => parseKeyFile("{")).toThrow(/not JSON/);
    expect(() => parseKeyFile(JSON.stringify({ ...JSON.parse(text), seed: "00" }))).toThrow(/seed/);
    expect(() => parseKeyFile(JSON.stringify({ type: "x", v: 1 }))).toThrow(/not a pear-fog/);
  });
});

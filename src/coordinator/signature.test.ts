import { describe, expect, it } from "vitest";
import { ed25519Sign, ed25519Verify, generateKeyPair } from "../protocol/ed25519";
import { base64urlDecode, base64urlEncode, verifyDidSignature } from "./signature";

describe("verifyDidSignature", () => {
  it("agrees with @noble on valid, tampered and foreign signatures", () => {
    for (let i = 0; i < 20; i++) {
      const kp = generateKeyPair();
      const msg = new TextEncoder().encode(`message ${i}`);
      const sig = ed25519Sign(msg, kp.seed);
      expect(verifyDidSignature(kp.did, msg, sig)).toBe(true);
      const bad = sig.slice();
      bad[i % 64]! ^= 1 << (i % 8);
      expect(verifyDidSignature(kp.did, msg, bad)).toBe(ed25519Verify(bad, msg, kp.publicKey));
      expect(verifyDidSignature(kp.did, msg, bad)).toBe(false);
      expect(verifyDidSignature(generateKeyPair().did, msg, sig)).toBe(false);
    }
  });

  it("RFC 8032 section 7.1 test 1 (empty message)", () => {
    const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
    const pub = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    const sig = hex(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    );
    expect(ed25519Verify(sig, new Uint8Array(0), pub)).toBe(true);
    // did:key of that public key, built by hand: z + base58(0xed 0x01 || pub).
    const did = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw";
    expect(verifyDidSignature(did, new Uint8Array(0), sig)).toBe(true);
    expect(verifyDidSignature(did, new Uint8Array(1), sig)).toBe(false);
  });

  it("refuses malformed input without throwing", () => {
    const kp = generateKeyPair();
    expect(verifyDidSignature("did:key:zzz", new Uint8Array(1), new Uint8Array(64))).toBe(false);
    expect(verifyDidSignature(kp.did, new Uint8Array(1), new Uint8Array(63))).toBe(false);
    expect(verifyDidSignature(kp.did, new Uint8Array(1), new Uint8Array(64).fill(0xff))).toBe(
      false,
    );
  });
});

describe("base64url", () => {
  it("round-trips and refuses non-canonical text", () => {
    const b = Uint8Array.from([0, 250, 251, 252, 253]);
    expect(base64urlDecode(base64urlEncode(b))).toEqual(b);
    expect(base64urlDecode("AA==")).toBeUndefined();
    expect(base64urlDecode("A+")).toBeUndefined();
    expect(base64urlDecode("AB")).toBeUndefined(); // non-zero trailing bits
  });
});

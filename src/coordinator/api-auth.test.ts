import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../protocol/ed25519";
import {
  ReplayCache,
  apiSigningPayload,
  parseAuthorization,
  signApiRequest,
  verifyApiRequest,
} from "./api-auth";

const enc = (s: string) => new TextEncoder().encode(s);

describe("REST request signatures", () => {
  const kp = generateKeyPair();
  const body = enc('{"contentId":"v"}');
  const now = 1_700_000_000_000;

  it("signs method, path, body hash and timestamp under a domain prefix", () => {
    const p = new TextDecoder().decode(apiSigningPayload("post", "/api/manifests", enc(""), 5));
    expect(p).toBe(
      "pear-fog/api/v1\nPOST\n/api/manifests\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n5",
    );
  });

  it("accepts a fresh signature once", () => {
    const h = signApiRequest(kp.did, kp.seed, "POST", "/api/manifests", body, now);
    const replay = new ReplayCache();
    expect(
      verifyApiRequest(h, "POST", "/api/manifests", body, now + 1000, 300_000, replay),
    ).toEqual({
      ok: true,
      did: kp.did,
    });
    expect(
      verifyApiRequest(h, "POST", "/api/manifests", body, now + 1000, 300_000, replay),
    ).toEqual({
      ok: false,
      reason: "replayed",
    });
  });

  it("refuses tampering, staleness, other keys and malformed headers", () => {
    const h = signApiRequest(kp.did, kp.seed, "POST", "/api/manifests", body, now);
    const v = (
      header: string | undefined,
      method = "POST",
      path = "/api/manifests",
      b = body,
      t = now,
    ) => verifyApiRequest(header, method, path, b, t, 300_000, new ReplayCache());
    expect(v(h, "DELETE")).toEqual({ ok: false, reason: "bad_signature" });
    expect(v(h, "POST", "/api/manifests/x")).toEqual({ ok: false, reason: "bad_signature" });
    expect(v(h, "POST", "/api/manifests", enc("{}"))).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    expect(v(h, "POST", "/api/manifests", body, now + 300_001)).toEqual({
      ok: false,
      reason: "stale",
    });
    expect(v(h, "POST", "/api/manifests", body, now - 300_001)).toEqual({
      ok: false,
      reason: "stale",
    });
    const other = generateKeyPair();
    expect(v(h.replace(kp.did, other.did))).toEqual({ ok: false, reason: "bad_signature" });
    expect(v(undefined)).toEqual({ ok: false, reason: "missing" });
    for (const bad of [
      "Bearer x",
      "PearFog did=x,ts=1,sig=y",
      `PearFog did=${kp.did},ts=abc,sig=y`,
      `PearFog did=${kp.did},ts=1`,
      `PearFog did=${kp.did},ts=1,sig=y,extra=1`,
      `PearFog did=${kp.did},did=${kp.did},ts=1,sig=y`,
      "PearFog " + "a".repeat(2000),
    ]) {
      expect(v(bad), bad).toEqual({ ok: false, reason: "malformed" });
    }
  });

  it("parses the header fields", () => {
    expect(parseAuthorization(`PearFog did=${kp.did}, ts=12, sig=abc`)).toEqual({
      did: kp.did,
      ts: 12,
      sig: "abc",
    });
  });
});

// Publisher authentication for the REST API.
//
//   Authorization: PearFog did=<did:key>,ts=<unix ms>,sig=<base64url Ed25519 signature>
//
// The signature covers apiSigningPayload(method, pathWithQuery, sha256(body) hex, ts) =
//   "pear-fog/api/v1\n" METHOD "\n" path "\n" bodyHash "\n" ts
// Requests whose ts is more than `maxSkewMs` from the coordinator's clock are refused, and a
// signature is accepted once only within that window (ReplayCache).
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { DID_KEY_RE } from "../protocol/messages";
import { ed25519Sign } from "../protocol/ed25519";
import { base64urlDecode, base64urlEncode, verifyDidSignature } from "./signature";

export const API_AUTH_DOMAIN = "pear-fog/api/v1";
/** Signatures remembered for replay protection at most (oldest forgotten first). */
export const MAX_REPLAY_ENTRIES = 100_000;

export function apiSigningPayload(
  method: string,
  path: string,
  body: Uint8Array,
  ts: number,
): Uint8Array {
  const hash = bytesToHex(sha256(body));
  return new TextEncoder().encode(
    `${API_AUTH_DOMAIN}\n${method.toUpperCase()}\n${path}\n${hash}\n${ts}`,
  );
}

/** The Authorization header value for a request signed with a publisher's key seed. */
export function signApiRequest(
  did: string,
  seed: Uint8Array,
  method: string,
  path: string,
  body: Uint8Array,
  ts = Date.now(),
): string {
  const sig = ed25519Sign(apiSigningPayload(method, path, body, ts), seed);
  return `PearFog did=${did},ts=${ts},sig=${base64urlEncode(sig)}`;
}

export type ApiAuthFailure = "missing" | "malformed" | "stale" | "bad_signature" | "replayed";

export interface ParsedAuth {
  did: string;
  ts: number;
  sig: string;
}

export function parseAuthorization(header: string | undefined): ParsedAuth | undefined {
  if (!header || header.length > 1024) return undefined;
  const m = /^PearFog\s+(.+)$/.exec(header.trim());
  if (!m) return undefined;
  const fields = new Map<string, string>();
  for (const part of (m[1] as string).split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return undefined;
    const k = part.slice(0, eq).trim();
    if (fields.has(k)) return undefined;
    fields.set(k, part.slice(eq + 1).trim());
  }
  const did = fields.get("did");
  const tsText = fields.get("ts");
  const sig = fields.get("sig");
  if (fields.size !== 3 || !did || !tsText || !sig) return undefined;
  if (!DID_KEY_RE.test(did) || !/^\d{1,16}$/.test(tsText)) return undefined;
  return { did, ts: Number(tsText), sig };
}

/** Remembers accepted signatures until they could no longer pass the skew check. */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  /** True if `sig` was not seen; records it until `expiresAt`. */
  claim(sig: string, expiresAt: number, now: number): boolean {
    for (const [k, exp] of this.seen) {
      if (exp >= now && this.seen.size < MAX_REPLAY_ENTRIES) break;
      this.seen.delete(k);
    }
    if (this.seen.has(sig)) return false;
    this.seen.set(sig, expiresAt);
    return true;
  }
}

export function verifyApiRequest(
  header: string | undefined,
  method: string,
  path: string,
  body: Uint8Array,
  now: number,
  maxSkewMs: number,
  replay: ReplayCache,
): { ok: true; did: string } | { ok: false; reason: ApiAuthFailure } {
  if (!header) return { ok: false, reason: "missing" };
  const a = parseAuthorization(header);
  if (!a) return { ok: false, reason: "malformed" };
  if (Math.abs(now - a.ts) > maxSkewMs) return { ok: false, reason: "stale" };
  const sig = base64urlDecode(a.sig);
  if (!sig || !verifyDidSignature(a.did, apiSigningPayload(method, path, body, a.ts), sig)) {
    return { ok: false, reason: "bad_signature" };
  }
  if (!replay.claim(a.sig, a.ts + maxSkewMs, now)) return { ok: false, reason: "replayed" };
  return { ok: true, did: a.did };
}

// Signature checks by did:key identities, and the base64url coding used on the wire.
// did:key and Ed25519 come from src/protocol (shared with the CLI, the agent and the SDK).
import { publicKeyFromDidKey } from "../protocol/did-key";
import { ed25519Verify } from "../protocol/ed25519";

/** Verify an Ed25519 signature by the key a did:key names. False on any malformed input. */
export function verifyDidSignature(did: string, msg: Uint8Array, sig: Uint8Array): boolean {
  const pub = publicKeyFromDidKey(did);
  if (!pub) return false;
  return ed25519Verify(sig, msg, pub);
}

export function base64urlEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

/** Strict base64url decode; undefined when the text is not canonical unpadded base64url. */
export function base64urlDecode(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return undefined;
  const b = Buffer.from(s, "base64url");
  if (b.toString("base64url") !== s) return undefined;
  return new Uint8Array(b);
}

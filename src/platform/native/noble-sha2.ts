// Stand-in for "@noble/hashes/sha2.js" in the agent bundle for pear-fogd (esbuild alias in
// libs/webrtc-native/Makefile): the same sha256/sha512 call shape, computed by OpenSSL through
// "pear-fog:native". Pure-JS SHA-256 runs at ~6 ms/KiB on QuickJS-ng; this is native speed.
import * as fog from "pear-fog:native";

export function sha256(data: Uint8Array): Uint8Array {
  return fog.sha256(data);
}

export function sha512(data: Uint8Array): Uint8Array {
  return fog.sha512(data);
}

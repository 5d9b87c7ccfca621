// Stand-in for "@noble/curves/ed25519.js" in the agent bundle for pear-fogd (esbuild alias in
// libs/webrtc-native/Makefile): the subset src/protocol/ed25519.ts uses, on OpenSSL's RFC 8032
// Ed25519 through "pear-fog:native". Verification is strict RFC 8032 (the protocol asks @noble
// for zip215: false; other options are refused rather than silently ignored).
import * as fog from "pear-fog:native";

export const ed25519 = {
  getPublicKey(secretKey: Uint8Array): Uint8Array {
    return fog.ed25519PublicKey(secretKey);
  },
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
    return fog.ed25519Sign(message, secretKey);
  },
  verify(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
    opts: { zip215?: boolean } = {},
  ): boolean {
    if (opts.zip215 !== false) throw new Error("ed25519.verify: only zip215: false (RFC 8032)");
    return fog.ed25519Verify(signature, message, publicKey);
  },
  utils: {
    randomSecretKey(): Uint8Array {
      return fog.randomBytes(32);
    },
  },
};

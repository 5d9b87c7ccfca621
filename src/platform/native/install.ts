// Side-effect module, imported first by entry.ts: the globals the agent's modules use that
// QuickJS-ng lacks (globals.ts), URL (url.ts) and crypto.getRandomValues (getrandom via the
// native module, for @noble's randomBytes).
import * as fog from "pear-fog:native";
import { installGlobals } from "./globals";
import { Url } from "./url";

installGlobals();
const g = globalThis as unknown as Record<string, unknown>;
if (typeof g.URL !== "function") g.URL = Url;
if (typeof g.crypto !== "object" || g.crypto === null) g.crypto = {};
const c = g.crypto as Record<string, unknown>;
if (typeof c.getRandomValues !== "function") {
  c.getRandomValues = <T extends ArrayBufferView | null>(a: T): T => {
    if (a === null) return a;
    const bytes = fog.randomBytes(a.byteLength);
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength).set(bytes);
    return a;
  };
}

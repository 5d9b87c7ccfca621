// Canonical JSON: the subset of RFC 8785 (JCS) the manifest needs. Pure.
// - object members sorted by key, compared as UTF-16 code units (RFC 8785 section 3.2.3);
// - no insignificant whitespace (section 3.2.1);
// - strings serialized as ECMAScript JSON.stringify does (section 3.2.2.2);
// - numbers: safe integers only (|n| <= 2^53-1), written in decimal as in section 3.2.2.3;
//   floats, NaN, Infinity and -0 are refused: the manifest has no use for them;
// - allowed values: objects, arrays, strings, safe integers, booleans. No null, no undefined.
// Encoding the same value twice, or a value with the same members in another order, gives the
// same bytes. UTF-8 output (section 3.2.4).

import { utf8Encode } from "./utf8";

export type CanonicalValue =
  | string
  | number
  | boolean
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue };

/** A value the canonical encoder cannot represent; `path` is a JSON-pointer-like location. */
export class CanonicalJsonError extends Error {
  constructor(
    readonly path: string,
    why: string,
  ) {
    super(`${path || "/"}: ${why}`);
    this.name = "CanonicalJsonError";
  }
}

/** Maximum nesting depth accepted by {@link canonicalJson}. */
export const CANONICAL_JSON_MAX_DEPTH = 16;

function compareKeys(a: string, b: string): number {
  // Default sort of strings compares UTF-16 code units, which is what RFC 8785 asks for.
  return a < b ? -1 : a > b ? 1 : 0;
}

function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return true;
    }
  }
  return false;
}

function write(v: unknown, path: string, depth: number, out: string[]): void {
  if (depth > CANONICAL_JSON_MAX_DEPTH) throw new CanonicalJsonError(path, "nested too deeply");
  switch (typeof v) {
    case "string":
      if (hasLoneSurrogate(v)) {
        throw new CanonicalJsonError(path, "lone surrogate in string");
      }
      out.push(JSON.stringify(v));
      return;
    case "boolean":
      out.push(v ? "true" : "false");
      return;
    case "number":
      if (!Number.isSafeInteger(v) || Object.is(v, -0)) {
        throw new CanonicalJsonError(path, `not a safe integer: ${String(v)}`);
      }
      out.push(String(v));
      return;
    case "object": {
      if (v === null) throw new CanonicalJsonError(path, "null is not allowed");
      if (Array.isArray(v)) {
        out.push("[");
        v.forEach((item, i) => {
          if (i) out.push(",");
          write(item, `${path}/${i}`, depth + 1, out);
        });
        out.push("]");
        return;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw new CanonicalJsonError(path, "only plain objects are allowed");
      }
      const keys = Object.keys(v).sort(compareKeys);
      out.push("{");
      keys.forEach((k, i) => {
        const member = (v as Record<string, unknown>)[k];
        if (i) out.push(",");
        write(k, path, depth + 1, out);
        out.push(":");
        write(member, `${path}/${k}`, depth + 1, out);
      });
      out.push("}");
      return;
    }
    default:
      throw new CanonicalJsonError(path, `${typeof v} is not allowed`);
  }
}

/** Canonical JSON text of `value`. Throws CanonicalJsonError for values outside the subset. */
export function canonicalJsonText(value: unknown): string {
  const out: string[] = [];
  write(value, "", 0, out);
  return out.join("");
}

/** Canonical JSON of `value` as UTF-8 bytes. */
export function canonicalJson(value: unknown): Uint8Array {
  return utf8Encode(canonicalJsonText(value));
}

import { describe, expect, it } from "vitest";
import { canonicalJson, canonicalJsonText, CanonicalJsonError } from "./canonical-json";

describe("canonical JSON (RFC 8785 subset)", () => {
  it("sorts keys, drops whitespace, golden bytes", () => {
    const a = { b: [1, "x", true], a: { z: 0, "": "e", y: -5 }, é: '\u2028\n"' };
    expect(canonicalJsonText(a)).toBe(
      '{"a":{"":"e","y":-5,"z":0},"b":[1,"x",true],"é":"\u2028\\n\\""}',
    );
  });

  it("same members in another order give the same bytes", () => {
    const x = { name: "n", size: 3, files: [{ path: "p", size: 3 }] };
    const y = { files: [{ size: 3, path: "p" }], size: 3, name: "n" };
    expect(Buffer.from(canonicalJson(x)).equals(Buffer.from(canonicalJson(y)))).toBe(true);
  });

  it("sorts by UTF-16 code units (RFC 8785 section 3.2.3)", () => {
    // U+1F600 (surrogates D83D DE00) sorts before U+FB33 by code unit, after it by code point.
    expect(canonicalJsonText({ "\ufb33": 1, "\u{1f600}": 2, a: 3 })).toBe(
      '{"a":3,"\u{1f600}":2,"\ufb33":1}',
    );
  });

  it("refuses values outside the subset", () => {
    for (const bad of [1.5, NaN, Infinity, -0, 2 ** 53, null, undefined, () => 1, new Date(0)]) {
      expect(() => canonicalJson({ k: bad })).toThrow(CanonicalJsonError);
    }
    expect(() => canonicalJson("\ud800")).toThrow(/lone surrogate/);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(/nested too deeply/);
  });
});

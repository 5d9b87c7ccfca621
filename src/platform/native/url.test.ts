import { describe, expect, it } from "vitest";
import { Url } from "./url";

// Node's URL is the reference: every case must give the same parts.
const parts = (u: URL | Url) => ({
  href: u.href,
  protocol: u.protocol,
  host: u.host,
  hostname: u.hostname,
  port: u.port,
  pathname: u.pathname,
  search: u.search,
  hash: u.hash,
  origin: u.origin,
});

describe("Url (QuickJS stand-in for URL)", () => {
  it.each([
    "ws://coord.example:8080/ws/node",
    "wss://Coord.Example.COM/ws/node/",
    "https://cdn.example.com:443/a/b/../c/./d.ts?x=1&y=%20#frag",
    "http://127.0.0.1:47101/chunks/abc",
    "http://[::1]:8080/x",
    "https://example.com",
    "https://example.com?q",
    "https://user:pw@example.com/p",
    "HTTP://EXAMPLE.com/A%20B/ c",
    "http://example.com/a\\b",
    "http:/example.com/one-slash",
    "mailto:someone@example.com",
  ])("parses %s like node", (s) => {
    expect(parts(new Url(s))).toEqual(parts(new URL(s)));
  });

  it.each([
    ["seg/001.ts", "https://o.example/video/"],
    ["../up.ts", "https://o.example/video/hls/"],
    ["/abs/x.ts", "https://o.example/video/"],
    ["//other.example/y", "https://o.example/video/"],
    ["?q=2", "https://o.example/video/index.m3u8?q=1"],
    ["#f", "https://o.example/video/index.m3u8"],
    ["a b/ü.ts", "https://o.example/v/"],
    ["../../../../x", "https://o.example/a/"],
  ])("resolves %s against %s like node", (ref, base) => {
    expect(parts(new Url(ref, base))).toEqual(parts(new URL(ref, base)));
  });

  it.each(["", "not a url", "ws://", "http://exa mple.com/", "http://h:99999/", "relative/only"])(
    "refuses %j like node",
    (s) => {
      expect(() => new URL(s)).toThrow();
      expect(() => new Url(s)).toThrow(TypeError);
    },
  );

  it("setters used by the agent behave like node", () => {
    for (const s of ["wss://c.example/ws/node?x=1", "ws://c.example:8080/ws/node"]) {
      const a = new URL(s);
      const b = new Url(s);
      for (const u of [a, b]) {
        u.protocol = u.protocol === "wss:" ? "https:" : "http:";
        u.pathname = u.pathname.replace(/\/ws\/node\/?$/, "") || "/";
        u.search = "";
      }
      expect(parts(b)).toEqual(parts(a));
      expect(String(b)).toBe(String(a));
    }
  });
});

describe("Url against node's URL on generated inputs", () => {
  // A seeded generator of URL-ish strings: where Url accepts an input, it must give node's href;
  // where node refuses one, Url must refuse it too (never accept what node calls invalid).
  function* inputs(n: number): Generator<[string, string | undefined]> {
    let s = 0x9e3779b9;
    const rnd = (k: number) => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) % k;
    };
    const pick = <T>(xs: readonly T[]) => xs[rnd(xs.length)]!;
    const schemes = ["http://", "https://", "ws://", "wss://", "HTTP://", "http:", "http:///"];
    const hosts = ["a.example", "EXAMPLE.com", "127.0.0.1", "[::1]", "h", "x-y.z", "u:p@h.example"];
    const ports = ["", ":80", ":443", ":8080", ":0", ":65535", ":"];
    const segs = ["a", "b c", "..", ".", "%2e", "ü", "x%20y", "", "q?x=1", "#f", "a\\b", "~"];
    for (let i = 0; i < n; i++) {
      const path = Array.from({ length: rnd(5) }, () => pick(segs)).join("/");
      const abs = `${pick(schemes)}${pick(hosts)}${pick(ports)}/${path}`;
      if (rnd(2)) yield [abs, undefined];
      else yield [Array.from({ length: 1 + rnd(3) }, () => pick(segs)).join("/"), abs];
    }
  }

  it("agrees with node (2000 seeded cases)", () => {
    let compared = 0;
    for (const [input, base] of inputs(2000)) {
      let want: string | null = null;
      let baseOk = true;
      try {
        if (base !== undefined) new URL(base);
      } catch {
        baseOk = false;
      }
      try {
        want = new URL(input, base).href;
      } catch {
        want = null;
      }
      let got: string | null = null;
      try {
        got = new Url(input, base).href;
      } catch {
        got = null;
      }
      if (!baseOk) continue;
      if (want === null) expect([input, base, got]).toEqual([input, base, null]);
      else if (got !== null) {
        expect([input, base, got]).toEqual([input, base, want]);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });
});

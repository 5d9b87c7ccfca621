// /usr/share/pear-fog/lib.sh under busybox ash: the JSON member splitter the rpcd plugin and
// CLI read pear-fogd's replies with, JSON string quoting, sizes and booleans.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { appletDir, busybox, makeRoot, OPENWRT } from "./support";

const LIB = readFileSync(join(OPENWRT, "files/pear-fog.lib.sh"), "utf8");

/** Runs `body` after sourcing lib.sh, with only busybox applets. */
function ash(body: string, input = "") {
  const r = spawnSync(busybox(), ["ash", "-c", `${LIB}\n${body}`], {
    input,
    env: { PATH: appletDir() },
  });
  return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** pf_json_members on one JSON line: [key, raw value] pairs. */
function members(json: string): [string, string][] {
  const r = ash("pf_json_members", json + "\n");
  expect(r.err).toBe("");
  return r.out
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const i = l.indexOf("\t");
      return [l.slice(0, i), l.slice(i + 1)];
    });
}

describe("lib.sh", () => {
  it("pf_json_members: top-level members, values as raw JSON, nesting and strings kept whole", () => {
    const obj = {
      id: 1,
      ok: true,
      version: "0.1.0",
      tricky: 'a,b}c]d"e\\',
      peer_ids: ["x,1", "y]"],
      nested: { a: [1, { b: "}" }], c: null },
      neg: -2.5e3,
      empty: {},
      list: [],
    };
    const got = members(JSON.stringify(obj));
    expect(got.map(([k]) => k)).toEqual(Object.keys(obj));
    for (const [k, v] of got) expect(JSON.parse(v), k).toEqual(obj[k as keyof typeof obj]);
    // whitespace as other JSON writers put it
    expect(members('{ "a" : 1 , "b" : [ 2 ] }')).toEqual([
      ["a", "1"],
      ["b", "[ 2 ]"],
    ]);
    expect(members("{}")).toEqual([]);
  });

  it("pf_json_members agrees with JSON.parse on random objects", () => {
    // deterministic pseudo-random (xorshift) so a failure reproduces
    let x = 0x9e3779b9;
    const rnd = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const alphabet = [
      "a",
      "Z",
      "0",
      " ",
      ",",
      ":",
      "{",
      "}",
      "[",
      "]",
      '"',
      "\\",
      "\t",
      "é",
      "😀",
      "/",
    ];
    const str = () => Array.from({ length: rnd(8) }, () => alphabet[rnd(alphabet.length)]).join("");
    const value = (depth: number): unknown => {
      switch (rnd(depth > 2 ? 4 : 6)) {
        case 0:
          return rnd(1_000_000) - 500_000;
        case 1:
          return str();
        case 2:
          return [true, false, null][rnd(3)];
        case 3:
          return rnd(1000) / 7;
        case 4:
          return Array.from({ length: rnd(4) }, () => value(depth + 1));
        default:
          return Object.fromEntries(
            Array.from({ length: rnd(4) }, (_, i) => [`k${i}`, value(depth + 1)]),
          );
      }
    };
    for (let i = 0; i < 60; i++) {
      const obj = Object.fromEntries(
        Array.from({ length: 1 + rnd(6) }, (_, j) => [`m${j}_${rnd(99)}`, value(0)]),
      );
      const got = members(JSON.stringify(obj));
      expect(got.map(([k]) => k)).toEqual(Object.keys(obj));
      for (const [k, v] of got) expect(JSON.parse(v), `${i}: ${k}`).toEqual(obj[k]);
    }
  });

  it("pf_json_get and pf_json_pick", () => {
    const j = JSON.stringify({ a: 1, b: "two", c: [3], d: { e: 4 } });
    expect(ash(`pf_json_get '${j}' b`).out.trim()).toBe('"two"');
    expect(ash(`pf_json_get '${j}' zz`).out).toBe("");
    const picked = ash(`printf '{%s}' "$(pf_json_pick '${j}' d zz a)"`).out;
    expect(JSON.parse(picked)).toEqual({ d: { e: 4 }, a: 1 });
    expect(Object.keys(JSON.parse(picked))).toEqual(["d", "a"]); // the order asked for
  });

  it("pf_json_str: quotes, backslashes, tabs, newlines", () => {
    for (const s of ["plain", 'say "hi"', "back\\slash", "tab\there", "two\nlines", ""]) {
      const out = spawnSync(busybox(), ["ash", "-c", `${LIB}\npf_json_str "$S"`], {
        env: { PATH: appletDir(), S: s },
      }).stdout.toString();
      expect(JSON.parse(out), JSON.stringify(s)).toBe(s);
    }
  });

  it("pf_size_bytes reads sizes as pear-fogd does", () => {
    const cases: [string, number | null][] = [
      ["0", 0],
      ["1048576", 1048576],
      ["512K", 512 * 1024],
      ["32M", 32 * 2 ** 20],
      ["2G", 2 * 2 ** 30],
      ["64MB", 64 * 2 ** 20],
      ["1g", 2 ** 30],
      ["12x", null],
      ["1.5G", null],
      ["-1", null],
      ["M", null],
      ["", null],
      ["5mbit", null],
    ];
    for (const [v, want] of cases) {
      const r = ash(`pf_size_bytes '${v}'`);
      if (want === null) expect(r.code, v).not.toBe(0);
      else expect([r.code, r.out.trim()], v).toEqual([0, String(want)]);
    }
  });

  it("pf_uci_get: section 'main', else the first pear-fog section; lists space-joined", () => {
    const root = makeRoot();
    try {
      const get = (opt: string, def = "") =>
        spawnSync(
          busybox(),
          ["ash", "-c", `. ${root.dir}/usr/share/pear-fog/lib.sh; pf_uci_get ${opt} '${def}'`],
          {
            env: root.env,
          },
        ).stdout.toString();
      const conf = join(root.dir, "etc/config/pear-fog");
      writeFileSync(
        conf,
        "config other 'x'\n\toption sharing '7'\n" +
          "config pear-fog 'first'\n\toption sharing '1'\n\tlist hours '00:00-07:00'\n\tlist hours '22:00-24:00'\n" +
          "config pear-fog\n\toption sharing '0'\n",
      );
      expect(get("sharing")).toBe("1\n");
      expect(get("hours")).toBe("00:00-07:00 22:00-24:00\n");
      expect(get("store_size", "32M")).toBe("32M\n");
      expect(get("nothing")).toBe("");
      writeFileSync(
        conf,
        "config pear-fog\n\toption sharing '0'\nconfig pear-fog 'main'\n\toption sharing \"it's\"\n",
      );
      expect(get("sharing")).toBe("it's\n");
    } finally {
      root.remove();
    }
  });

  it("pf_bool: UCI booleans", () => {
    for (const v of ["1", "yes", "on", "true", "enabled"])
      expect(ash(`pf_bool ${v}`).out).toBe("1\n");
    for (const v of ["0", "no", "off", "false", "disabled"])
      expect(ash(`pf_bool ${v}`).out).toBe("0\n");
    expect(ash("pf_bool maybe").code).toBe(1);
  });
});

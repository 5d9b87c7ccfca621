import { describe, expect, it } from "vitest";
import { UciError, findSection, getList, getOption, parseUci, quoteUci, writeUci } from "./uci";

// A config in the shape OpenWrt ships (/etc/config/network style), with the usual quirks.
const NETWORK = `
config interface 'loopback'
	option device 'lo'
	option proto 'static'
	option ipaddr '127.0.0.1'
	option netmask '255.0.0.0'

config globals 'globals'
	option ula_prefix 'fd12:3456:789a::/48'

config device
	option name 'br-lan'
	option type 'bridge'
	list ports 'lan1'
	list ports 'lan2'

config interface 'lan'
	option device 'br-lan'
	option proto 'static'
	option ipaddr '192.168.1.1'
	option netmask '255.255.255.0'
	option ip6assign '60'
`;

describe("parseUci", () => {
  it("parses named and anonymous sections, options and lists", () => {
    const f = parseUci(NETWORK);
    expect(f.sections.map((s) => [s.type, s.name])).toEqual([
      ["interface", "loopback"],
      ["globals", "globals"],
      ["device", undefined],
      ["interface", "lan"],
    ]);
    const dev = findSection(f, "@device[0]");
    expect(dev && getList(dev, "ports")).toEqual(["lan1", "lan2"]);
    expect(getOption(findSection(f, "lan")!, "ipaddr")).toBe("192.168.1.1");
    expect(findSection(f, "@interface[-1]")?.name).toBe("lan");
    expect(findSection(f, "@interface[1]")?.name).toBe("lan");
    expect(findSection(f, "@interface[2]")).toBeUndefined();
    expect(findSection(f, "@device[-2]")).toBeUndefined();
  });

  it("handles package, comments, tabs, CRLF, unquoted and empty values", () => {
    const text =
      "# top comment\r\npackage pear-fog\r\n\r\nconfig pear-fog main # trailing comment\r\n\toption  sharing\t1\r\n  option empty ''\r\n#option hidden 'x'\r\n";
    const f = parseUci(text);
    expect(f.package).toBe("pear-fog");
    const s = findSection(f, "main")!;
    expect(s.type).toBe("pear-fog");
    expect([...s.options]).toEqual([
      ["sharing", "1"],
      ["empty", ""],
    ]);
  });

  it("handles quoting: single, double with escapes, concatenated pieces, # inside quotes", () => {
    const f = parseUci(
      [
        "config t 's'",
        `\toption a "say \\"hi\\" \\\\ there"`,
        `\toption b 'it'\\''s'`,
        `\toption c foo'bar baz'"qux"`,
        `\toption d 'http://x/#frag'`,
        `\toption e "tab\\tnot-escaped"`,
        `\toption f 'back\\slash'`,
      ].join("\n"),
    );
    const s = f.sections[0]!;
    expect(getOption(s, "a")).toBe('say "hi" \\ there');
    expect(getOption(s, "b")).toBe("it's");
    expect(getOption(s, "c")).toBe("foobar bazqux");
    expect(getOption(s, "d")).toBe("http://x/#frag");
    // libuci: a backslash in double quotes takes the next character literally.
    expect(getOption(s, "e")).toBe("tabtnot-escaped");
    expect(getOption(s, "f")).toBe("back\\slash");
  });

  it("joins lines ending in a backslash and keeps newlines inside quotes", () => {
    const f = parseUci(
      "config t x\n\toption a \\\n  'joined'\n\toption b 'two\nlines'\n\toption c d\n",
    );
    const s = f.sections[0]!;
    expect(getOption(s, "a")).toBe("joined");
    expect(getOption(s, "b")).toBe("two\nlines");
    expect(getOption(s, "c")).toBe("d");
  });

  it("last duplicate option wins; list after option extends; option after list replaces", () => {
    const f = parseUci(
      "config t x\n option a 1\n option a 2\n option b 1\n list b 2\n list c 1\n list c 2\n option c 3\n",
    );
    const s = f.sections[0]!;
    expect(s.options.get("a")).toBe("2");
    expect(s.options.get("b")).toEqual(["1", "2"]);
    expect(s.options.get("c")).toBe("3");
  });

  it("merges a section name that appears twice", () => {
    const f = parseUci(
      "config t x\n option a 1\nconfig t y\nconfig t x\n option b 2\n option a 3\n",
    );
    expect(f.sections.map((s) => s.name)).toEqual(["x", "y"]);
    expect([...f.sections[0]!.options]).toEqual([
      ["b", "2"],
      ["a", "3"],
    ]);
  });

  it("treats config t '' as anonymous", () => {
    expect(parseUci("config t ''\n").sections[0]!.name).toBeUndefined();
  });

  it("rejects bad syntax with the line number", () => {
    const cases: [string, number, RegExp][] = [
      ["option a b\n", 1, /outside of a config section/],
      ["config t x\n\n option a 'unterminated\n", 3, /unterminated ' quote/],
      ['config t x\n option a "no end\n', 2, /unterminated " quote/],
      ["config t x\n option a\n", 2, /missing argument/],
      ["config t x\n option a b c\n", 2, /too many arguments/],
      ["config t x\n bogus a b\n", 2, /unknown keyword/],
      ["config t bad.name\n", 1, /invalid section name/],
      ["config 't y'\n", 1, /invalid section type/],
      ["config t x\n option 'a-b' c\n", 2, /invalid option name/],
      ["config t x\n option a b\\", 2, /backslash at end of file/],
      ["package\n", 1, /missing argument/],
    ];
    for (const [text, line, re] of cases) {
      let err: unknown;
      try {
        parseUci(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(UciError);
      expect((err as UciError).line, text).toBe(line);
      expect((err as UciError).message, text).toMatch(re);
    }
  });

  it("refuses oversized input", () => {
    expect(() => parseUci("#".repeat(2 * 1024 * 1024))).toThrow(UciError);
  });
});

describe("writeUci", () => {
  it("writes libuci's format", () => {
    const f = parseUci(
      'package p\nconfig t x\n option a "it\'s"\n list l 1\n list l 2\nconfig u\n',
    );
    expect(writeUci(f)).toBe(
      "package 'p'\n\nconfig 't' 'x'\n\toption a 'it'\\''s'\n\tlist l '1'\n\tlist l '2'\n\nconfig 'u'\n",
    );
  });

  it("round-trips awkward values", () => {
    const values = [
      "",
      "'",
      "''",
      '"',
      "\\",
      "a b\tc",
      "#not a comment",
      "line1\nline2",
      "ünïcødé",
      "$x `y`",
    ];
    const f = {
      package: "pear-fog",
      sections: [
        { type: "pear-fog", name: "main", options: new Map(values.map((v, i) => [`o${i}`, v])) },
        { type: "anon", options: new Map<string, string | string[]>([["l", values]]) },
      ],
    };
    const text = writeUci(f);
    expect(parseUci(text)).toEqual(f);
    expect(writeUci(parseUci(text))).toBe(text);
    expect(parseUci(writeUci(parseUci(NETWORK)))).toEqual(parseUci(NETWORK));
  });

  it("quotes single quotes the POSIX-shell way", () => {
    expect(quoteUci("a'b")).toBe("'a'\\''b'");
  });
});

import { describe, expect, it } from "vitest";
import { fillTemplate, parseIsoDuration, parseMpd } from "./dash";
import { CliError } from "./errors";
import { parseXml, XmlError } from "./xml";

const U = "http://h.example/v/stream.mpd";

describe("DASH MPD (ISO/IEC 23009-1)", () => {
  it("SegmentTemplate $Number$ over a fixed duration, inherited from the AdaptationSet", () => {
    const segs = parseMpd(
      `<?xml version="1.0" encoding="UTF-8"?>
<!-- comment -->
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT9.5S">
  <Period>
    <AdaptationSet mimeType="video/mp4">
      <SegmentTemplate media="$RepresentationID$/seg-$Number%03d$.m4s" initialization="$RepresentationID$/init.mp4" duration="4000" timescale="1000" startNumber="1"/>
      <Representation id="v1" bandwidth="800000"/>
      <Representation id="v2" bandwidth="2000000"><BaseURL>hi/</BaseURL></Representation>
    </AdaptationSet>
  </Period>
</MPD>`,
      U,
    );
    expect(segs).toEqual([
      "http://h.example/v/v1/init.mp4",
      "http://h.example/v/v1/seg-001.m4s",
      "http://h.example/v/v1/seg-002.m4s",
      "http://h.example/v/v1/seg-003.m4s",
      "http://h.example/v/hi/v2/init.mp4",
      "http://h.example/v/hi/v2/seg-001.m4s",
      "http://h.example/v/hi/v2/seg-002.m4s",
      "http://h.example/v/hi/v2/seg-003.m4s",
    ]);
  });

  it("SegmentTimeline with $Time$ and r, including r=-1", () => {
    const segs = parseMpd(
      `<MPD type="static" mediaPresentationDuration="PT10S"><Period><AdaptationSet>
        <Representation id="a" bandwidth="1">
          <SegmentTemplate media="t-$Time$.m4s" timescale="10"><SegmentTimeline>
            <S t="0" d="20" r="1"/><S d="30"/><S d="15" r="-1"/>
          </SegmentTimeline></SegmentTemplate>
        </Representation></AdaptationSet></Period></MPD>`,
      U,
    );
    expect(segs.map((s) => s.split("/").pop())).toEqual([
      "t-0.m4s",
      "t-20.m4s",
      "t-40.m4s",
      "t-70.m4s",
      "t-85.m4s",
    ]);
  });

  it("SegmentList and single-file representations", () => {
    const segs = parseMpd(
      `<MPD><BaseURL>http://cdn.example/base/</BaseURL><Period duration="PT1M"><AdaptationSet>
        <Representation id="l"><SegmentList><Initialization sourceURL="i.mp4"/>
          <SegmentURL media="a.m4s"/><SegmentURL media="b.m4s"/></SegmentList></Representation>
        <Representation id="s"><BaseURL>whole&amp;file.mp4</BaseURL><SegmentBase indexRange="0-99"/></Representation>
      </AdaptationSet></Period></MPD>`,
      U,
    );
    expect(segs).toEqual([
      "http://cdn.example/base/i.mp4",
      "http://cdn.example/base/a.m4s",
      "http://cdn.example/base/b.m4s",
      "http://cdn.example/base/whole&file.mp4",
    ]);
  });

  it("refuses live, byte ranges, missing durations, huge counts, hostile XML", () => {
    const bad = [
      `<MPD type="dynamic"><Period/></MPD>`,
      `<MPD><Period><AdaptationSet><Representation id="x"><SegmentList><SegmentURL media="a" mediaRange="0-9"/></SegmentList></Representation></AdaptationSet></Period></MPD>`,
      `<MPD><Period><AdaptationSet><Representation id="x"><SegmentTemplate media="$Number$" duration="1"/></Representation></AdaptationSet></Period></MPD>`,
      `<MPD mediaPresentationDuration="PT100000S"><Period><AdaptationSet><Representation id="x"><SegmentTemplate media="$Number$" duration="1"/></Representation></AdaptationSet></Period></MPD>`,
      `<!DOCTYPE x [<!ENTITY a "b">]><MPD/>`,
      `<MPD><Period>`,
      `<html/>`,
      `<MPD mediaPresentationDuration="PT1S"><Period><AdaptationSet><Representation id="x"><SegmentTemplate media="$Foo$" duration="1"/></Representation></AdaptationSet></Period></MPD>`,
    ];
    for (const t of bad) expect(() => parseMpd(t, U), t).toThrow(CliError);
    expect(() => parseMpd(bad[7]!, U)).toThrow(/unknown template identifier/);
  });

  it("templates, durations, XML details", () => {
    const v = { RepresentationID: "r", Number: 7, Time: 90, Bandwidth: 5 };
    expect(fillTemplate("$RepresentationID$-$Number%04d$-$Time$-$Bandwidth$-$$", v, "")).toBe(
      "r-0007-90-5-$",
    );
    expect(parseIsoDuration("PT1H2M3.5S")).toBe(3723.5);
    expect(parseIsoDuration("P1DT1S")).toBe(86401);
    for (const d of ["P", "PT", "1S", "PT1.S", "PTS"])
      expect(parseIsoDuration(d), d).toBeUndefined();
    const x = parseXml(`<a x='1' y="&lt;&#65;&#x42;"><b/><c>t<![CDATA[<raw>]]></c></a>`);
    expect(x.attrs).toEqual({ x: "1", y: "<AB" });
    expect(x.children.map((c) => c.name)).toEqual(["b", "c"]);
    expect(x.children[1]!.text).toBe("t<raw>");
    for (const t of ["<a>", "<a></b>", "<a/><b/>", "<a>&bogus;</a>", "text<a/>", ""]) {
      expect(() => parseXml(t), t).toThrow(XmlError);
    }
    let deep = "";
    for (let i = 0; i < 40; i++) deep = `<d>${deep}</d>`;
    expect(() => parseXml(deep)).toThrow(/deep/);
  });
});

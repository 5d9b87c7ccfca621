import { describe, expect, it } from "vitest";
import { CliError } from "./errors";
import { parseAttributes, parseM3u8 } from "./hls";

describe("HLS playlists (RFC 8216)", () => {
  it("master: variants and renditions, resolved against the playlist URL", () => {
    const pl = parseM3u8(
      [
        "#EXTM3U",
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="audio/en.m3u8"',
        '#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"',
        "low/index.m3u8",
        "#EXT-X-STREAM-INF:BANDWIDTH=2000000",
        "https://cdn.example/high/index.m3u8",
        "#EXT-X-STREAM-INF:BANDWIDTH=800000",
        "low/index.m3u8",
      ].join("\r\n"),
      "http://h.example/v/master.m3u8?token=1",
    );
    expect(pl.kind).toBe("master");
    expect(pl.playlists).toEqual([
      "http://h.example/v/audio/en.m3u8",
      "http://h.example/v/low/index.m3u8",
      "https://cdn.example/high/index.m3u8",
    ]);
    expect(pl.segments).toEqual([]);
  });

  it("media: init segment, segments, endlist; tags and comments ignored", () => {
    const pl = parseM3u8(
      `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MAP:URI="init.mp4"
# a comment
#EXTINF:4.0,
seg0.m4s
#EXT-X-DISCONTINUITY
#EXTINF:4.0,title
/abs/seg1.m4s
#EXT-X-ENDLIST
`,
      "http://h.example/v/low/index.m3u8",
    );
    expect(pl).toMatchObject({ kind: "media", ended: true, playlists: [] });
    expect(pl.segments).toEqual([
      "http://h.example/v/low/init.mp4",
      "http://h.example/v/low/seg0.m4s",
      "http://h.example/abs/seg1.m4s",
    ]);
  });

  it("refuses non-HLS, byte ranges and non-http URIs", () => {
    const bad = [
      "<MPD/>",
      "#EXTM3U\n#EXTINF:4,\n#EXT-X-BYTERANGE:100@0\nseg.ts",
      '#EXTM3U\n#EXT-X-MAP:URI="init.mp4",BYTERANGE="100@0"',
      "#EXTM3U\n#EXTINF:4,\nfile:///etc/passwd",
      "#EXTM3U\n#EXTINF:4,\njavascript:alert(1)",
    ];
    for (const t of bad) expect(() => parseM3u8(t, "http://h.example/x.m3u8"), t).toThrow(CliError);
  });

  it("attribute lists", () => {
    const a = parseAttributes('TYPE=AUDIO,URI="a,b.m3u8",BANDWIDTH=5,NAME=""');
    expect([...a]).toEqual([
      ["TYPE", "AUDIO"],
      ["URI", "a,b.m3u8"],
      ["BANDWIDTH", "5"],
      ["NAME", ""],
    ]);
  });
});

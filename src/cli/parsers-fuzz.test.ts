// Randomized hostile input for the playlist and MPD parsers publish feeds from the network:
// only CliError (with a message) may come out, never another exception.
import { describe, expect, it } from "vitest";
import { parseMpd } from "./dash";
import { CliError } from "./errors";
import { parseM3u8 } from "./hls";

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const MPD = `<?xml version="1.0"?><MPD type="static" mediaPresentationDuration="PT9S"><BaseURL>b/</BaseURL>
<Period duration="PT9S"><AdaptationSet><SegmentTemplate media="$RepresentationID$/$Number%03d$.m4s" initialization="i.mp4" duration="2" startNumber="0"/>
<Representation id="r" bandwidth="9"><SegmentTemplate timescale="1"><SegmentTimeline><S t="0" d="3" r="-1"/></SegmentTimeline></SegmentTemplate></Representation>
<Representation id="l"><SegmentList><Initialization sourceURL="x"/><SegmentURL media="a&amp;b"/></SegmentList></Representation>
</AdaptationSet></Period></MPD>`;
const M3U8 = `#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",URI="a.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=1
v.m3u8
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4,
s.ts
#EXT-X-ENDLIST`;
const PIECES = [
  "<",
  ">",
  "/",
  '"',
  "$",
  "%0",
  "d$",
  "&",
  "#",
  ":",
  "=",
  ",",
  "\n",
  "-1",
  "99999999",
  "PT",
  "S",
  "://",
  "\u0000",
];

function mutate(r: () => number, s: string): string {
  let out = s;
  for (let k = 1 + (r() % 5); k > 0; k--) {
    const at = r() % (out.length + 1);
    const op = r() % 3;
    if (op === 0) out = out.slice(0, at) + out.slice(at + 1 + (r() % 20));
    else if (op === 1) out = out.slice(0, at) + PIECES[r() % PIECES.length]! + out.slice(at);
    else out = out.slice(0, at) + out.slice(at, at + (r() % 50)) + out.slice(at);
  }
  return out;
}

describe("HLS/DASH parsers under random mutation", () => {
  it("only CliError, 4000 seeded cases each", () => {
    const r = rng(0xda5);
    for (const [src, parse] of [
      [MPD, (t: string) => parseMpd(t, "http://h.example/x.mpd")],
      [M3U8, (t: string) => parseM3u8(t, "http://h.example/x.m3u8")],
    ] as const) {
      for (let i = 0; i < 4000; i++) {
        const t = mutate(r, src);
        try {
          parse(t);
        } catch (e) {
          expect(e, t).toBeInstanceOf(CliError);
        }
      }
    }
  });
});

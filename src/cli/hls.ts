// HLS playlists (RFC 8216): which playlists and media segments a presentation consists of.
// Supported: master playlists (EXT-X-STREAM-INF variants, EXT-X-MEDIA renditions with URI),
// media playlists (segments after EXTINF or bare URI lines, EXT-X-MAP init segments),
// VOD and EVENT/live playlists (what is listed now). Not supported (refused with a clear
// error): byte-range segments (EXT-X-BYTERANGE, EXT-X-MAP BYTERANGE). Skipped: I-frame
// playlists (they address byte ranges of the same segments), key files (EXT-X-KEY URIs),
// LL-HLS partial segments (EXT-X-PART).
import { CliError } from "./errors";
import { resolveUrl } from "./fetch";

export interface HlsPlaylist {
  /** URL the playlist was fetched from. */
  url: string;
  /** "master" if it lists variant/rendition playlists, else "media". */
  kind: "master" | "media";
  /** Absolute URLs of the playlists it lists (master). */
  playlists: string[];
  /** Absolute URLs of media segments, including EXT-X-MAP init segments, in order (media). */
  segments: string[];
  /** EXT-X-ENDLIST seen (media): the playlist will not grow. */
  ended: boolean;
}

/** Attribute list of a tag line (RFC 8216 section 4.2): KEY=value,KEY="quoted". */
export function parseAttributes(s: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Z0-9-]+)=("[^"\r\n]*"|[^,]*)(?:,|$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    const v = m[2]!;
    out.set(m[1]!, v.startsWith('"') ? v.slice(1, -1) : v);
    if (m[0] === "") re.lastIndex++;
  }
  return out;
}

/** Parse playlist text fetched from `url`. Throws CliError on anything not HLS or unsupported. */
export function parseM3u8(text: string, url: string): HlsPlaylist {
  const what = `hls ${url}`;
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== "#EXTM3U") throw new CliError(what, "not an HLS playlist (no #EXTM3U)");
  const pl: HlsPlaylist = { url, kind: "media", playlists: [], segments: [], ended: false };
  let expectVariant = false;
  const seen = new Set<string>();
  const add = (list: string[], ref: string): void => {
    const u = resolveUrl(ref, url, what);
    if (!seen.has(u)) list.push(u);
    seen.add(u);
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    if (!line.startsWith("#")) {
      if (expectVariant) add(pl.playlists, line);
      else add(pl.segments, line);
      expectVariant = false;
      continue;
    }
    const colon = line.indexOf(":");
    const tag = colon < 0 ? line : line.slice(0, colon);
    const attrs = colon < 0 ? "" : line.slice(colon + 1);
    switch (tag) {
      case "#EXT-X-STREAM-INF":
        pl.kind = "master";
        expectVariant = true;
        break;
      case "#EXT-X-MEDIA": {
        pl.kind = "master";
        const uri = parseAttributes(attrs).get("URI");
        if (uri) add(pl.playlists, uri);
        break;
      }
      case "#EXT-X-MAP": {
        const a = parseAttributes(attrs);
        if (a.has("BYTERANGE")) throw new CliError(what, "byte-range EXT-X-MAP is not supported");
        const uri = a.get("URI");
        if (!uri) throw new CliError(what, `line ${i + 1}: EXT-X-MAP without URI`);
        add(pl.segments, uri);
        break;
      }
      case "#EXT-X-BYTERANGE":
        throw new CliError(what, `line ${i + 1}: byte-range segments are not supported`);
      case "#EXT-X-ENDLIST":
        pl.ended = true;
        break;
      default:
        break; // other tags and comments do not name content
    }
  }
  if (pl.kind === "master" && pl.segments.length) {
    throw new CliError(what, "playlist mixes variant streams and media segments");
  }
  return pl;
}

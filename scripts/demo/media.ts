// The demo's video: an HLS stream with several renditions made by Debian's ffmpeg from its
// built-in test pattern (no file comes from outside).
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Rendition {
  name: string;
  width: number;
  height: number;
  /** Target video bit rate, kbit/s. */
  kbps: number;
}

export const DEMO_RENDITIONS: Rendition[] = [
  { name: "240p", width: 426, height: 240, kbps: 300 },
  { name: "360p", width: 640, height: 360, kbps: 600 },
  { name: "480p", width: 854, height: 480, kbps: 1000 },
];

/** Writes `<dir>/master.m3u8` and `<dir>/<rendition>/index.m3u8` + segments. */
export function makeHlsStream(dir: string, seconds: number, segmentSeconds = 2): string {
  for (const r of DEMO_RENDITIONS) {
    const out = join(dir, r.name);
    mkdirSync(out, { recursive: true });
    execFileSync("ffmpeg", [
      ...["-hide_banner", "-loglevel", "error", "-f", "lavfi"],
      ...["-i", `testsrc2=duration=${seconds}:size=${r.width}x${r.height}:rate=25`],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
      ...["-b:v", `${r.kbps}k`, "-maxrate", `${r.kbps}k`, "-bufsize", `${2 * r.kbps}k`],
      ...["-g", String(25 * segmentSeconds), "-sc_threshold", "0"],
      ...["-hls_time", String(segmentSeconds), "-hls_list_size", "0", "-hls_playlist_type", "vod"],
      ...["-hls_segment_filename", join(out, "seg%03d.ts"), join(out, "index.m3u8")],
    ]);
  }
  const master = [
    "#EXTM3U",
    "#EXT-X-VERSION:3",
    ...DEMO_RENDITIONS.flatMap((r) => [
      `#EXT-X-STREAM-INF:BANDWIDTH=${r.kbps * 1100},RESOLUTION=${r.width}x${r.height}`,
      `${r.name}/index.m3u8`,
    ]),
    "",
  ].join("\n");
  const path = join(dir, "master.m3u8");
  writeFileSync(path, master);
  return path;
}

// A simulated viewer: watches the items of its plan one after another like a player does —
// segments fetched in order, one at a time, up to `bufferSegments` ahead of the playhead; the
// playhead advances one segment per segmentSeconds / speedup of wall time once the first
// segment is in; a segment that arrives after the playhead needed it is a stall. Every segment
// is recorded with its time (request → verified bytes) and its bytes by source.
import type { Item } from "./catalogue";
import type { ViewerPlan } from "./schedule";

/** One segment delivered to a viewer. */
export interface SegmentRecord {
  viewer: number;
  /** Segment index within its item (0 = first: includes the peer connection set-up). */
  seq: number;
  /** Request time, milliseconds after the phase start. */
  atMs: number;
  /** Request → verified bytes, milliseconds. */
  ms: number;
  bytesFog: number;
  bytesHttp: number;
  /** Chunks of this segment that fell back to HTTP (any reason). */
  fallbackChunks: number;
  /** Chunks of this segment also asked of a second node (the SDK's stealFactor). */
  steals: number;
}

export interface ViewerResult {
  segments: SegmentRecord[];
  /** Items started (sessions opened). */
  sessions: number;
  /** Session set-up (manifest + coordinator) times, milliseconds. */
  setupMs: number[];
  stalls: number;
  stallMs: number;
  errors: string[];
  /** Fog bytes of every segment fetched, those cut by the end of the phase included. */
  bytesFogFetched: number;
}

/** A viewer's session on one item, over some delivery path (fog SDK or plain HTTP). */
export interface Session {
  fetch(
    url: string,
    bufferAheadS: number,
  ): Promise<{ bytesFog: number; bytesHttp: number; fallbackChunks: number; steals: number }>;
  close(): void;
}

/** Opens `viewer`'s session on `item` (a viewer's sessions may share its connections). */
export type OpenSession = (item: Item, viewer: number) => Promise<Session>;

export interface PlayerSpec {
  segmentWallMs: number;
  bufferSegments: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Runs one viewer's plan from `phaseStart` (performance.now() ms) until `phaseEnd`. */
export async function runViewer(
  viewer: number,
  plan: ViewerPlan,
  catalogue: Item[],
  open: OpenSession,
  player: PlayerSpec,
  phaseStart: number,
  phaseEnd: number,
): Promise<ViewerResult> {
  const now = () => performance.now();
  const r: ViewerResult = {
    segments: [],
    sessions: 0,
    setupMs: [],
    stalls: 0,
    stallMs: 0,
    errors: [],
    bytesFogFetched: 0,
  };
  await sleep(phaseStart + plan.arriveMs - now());
  for (const index of plan.items) {
    if (now() >= phaseEnd) break;
    const item = catalogue[index]!;
    const t0 = now();
    let session: Session;
    try {
      session = await open(item, viewer);
    } catch (e) {
      r.errors.push(`open v${index}: ${(e as Error).message}`);
      continue;
    }
    r.sessions++;
    r.setupMs.push(now() - t0);
    let bufferedUntil = -1; // wall time at which the buffered media runs out; -1: not playing
    try {
      for (const [seq, seg] of item.segments.entries()) {
        if (bufferedUntil >= 0) {
          await sleep(bufferedUntil - player.bufferSegments * player.segmentWallMs - now());
        }
        const start = now();
        if (start >= phaseEnd) break;
        const aheadS = bufferedUntil >= 0 ? Math.max(0, bufferedUntil - start) / 1000 : 0;
        const got = await session.fetch(seg.url, aheadS);
        const end = now();
        r.bytesFogFetched += got.bytesFog;
        if (end > phaseEnd) break; // cut by the end of the phase: not counted
        r.segments.push({ viewer, seq, atMs: start - phaseStart, ms: end - start, ...got });
        if (bufferedUntil < 0) {
          bufferedUntil = end + player.segmentWallMs;
        } else if (end > bufferedUntil) {
          r.stalls++;
          r.stallMs += end - bufferedUntil;
          bufferedUntil = end + player.segmentWallMs;
        } else {
          bufferedUntil += player.segmentWallMs;
        }
      }
      // Watch the rest of the buffer before the next item.
      await sleep(Math.min(bufferedUntil, phaseEnd) - now());
    } catch (e) {
      r.errors.push(`v${index}: ${(e as Error).message}`);
    } finally {
      session.close();
    }
  }
  return r;
}

// Which chunk goes to which node, and how long the fog gets. Pure: no I/O, no clock.
//
// A segment (or file) is a list of chunks. The coordinator's browser.found ranks nodes and
// says which of the asked-for chunks each holds. The scheduler spreads the chunks over the
// top-k usable nodes, at most `maxInflight` requests per node, preferring the node with the
// fewest requests in flight (ties: better rank). A chunk that fails on a node is not retried
// on the fog: it goes to HTTP, so one slow or bad node costs one HTTP range, not a stall.
// A chunk still in flight on a slow node may also be asked of an idle holder (steal(): the
// endgame of BitTorrent-style swarms); the first copy to arrive counts, and the chunk only
// goes to HTTP once every copy has failed.

export interface RankedNode {
  node: string;
  /** Indices (into the chunk list) this node holds. */
  has: readonly number[];
}

export interface Assignment {
  chunk: number;
  node: string;
}

type ChunkState = "pending" | "inflight" | "done" | "http";

export class ChunkScheduler {
  private readonly state: ChunkState[];
  private readonly inflight = new Map<string, number>();
  private readonly holders: string[][];
  private readonly dropped = new Set<string>();
  /** Per chunk: the nodes it was asked of (one, or two once stolen). */
  private readonly asked: Set<string>[];
  /** Per chunk: requests for it still in flight. */
  private readonly copies: number[];

  /**
   * @param chunkCount chunks in the segment
   * @param nodes ranked best first; only the first `maxNodes` usable ones are used
   * @param maxNodes k, nodes a segment is spread over
   * @param maxInflight requests in flight per node
   */
  constructor(
    chunkCount: number,
    nodes: readonly RankedNode[],
    maxNodes: number,
    private readonly maxInflight: number,
  ) {
    this.state = new Array<ChunkState>(chunkCount).fill("pending");
    this.asked = Array.from({ length: chunkCount }, () => new Set<string>());
    this.copies = new Array<number>(chunkCount).fill(0);
    const used = nodes.slice(0, maxNodes);
    this.holders = Array.from({ length: chunkCount }, () => [] as string[]);
    for (const n of used) {
      this.inflight.set(n.node, 0);
      for (const i of n.has) {
        if (Number.isInteger(i) && i >= 0 && i < chunkCount && !this.holders[i]!.includes(n.node)) {
          this.holders[i]!.push(n.node);
        }
      }
    }
    // No holder among the chosen nodes: straight to HTTP.
    this.holders.forEach((h, i) => {
      if (h.length === 0) this.state[i] = "http";
    });
  }

  /** Start as many requests as free slots allow. */
  next(): Assignment[] {
    const out: Assignment[] = [];
    for (let i = 0; i < this.state.length; i++) {
      if (this.state[i] !== "pending") continue;
      let best: string | undefined;
      let bestLoad = Infinity;
      for (const n of this.holders[i]!) {
        if (this.dropped.has(n)) continue;
        const load = this.inflight.get(n)!;
        if (load < this.maxInflight && load < bestLoad) {
          best = n;
          bestLoad = load;
        }
      }
      if (best === undefined) {
        // Every holder is dropped: HTTP. Holders merely busy: wait for a slot.
        if (this.holders[i]!.every((n) => this.dropped.has(n))) this.state[i] = "http";
        continue;
      }
      this.state[i] = "inflight";
      this.start(i, best);
      out.push({ chunk: i, node: best });
    }
    return out;
  }

  /**
   * Ask a second node for a chunk in flight on one: the best-ranked holder not yet asked for it,
   * not dropped and with nothing in flight. Undefined when the chunk is not in flight on exactly
   * one node or no holder is idle.
   */
  steal(chunk: number): Assignment | undefined {
    if (this.state[chunk] !== "inflight" || this.copies[chunk] !== 1) return undefined;
    const node = this.holders[chunk]!.find(
      (n) => !this.dropped.has(n) && !this.asked[chunk]!.has(n) && this.inflight.get(n) === 0,
    );
    if (node === undefined) return undefined;
    this.start(chunk, node);
    return { chunk, node };
  }

  /** The chunk arrived and verified. */
  done(a: Assignment): void {
    this.release(a);
    if (this.state[a.chunk] === "inflight") this.state[a.chunk] = "done";
  }

  /**
   * The request failed (or was cancelled): `dropNode` stops using the node. The chunk goes to
   * HTTP unless another copy is still in flight. Returns false if the chunk did not go to HTTP
   * now (done, given to HTTP before — deadline —, or another copy in flight), so callers count
   * a fallback once.
   */
  failed(a: Assignment, dropNode: boolean): boolean {
    this.release(a);
    if (dropNode) this.dropped.add(a.node);
    if (this.state[a.chunk] !== "inflight" || this.copies[a.chunk]! > 0) return false;
    this.state[a.chunk] = "http";
    return true;
  }

  /** The deadline passed: everything not yet done goes to HTTP. Returns those chunks. */
  expire(): number[] {
    const moved: number[] = [];
    this.state.forEach((s, i) => {
      if (s === "pending" || s === "inflight") {
        this.state[i] = "http";
        moved.push(i);
      }
    });
    return moved;
  }

  /** Chunks that must come over HTTP (including those no node holds). */
  httpChunks(): number[] {
    const out: number[] = [];
    this.state.forEach((s, i) => s === "http" && out.push(i));
    return out;
  }

  /** True when no chunk is pending or in flight on the fog. */
  settled(): boolean {
    return this.state.every((s) => s === "done" || s === "http");
  }

  inflightOn(node: string): number {
    return this.inflight.get(node) ?? 0;
  }

  private start(chunk: number, node: string): void {
    this.inflight.set(node, this.inflight.get(node)! + 1);
    this.asked[chunk]!.add(node);
    this.copies[chunk]!++;
  }

  private release(a: Assignment): void {
    const n = this.inflight.get(a.node);
    if (n !== undefined && n > 0) this.inflight.set(a.node, n - 1);
    if (this.copies[a.chunk]! > 0) this.copies[a.chunk]!--;
  }
}

/**
 * How long the fog gets for a segment: deadline = clamp(bufferAhead * fraction, min, max).
 * With little buffer the fog gets little time (HTTP must still make it); with a full buffer it
 * gets more. bufferAheadS in seconds, result in milliseconds.
 */
export function fogDeadlineMs(
  bufferAheadS: number,
  opts: { minDeadlineMs: number; maxDeadlineMs: number; deadlineFraction: number },
): number {
  const fromBuffer =
    Number.isFinite(bufferAheadS) && bufferAheadS > 0
      ? bufferAheadS * 1000 * opts.deadlineFraction
      : 0;
  return Math.min(opts.maxDeadlineMs, Math.max(opts.minDeadlineMs, fromBuffer));
}

/** Seconds of media buffered ahead of the playhead (0 if the playhead is in no range). */
export function bufferAheadS(media: {
  currentTime: number;
  buffered: { length: number; start(i: number): number; end(i: number): number };
}): number {
  const t = media.currentTime;
  for (let i = 0; i < media.buffered.length; i++) {
    // 0.1 s tolerance: hls.js treats small gaps as contiguous.
    if (media.buffered.start(i) <= t + 0.1 && t <= media.buffered.end(i)) {
      return media.buffered.end(i) - t;
    }
  }
  return 0;
}

/**
 * Wall-clock seconds until the playhead reaches the end of the buffered range: the media
 * seconds ahead divided by the playback rate (at 2x, 10 s of media last 5 s). A rate that is
 * 0, negative or not a number counts as 1.
 */
export function bufferAheadWallS(media: {
  currentTime: number;
  playbackRate?: number;
  buffered: { length: number; start(i: number): number; end(i: number): number };
}): number {
  const rate = media.playbackRate;
  const ahead = bufferAheadS(media);
  return rate !== undefined && Number.isFinite(rate) && rate > 0 ? ahead / rate : ahead;
}

/**
 * Merge chunk indices into contiguous runs, for HTTP Range requests: [[first, last], ...].
 * Input need not be sorted.
 */
export function contiguousRuns(indices: readonly number[]): [number, number][] {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const runs: [number, number][] = [];
  for (const i of sorted) {
    const last = runs[runs.length - 1];
    if (last && last[1] === i - 1) last[1] = i;
    else runs.push([i, i]);
  }
  return runs;
}

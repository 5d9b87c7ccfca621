import { describe, expect, it } from "vitest";
import {
  bufferAheadS,
  bufferAheadWallS,
  ChunkScheduler,
  contiguousRuns,
  fogDeadlineMs,
} from "./schedule";

const all = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("ChunkScheduler", () => {
  it("spreads chunks over the top k nodes with bounded in-flight per node", () => {
    const s = new ChunkScheduler(
      10,
      [
        { node: "a", has: all(10) },
        { node: "b", has: all(10) },
        { node: "c", has: all(10) },
        { node: "d", has: all(10) }, // beyond k = 3: never used
      ],
      3,
      2,
    );
    const first = s.next();
    expect(first).toHaveLength(6); // 3 nodes x 2 slots
    const per = new Map<string, number>();
    for (const a of first) per.set(a.node, (per.get(a.node) ?? 0) + 1);
    expect(Object.fromEntries(per)).toEqual({ a: 2, b: 2, c: 2 });
    expect(first.map((a) => a.chunk)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(s.next()).toEqual([]); // all slots busy
    s.done(first[0]!);
    const more = s.next();
    expect(more).toEqual([{ chunk: 6, node: first[0]!.node }]);
    expect(s.inflightOn(first[0]!.node)).toBe(2);
  });

  it("sends chunks no chosen node holds straight to HTTP", () => {
    const s = new ChunkScheduler(4, [{ node: "a", has: [0, 2, 99, -1, 1.5] }], 3, 4);
    expect(s.httpChunks()).toEqual([1, 3]);
    expect(s.next().map((a) => a.chunk)).toEqual([0, 2]);
  });

  it("a failed chunk goes to HTTP, and a dropped node gets nothing more", () => {
    const s = new ChunkScheduler(
      4,
      [
        { node: "a", has: all(4) },
        { node: "b", has: [3] },
      ],
      2,
      1,
    );
    const [x, y] = s.next();
    expect(x).toEqual({ chunk: 0, node: "a" });
    expect(y).toEqual({ chunk: 3, node: "b" });
    expect(s.failed(x!, true)).toBe(true); // a is bad
    expect(s.httpChunks()).toEqual([0]);
    // 1 and 2 are held only by a, which is dropped: HTTP too.
    expect(s.next()).toEqual([]);
    expect(s.httpChunks()).toEqual([0, 1, 2]);
    expect(s.settled()).toBe(false); // 3 still in flight on b
    s.done(y!);
    expect(s.settled()).toBe(true);
  });

  it("a failure that keeps the node (busy) only moves that chunk", () => {
    const s = new ChunkScheduler(2, [{ node: "a", has: all(2) }], 1, 1);
    const [x] = s.next();
    s.failed(x!, false);
    expect(s.next()).toEqual([{ chunk: 1, node: "a" }]);
    expect(s.httpChunks()).toEqual([0]);
  });

  it("expire moves every pending and in-flight chunk to HTTP, and late results are ignored", () => {
    const s = new ChunkScheduler(5, [{ node: "a", has: all(5) }], 1, 2);
    const started = s.next();
    s.done(started[0]!);
    expect(s.expire()).toEqual([1, 2, 3, 4]);
    expect(s.failed(started[1]!, true)).toBe(false); // already HTTP's: not counted twice
    s.done(started[1]!); // arrives after the deadline: stays with HTTP
    expect(s.httpChunks()).toEqual([1, 2, 3, 4]);
    expect(s.next()).toEqual([]);
    expect(s.settled()).toBe(true);
  });

  it("steal asks the best idle holder not yet asked, once per chunk", () => {
    const s = new ChunkScheduler(
      2,
      [
        { node: "a", has: all(2) },
        { node: "b", has: all(2) },
        { node: "c", has: all(2) },
      ],
      3,
      1,
    );
    const [x, y] = s.next(); // 0 on a, 1 on b
    expect([x, y]).toEqual([
      { chunk: 0, node: "a" },
      { chunk: 1, node: "b" },
    ]);
    expect(s.steal(0)).toEqual({ chunk: 0, node: "c" }); // b is busy, c idle
    expect(s.steal(0)).toBeUndefined(); // two copies already
    expect(s.steal(1)).toBeUndefined(); // a and c busy
    s.done(x!); // a is idle again
    expect(s.steal(0)).toBeUndefined(); // chunk 0 is done
    expect(s.steal(1)).toEqual({ chunk: 1, node: "a" });
  });

  it("a stolen chunk goes to HTTP only when every copy failed, and a cancelled loser counts nothing", () => {
    const s = new ChunkScheduler(
      2,
      [
        { node: "a", has: all(2) },
        { node: "b", has: [0] },
      ],
      2,
      1,
    );
    const [x] = s.next(); // 0 on a; 1 waits for a (b does not hold it)
    const stolen = s.steal(0)!;
    expect(stolen).toEqual({ chunk: 0, node: "b" });
    expect(s.failed(x!, true)).toBe(false); // b still has it in flight
    expect(s.next()).toEqual([]); // only a held 1, and a is dropped: HTTP
    expect(s.httpChunks()).toEqual([1]);
    expect(s.failed(stolen, false)).toBe(true);
    expect(s.httpChunks()).toEqual([0, 1]);

    const t = new ChunkScheduler(
      1,
      [
        { node: "a", has: [0] },
        { node: "b", has: [0] },
      ],
      2,
      1,
    );
    const [p] = t.next();
    const q = t.steal(0)!;
    t.done(q);
    expect(t.failed(p!, false)).toBe(false); // the loser, cancelled: no fallback
    expect(t.inflightOn("a")).toBe(0);
    expect(t.settled()).toBe(true);
  });

  it("no nodes: everything is HTTP and settled at once", () => {
    const s = new ChunkScheduler(3, [], 3, 4);
    expect(s.httpChunks()).toEqual([0, 1, 2]);
    expect(s.settled()).toBe(true);
  });
});

describe("fogDeadlineMs", () => {
  const o = { minDeadlineMs: 1500, maxDeadlineMs: 8000, deadlineFraction: 0.5 };
  it("is a fraction of the buffer, clamped", () => {
    expect(fogDeadlineMs(0, o)).toBe(1500);
    expect(fogDeadlineMs(2, o)).toBe(1500); // 1000 < min
    expect(fogDeadlineMs(6, o)).toBe(3000);
    expect(fogDeadlineMs(30, o)).toBe(8000);
    expect(fogDeadlineMs(Number.NaN, o)).toBe(1500);
    expect(fogDeadlineMs(-4, o)).toBe(1500);
    expect(fogDeadlineMs(Infinity, o)).toBe(1500); // a broken media element is no licence to wait
  });
});

describe("bufferAheadS", () => {
  const media = (t: number, ranges: [number, number][]) => ({
    currentTime: t,
    buffered: {
      length: ranges.length,
      start: (i: number) => ranges[i]![0],
      end: (i: number) => ranges[i]![1],
    },
  });
  it("measures the range containing the playhead", () => {
    expect(bufferAheadS(media(5, [[0, 12]]))).toBe(7);
    expect(
      bufferAheadS(
        media(20, [
          [0, 10],
          [19.95, 30],
        ]),
      ),
    ).toBe(10);
    expect(bufferAheadS(media(15, [[0, 10]]))).toBe(0);
    expect(bufferAheadS(media(0, []))).toBe(0);
  });
  it("turns media seconds into wall seconds by the playback rate", () => {
    const m = (rate: number) => ({ ...media(5, [[0, 15]]), playbackRate: rate });
    expect(bufferAheadWallS(m(2))).toBe(5);
    expect(bufferAheadWallS(m(0.5))).toBe(20);
    expect(bufferAheadWallS(m(1))).toBe(10);
    expect(bufferAheadWallS(m(0))).toBe(10); // no usable rate: media seconds
    expect(bufferAheadWallS(m(NaN))).toBe(10);
    expect(bufferAheadWallS(media(5, [[0, 15]]))).toBe(10);
  });
});

describe("contiguousRuns", () => {
  it("merges indices into runs", () => {
    expect(contiguousRuns([5, 1, 2, 3, 7, 8, 2])).toEqual([
      [1, 3],
      [5, 5],
      [7, 8],
    ]);
    expect(contiguousRuns([])).toEqual([]);
  });
});

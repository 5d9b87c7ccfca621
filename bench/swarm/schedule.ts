// Deterministic viewer schedule: a seeded PRNG, a Zipf sampler over the catalogue, and per
// viewer an arrival offset and the sequence of items it watches. Both phases (HTTP-only
// anchor and fog) replay the same schedule.

/** mulberry32: small, fast, good enough for a benchmark schedule. Returns [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Sampler of ranks 0..n-1 with P(k) ∝ 1 / (k+1)^s (inverse CDF by binary search). */
export function zipfSampler(n: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / Math.pow(k + 1, s);
  return () => {
    const u = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export interface ViewerPlan {
  /** Arrival, milliseconds after the phase start. */
  arriveMs: number;
  /** Items watched in order (catalogue indices, 0 = most popular). */
  items: number[];
}

/** One plan per viewer; `maxItems` is more than a viewer can watch in a phase. */
export function makeSchedule(
  viewers: number,
  catalogue: number,
  zipf: number,
  arrivalSpreadMs: number,
  maxItems: number,
  seed: number,
): ViewerPlan[] {
  const rand = seededRandom(seed);
  const pick = zipfSampler(catalogue, zipf, rand);
  return Array.from({ length: viewers }, (_, v) => ({
    arriveMs: Math.round(((v + rand()) / viewers) * arrivalSpreadMs),
    items: Array.from({ length: maxItems }, pick),
  }));
}

/** Fills `buf` with bytes from a seeded PRNG (synthetic segment content). */
export function fillSeeded(buf: Uint8Array, seed: number): void {
  const rand = seededRandom(seed);
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2);
  for (let i = 0; i < words.length; i++) words[i] = (rand() * 4294967296) >>> 0;
  for (let i = words.length * 4; i < buf.length; i++) buf[i] = (rand() * 256) | 0;
}

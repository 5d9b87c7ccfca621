// The ray-tracing job of `npm run bench -- jobs`: a small scene (spheres over a checkered
// plane, one light, shadows, two reflection bounces, 4×4 supersampling) rendered in square
// tiles, one task per tile. The task source is plain ES5: it runs in any sandbox (node:vm,
// QuickJS). The result of a tile is its pixels as 0xRRGGBB integers, row by row. A tile says
// its supersampling (`ss` × `ss` rays a pixel): the bench sizes the job in work units with it.
export const RAYTRACE_SOURCE = `
function task(t) {
  var spheres = [
    { c: [0, 1, 6], r: 1, col: [0.9, 0.2, 0.2], refl: 0.3 },
    { c: [-2.2, 0.8, 7], r: 0.8, col: [0.2, 0.8, 0.3], refl: 0.2 },
    { c: [2.1, 0.7, 5.5], r: 0.7, col: [0.2, 0.4, 0.9], refl: 0.5 },
    { c: [0.4, 0.3, 4.2], r: 0.3, col: [0.9, 0.9, 0.2], refl: 0.1 }
  ];
  var light = norm([-0.6, 1, -0.5]);
  function sub(a, b) { return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]; }
  function dot(a, b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
  function scale(a, k) { return [a[0] * k, a[1] * k, a[2] * k]; }
  function add(a, b) { return [a[0] + b[0], a[1] + b[1], a[2] + b[2]]; }
  function norm(a) { var l = Math.sqrt(dot(a, a)); return [a[0] / l, a[1] / l, a[2] / l]; }
  function hit(o, d) {
    var best = { t: 1e9, s: null, plane: false };
    for (var i = 0; i < spheres.length; i++) {
      var s = spheres[i], oc = sub(o, s.c), b = dot(oc, d), c = dot(oc, oc) - s.r * s.r, h = b * b - c;
      if (h > 0) { var tt = -b - Math.sqrt(h); if (tt > 1e-4 && tt < best.t) best = { t: tt, s: s, plane: false }; }
    }
    if (d[1] < -1e-6) { var tp = -o[1] / d[1]; if (tp > 1e-4 && tp < best.t) best = { t: tp, s: null, plane: true }; }
    return best;
  }
  function trace(o, d, depth) {
    var h = hit(o, d);
    if (!h.s && !h.plane) { var k = 0.5 * (d[1] + 1); return [0.6 + 0.3 * k, 0.7 + 0.2 * k, 1]; }
    var p = add(o, scale(d, h.t)), n, col, refl;
    if (h.plane) { n = [0, 1, 0]; col = ((Math.floor(p[0]) + Math.floor(p[2])) & 1) ? [0.9, 0.9, 0.9] : [0.2, 0.2, 0.2]; refl = 0.15; }
    else { n = norm(sub(p, h.s.c)); col = h.s.col; refl = h.s.refl; }
    var diff = Math.max(0, dot(n, light));
    if (diff > 0 && (hit(add(p, scale(n, 1e-3)), light).t < 1e9)) diff *= 0.2;
    var c = scale(col, 0.15 + 0.85 * diff);
    if (depth < 2 && refl > 0) {
      var r = sub(d, scale(n, 2 * dot(d, n)));
      c = add(scale(c, 1 - refl), scale(trace(add(p, scale(n, 1e-3)), norm(r), depth + 1), refl));
    }
    return c;
  }
  var out = [], ss = t.ss || 4;
  for (var y = t.y; y < t.y + t.size; y++) {
    for (var x = t.x; x < t.x + t.size; x++) {
      var acc = [0, 0, 0];
      for (var sy = 0; sy < ss; sy++) for (var sx = 0; sx < ss; sx++) {
        var u = ((x + (sx + 0.5) / ss) / t.width - 0.5) * 2 * t.width / t.height;
        var v = (0.5 - (y + (sy + 0.5) / ss) / t.height) * 2;
        acc = add(acc, trace([0, 1.2, 0], norm([u, v - 0.1, 1.6]), 0));
      }
      var r8 = Math.min(255, Math.round(255 * acc[0] / (ss * ss)));
      var g8 = Math.min(255, Math.round(255 * acc[1] / (ss * ss)));
      var b8 = Math.min(255, Math.round(255 * acc[2] / (ss * ss)));
      out.push(r8 * 65536 + g8 * 256 + b8);
    }
  }
  return out;
}`;

export interface Tile {
  x: number;
  y: number;
  size: number;
  width: number;
  height: number;
  /** Rays a pixel: ss × ss (default 4). */
  ss?: number;
}

/** `cols` × `rows` tiles of `tile` pixels with `ss` × `ss` rays a pixel: cols × rows tasks. */
export function tiles(cols: number, rows: number, tile: number, ss = 4): Tile[] {
  const width = cols * tile;
  const height = rows * tile;
  const out: Tile[] = [];
  for (let ty = 0; ty < rows; ty++) {
    for (let tx = 0; tx < cols; tx++) {
      out.push({ x: tx * tile, y: ty * tile, size: tile, width, height, ss });
    }
  }
  return out;
}

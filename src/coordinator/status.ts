// The status page at "/": server-rendered HTML, no scripts or external assets. Shows the
// connected nodes, swarm offload (bytes browsers got from nodes vs. over HTTP) and bytes
// served per node over time as an inline SVG line chart.

export interface StatusNode {
  id: string;
  cluster: string;
  reachability: string;
  load: number;
  uplinkCapBps: number;
  uplinkUsedBps: number;
  storeBytes: number;
  storeCapBytes: number;
  credibility: number;
  lastSeenAgoMs: number;
  chunks: number;
  bytesServed: number;
  /** Bytes served per bucket, oldest first, one entry per bucket. */
  series: number[];
}

export interface StatusData {
  generatedAt: number;
  nodes: StatusNode[];
  browsers: number;
  contents: number;
  publishers: number;
  offload: { p2pBytes: number; httpBytes: number };
  bucketMs: number;
}

const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
];

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function offloadPercent(o: { p2pBytes: number; httpBytes: number }): number | undefined {
  const total = o.p2pBytes + o.httpBytes;
  return total > 0 ? (100 * o.p2pBytes) / total : undefined;
}

function shortId(id: string): string {
  return id.length > 24 ? `${id.slice(0, 14)}…${id.slice(-6)}` : id;
}

/** Inline SVG: one polyline per node over the buckets. */
export function renderChart(nodes: StatusNode[], bucketMs: number): string {
  const w = 720;
  const h = 200;
  const pad = 40;
  const buckets = Math.max(2, ...nodes.map((n) => n.series.length));
  const max = Math.max(1, ...nodes.flatMap((n) => n.series));
  const x = (i: number) => pad + ((w - 2 * pad) * i) / (buckets - 1);
  const y = (v: number) => h - pad + 10 - ((h - 2 * pad) * v) / max;
  const lines = nodes.map((n, k) => {
    const pts = n.series.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    const color = PALETTE[k % PALETTE.length] as string;
    return `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"><title>${escapeHtml(shortId(n.id))}</title></polyline>`;
  });
  const minutes = ((buckets * bucketMs) / 60000).toFixed(0);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="bytes served per node">`,
    `<rect x="0" y="0" width="${w}" height="${h}" fill="#fafafa" stroke="#ddd"/>`,
    `<line x1="${pad}" y1="${y(0)}" x2="${w - pad}" y2="${y(0)}" stroke="#999"/>`,
    `<text x="${pad}" y="16" font-size="11">${escapeHtml(formatBytes(max))} per ${(bucketMs / 1000).toFixed(0)} s</text>`,
    `<text x="${pad}" y="${h - 8}" font-size="11">-${minutes} min</text>`,
    `<text x="${w - pad}" y="${h - 8}" font-size="11" text-anchor="end">now</text>`,
    ...lines,
    `</svg>`,
  ].join("\n");
}

export function renderStatus(d: StatusData): string {
  const off = offloadPercent(d.offload);
  const rows = d.nodes.map((n, k) => {
    const color = PALETTE[k % PALETTE.length] as string;
    return `<tr><td><span style="color:${color}">■</span> <code title="${escapeHtml(n.id)}">${escapeHtml(shortId(n.id))}</code></td><td><code>${escapeHtml(shortId(n.cluster))}</code></td><td>${escapeHtml(n.reachability)}</td><td>${(n.load * 100).toFixed(0)}%</td><td>${escapeHtml(formatBytes(n.uplinkUsedBps))}/s of ${escapeHtml(formatBytes(n.uplinkCapBps))}/s</td><td>${escapeHtml(formatBytes(n.storeBytes))} of ${escapeHtml(formatBytes(n.storeCapBytes))}</td><td>${n.chunks}</td><td>${n.credibility.toFixed(2)}</td><td>${escapeHtml(formatBytes(n.bytesServed))}</td><td>${(n.lastSeenAgoMs / 1000).toFixed(1)} s</td></tr>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pear-fog coordinator</title>
<meta http-equiv="refresh" content="10">
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left}
.big{font-size:28px;font-weight:600}.cards{display:flex;gap:2em;margin:1em 0}
</style></head><body>
<h1>pear-fog coordinator</h1>
<div class="cards">
<div><div class="big">${d.nodes.length}</div>nodes online</div>
<div><div class="big">${d.browsers}</div>browsers</div>
<div><div class="big">${off === undefined ? "–" : `${off.toFixed(1)}%`}</div>swarm offload (${escapeHtml(formatBytes(d.offload.p2pBytes))} from nodes, ${escapeHtml(formatBytes(d.offload.httpBytes))} over HTTP)</div>
<div><div class="big">${d.contents}</div>contents from ${d.publishers} publishers</div>
</div>
<h2>Bytes served per node</h2>
${renderChart(d.nodes, d.bucketMs)}
<h2>Nodes</h2>
<table><thead><tr><th>node</th><th>cluster</th><th>reachability</th><th>load</th><th>uplink</th><th>store</th><th>chunks</th><th>credibility</th><th>served</th><th>last seen</th></tr></thead>
<tbody>
${rows.length ? rows.join("\n") : '<tr><td colspan="10">no nodes connected</td></tr>'}
</tbody></table>
<p><small>generated ${escapeHtml(new Date(d.generatedAt).toISOString())}</small></p>
</body></html>
`;
}

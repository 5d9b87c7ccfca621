// Benchmark output. Human-readable by default; with --json one object per line:
// {"metric","value","unit"} plus, when compared, {"anchor","anchor_value","ratio"}.
export interface Metric {
  metric: string;
  value: number;
  unit: string;
  /** What the value is compared with, measured in the same run on the same machine. */
  anchor?: string;
  anchor_value?: number;
}

export function report(m: Metric, json = process.argv.includes("--json")): void {
  const row: Record<string, string | number> = {
    metric: m.metric,
    value: round(m.value),
    unit: m.unit,
  };
  if (m.anchor !== undefined && m.anchor_value !== undefined) {
    row.anchor = m.anchor;
    row.anchor_value = round(m.anchor_value);
    row.ratio = round(m.anchor_value === 0 ? Number.NaN : m.value / m.anchor_value);
  }
  if (json) {
    console.log(JSON.stringify(row));
    return;
  }
  const cmp =
    row.anchor !== undefined
      ? `  (${row.anchor}: ${row.anchor_value} ${m.unit}, ratio ${row.ratio})`
      : "";
  console.log(`${m.metric.padEnd(28)} ${String(row.value).padStart(12)} ${m.unit}${cmp}`);
}

/** One --json line as read back (JSON has no NaN: a value that was not a number is null). */
export interface ReportLine {
  metric: string;
  value: number | null;
  unit: string;
  anchor?: string;
  anchor_value?: number | null;
  ratio?: number | null;
}

/** The --json lines of a bench's stdout by metric name (other lines are skipped). */
export function parseReportLines(stdout: string): Map<string, ReportLine> {
  return new Map(
    stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as ReportLine)
      .map((l) => [l.metric, l]),
  );
}

function round(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(6)) : v;
}

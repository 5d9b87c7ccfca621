// Command-line option parsing for the subcommands (node:util parseArgs), with usage errors.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { oneLine, UsageError } from "./errors";

export type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Parse `argv` for subcommand `cmd`; `--help`/`-h` is always accepted. */
export function parseCommandArgs(cmd: string, argv: string[], options: Options): Parsed {
  try {
    const r = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    return { values: r.values as Parsed["values"], positionals: r.positionals };
  } catch (e) {
    throw new UsageError(cmd, `${oneLine(e)} (see pear-fog ${cmd} --help)`);
  }
}

/** A required string option. */
export function requireString(cmd: string, p: Parsed, name: string): string {
  const v = p.values[name];
  if (typeof v !== "string" || v === "") {
    throw new UsageError(cmd, `--${name} is required (see pear-fog ${cmd} --help)`);
  }
  return v;
}

/** A non-negative integer option, with optional K/M suffix (KiB, MiB) when `sizes` is set. */
export function intOption(
  cmd: string,
  p: Parsed,
  name: string,
  fallback: number,
  sizes = false,
): number {
  const v = p.values[name];
  if (v === undefined) return fallback;
  const m = typeof v === "string" ? /^(\d+)([KkMm]?)$/.exec(v) : null;
  if (!m || (!sizes && m[2])) {
    throw new UsageError(cmd, `--${name}: not a non-negative integer: ${String(v)}`);
  }
  const mult = m[2] === "" ? 1 : m[2]!.toLowerCase() === "k" ? 1024 : 1024 * 1024;
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n)) throw new UsageError(cmd, `--${name}: too large: ${v}`);
  return n;
}

// Errors the CLI reports as one line, `pear-fog: <what>: <why>`, with an exit code.

/** Something went wrong doing `what`; exit code 1. */
export class CliError extends Error {
  constructor(
    readonly what: string,
    readonly why: string,
    readonly exitCode = 1,
  ) {
    super(`${what}: ${why}`);
    this.name = "CliError";
  }
}

/** Bad command line; exit code 2. */
export class UsageError extends CliError {
  constructor(what: string, why: string) {
    super(what, why, 2);
    this.name = "UsageError";
  }
}

/** One line, no stack: the message of any thrown value. */
export function oneLine(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.replace(/\s*\n\s*/g, " ");
}

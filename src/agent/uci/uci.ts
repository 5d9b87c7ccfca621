// UCI configuration files (OpenWrt's /etc/config/*), parsed and written the way libuci does.
//
// Syntax (libuci file.c):
//   package <name>
//   config <type> [<name>]        section; no name (or '') = anonymous, addressed @type[N]
//   option <name> <value>         a single value; a repeated option: the last one wins
//   list <name> <value>           appends to a list; `list` after `option` keeps the old value
//                                 as the first element, `option` after `list` replaces it
//   # comment                     a '#' outside quotes ends the line
// Tokens are separated by spaces/tabs. A token may concatenate unquoted, '…' (no escapes) and
// "…" (backslash escapes the next character) pieces; quoted pieces may span lines. A
// backslash at the end of a line continues the statement on the next line. CRLF line endings
// are accepted. A section name that appears twice is one section (later options override).
// Names: package and section type [A-Za-z0-9_-]+, section and option names [A-Za-z0-9_]+.

/** Most bytes accepted in one file (configs are tiny; this stops runaway input). */
export const MAX_UCI_BYTES = 1024 * 1024;

export type UciValue = string | string[];

export interface UciSection {
  type: string;
  /** undefined for an anonymous section. */
  name?: string;
  options: Map<string, UciValue>;
}

export interface UciFile {
  package?: string;
  sections: UciSection[];
}

/** A syntax error, with the 1-based line where the statement starts. */
export class UciError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = "UciError";
  }
}

const NAME_RE = /^[A-Za-z0-9_]+$/;
const TYPE_RE = /^[A-Za-z0-9_-]+$/;

interface Statement {
  line: number;
  tokens: string[];
}

/** Splits the text into statements of tokens, resolving quotes, escapes and continuations. */
function lex(text: string): Statement[] {
  const s = text.replace(/\r\n/g, "\n");
  const out: Statement[] = [];
  let pos = 0;
  let line = 1;
  let tokens: string[] = [];
  let startLine = 1;
  const endStatement = () => {
    if (tokens.length > 0) out.push({ line: startLine, tokens });
    tokens = [];
  };
  while (pos <= s.length) {
    const c = s[pos];
    if (c === undefined) {
      endStatement();
      break;
    }
    if (c === " " || c === "\t" || c === "\r") {
      pos++;
      continue;
    }
    if (c === "\n") {
      endStatement();
      pos++;
      line++;
      startLine = line;
      continue;
    }
    if (c === "#") {
      while (pos < s.length && s[pos] !== "\n") pos++;
      continue;
    }
    if (c === "\\" && s[pos + 1] === "\n") {
      pos += 2;
      line++;
      continue;
    }
    if (tokens.length === 0) startLine = line;
    // One token: concatenated unquoted / '…' / "…" pieces.
    let tok = "";
    for (;;) {
      const d = s[pos];
      if (d === undefined || d === " " || d === "\t" || d === "\n" || d === "#") break;
      if (d === "\r") {
        pos++;
        continue;
      }
      if (d === "\\") {
        const e = s[pos + 1];
        if (e === undefined) throw new UciError(line, "backslash at end of file");
        pos += 2;
        if (e === "\n") line++;
        else tok += e;
        continue;
      }
      if (d === "'") {
        const end = s.indexOf("'", pos + 1);
        if (end < 0) throw new UciError(line, "unterminated ' quote");
        const piece = s.slice(pos + 1, end);
        line += countNewlines(piece);
        tok += piece;
        pos = end + 1;
        continue;
      }
      if (d === '"') {
        const quoteLine = line;
        pos++;
        for (;;) {
          const e = s[pos];
          if (e === undefined) throw new UciError(quoteLine, 'unterminated " quote');
          if (e === '"') {
            pos++;
            break;
          }
          if (e === "\\") {
            const f = s[pos + 1];
            if (f === undefined) throw new UciError(quoteLine, 'unterminated " quote');
            pos += 2;
            if (f === "\n") line++;
            else tok += f;
            continue;
          }
          if (e === "\n") line++;
          tok += e;
          pos++;
        }
        continue;
      }
      tok += d;
      pos++;
    }
    tokens.push(tok);
  }
  return out;
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) n++;
  return n;
}

/** Parses UCI text. Throws UciError with the line number on invalid syntax. */
export function parseUci(text: string): UciFile {
  if (text.length > MAX_UCI_BYTES) throw new UciError(1, `file larger than ${MAX_UCI_BYTES} bytes`);
  const file: UciFile = { sections: [] };
  const named = new Map<string, UciSection>();
  let current: UciSection | undefined;
  for (const { line, tokens } of lex(text)) {
    const [keyword, ...args] = tokens as [string, ...string[]];
    const arity = (min: number, max: number) => {
      if (args.length < min) throw new UciError(line, `${keyword}: missing argument`);
      if (args.length > max) throw new UciError(line, `${keyword}: too many arguments`);
    };
    switch (keyword) {
      case "package": {
        arity(1, 1);
        const name = args[0] as string;
        if (!TYPE_RE.test(name))
          throw new UciError(line, `invalid package name ${JSON.stringify(name)}`);
        file.package = name;
        current = undefined;
        break;
      }
      case "config": {
        arity(1, 2);
        const type = args[0] as string;
        const name = args[1] ?? "";
        if (!TYPE_RE.test(type))
          throw new UciError(line, `invalid section type ${JSON.stringify(type)}`);
        if (name !== "" && !NAME_RE.test(name)) {
          throw new UciError(line, `invalid section name ${JSON.stringify(name)}`);
        }
        const existing = name === "" ? undefined : named.get(name);
        if (existing) {
          existing.type = type;
          current = existing;
        } else {
          current = name === "" ? { type, options: new Map() } : { type, name, options: new Map() };
          file.sections.push(current);
          if (name !== "") named.set(name, current);
        }
        break;
      }
      case "option":
      case "list": {
        if (!current) throw new UciError(line, `${keyword} outside of a config section`);
        arity(2, 2);
        const name = args[0] as string;
        const value = args[1] as string;
        if (!NAME_RE.test(name))
          throw new UciError(line, `invalid option name ${JSON.stringify(name)}`);
        if (keyword === "option") {
          current.options.delete(name); // last wins, and moves to the end like libuci
          current.options.set(name, value);
        } else {
          const old = current.options.get(name);
          const list = old === undefined ? [] : Array.isArray(old) ? old : [old];
          list.push(value);
          current.options.set(name, list);
        }
        break;
      }
      default:
        throw new UciError(line, `unknown keyword ${JSON.stringify(keyword.slice(0, 40))}`);
    }
  }
  return file;
}

/** Quotes a value for UCI output: '…' with embedded ' written as '\''. */
export function quoteUci(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}

/** Writes a UciFile as text; parseUci(writeUci(f)) equals f. */
export function writeUci(file: UciFile): string {
  const out: string[] = [];
  if (file.package !== undefined) out.push(`package ${quoteUci(file.package)}`, "");
  for (const sec of file.sections) {
    out.push(
      sec.name === undefined
        ? `config ${quoteUci(sec.type)}`
        : `config ${quoteUci(sec.type)} ${quoteUci(sec.name)}`,
    );
    for (const [name, value] of sec.options) {
      if (Array.isArray(value)) for (const v of value) out.push(`\tlist ${name} ${quoteUci(v)}`);
      else out.push(`\toption ${name} ${quoteUci(value)}`);
    }
    out.push("");
  }
  return out.join("\n");
}

/**
 * Finds a section by name or by libuci's anonymous reference `@type[N]` (N from 0; negative N
 * counts from the end, -1 = last).
 */
export function findSection(file: UciFile, ref: string): UciSection | undefined {
  const m = /^@([A-Za-z0-9_-]+)\[(-?\d+)\]$/.exec(ref);
  if (!m) return file.sections.find((s) => s.name === ref);
  const ofType = file.sections.filter((s) => s.type === m[1]);
  const n = Number(m[2]);
  return ofType[n < 0 ? ofType.length + n : n];
}

/** A single-valued option (the last list element if it is a list). */
export function getOption(section: UciSection, name: string): string | undefined {
  const v = section.options.get(name);
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** A list option (a single option reads as a one-element list). */
export function getList(section: UciSection, name: string): string[] {
  const v = section.options.get(name);
  return v === undefined ? [] : Array.isArray(v) ? [...v] : [v];
}

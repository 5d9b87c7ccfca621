// Stand-in for "vitest" when the agent's and protocol's unit tests run inside pear-fogd
// (QuickJS-ng): `make -C libs/webrtc-native agent-tests` bundles them with this module aliased for
// "vitest". It implements what those tests use (describe, it/test, it.each, expect with toBe,
// toEqual, toThrow, toBeUndefined, toBeNull, toBeDefined, toContain, toBeInstanceOf, toMatch,
// toMatchObject, toBeGreaterThan, toBeLessThan, .not) with vitest's semantics for them; anything
// else throws "unsupported", so a test cannot pass by accident. runRegistered() runs the tests in
// order and returns one result per test.

type TestFn = () => unknown;

interface Case {
  name: string;
  fn: TestFn;
}

const cases: Case[] = [];
const prefix: string[] = [];

export function describe(name: string, fn: () => void): void {
  prefix.push(name);
  try {
    fn();
  } finally {
    prefix.pop();
  }
}

function fmtName(name: string, args: unknown[], index: number): string {
  let i = 0;
  return name.replace(/%[sdijo%#]/g, (m) => {
    if (m === "%%") return "%";
    if (m === "%#") return String(index);
    const a = args[i++];
    return m === "%j" || m === "%o" ? JSON.stringify(a) : String(a);
  });
}

function register(name: string, fn: TestFn): void {
  cases.push({ name: [...prefix, name].join(" > "), fn });
}

type EachFn = <T>(rows: readonly T[]) => (name: string, fn: (...args: never[]) => unknown) => void;

const each: EachFn = (rows) => (name, fn) => {
  rows.forEach((row, index) => {
    const args = Array.isArray(row) ? (row as unknown[]) : [row];
    register(fmtName(name, args, index), () => (fn as (...a: unknown[]) => unknown)(...args));
  });
};

export const it = Object.assign((name: string, fn: TestFn) => register(name, fn), { each });
export const test = it;

class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

function show(v: unknown): string {
  if (v instanceof Uint8Array) return `Uint8Array[${Array.from(v).join(",")}]`;
  if (typeof v === "string") return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** vitest's toEqual: recursive, undefined-valued properties ignored, types by constructor. */
function equals(a: unknown, b: unknown, subset = false): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.constructor !== b.constructor)
      return false;
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    return a.every((v, i) => equals(v, b[i], subset));
  }
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map && b instanceof Map) || a.size !== b.size) return false;
    return [...a].every(([k, v]) => b.has(k) && equals(v, b.get(k), subset));
  }
  if (a instanceof Set || b instanceof Set) {
    if (!(a instanceof Set && b instanceof Set) || a.size !== b.size) return false;
    return [...a].every((v) => b.has(v));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);
  if (subset) return keys(rb).every((k) => equals(ra[k], rb[k], true));
  const ka = keys(ra);
  const kb = keys(rb);
  return ka.length === kb.length && ka.every((k) => kb.includes(k) && equals(ra[k], rb[k]));
}

type Ctor = abstract new (...args: never[]) => unknown;

function matchers(actual: unknown, negate: boolean) {
  const check = (ok: boolean, what: string) => {
    if (ok === negate)
      throw new AssertionError(`expected ${show(actual)} ${negate ? "not " : ""}${what}`);
  };
  return {
    toBe: (e: unknown) => check(Object.is(actual, e), `to be ${show(e)}`),
    toEqual: (e: unknown) => check(equals(actual, e), `to equal ${show(e)}`),
    toStrictEqual: (e: unknown) => check(equals(actual, e), `to strictly equal ${show(e)}`),
    toMatchObject: (e: unknown) => check(equals(actual, e, true), `to match ${show(e)}`),
    toBeUndefined: () => check(actual === undefined, "to be undefined"),
    toBeDefined: () => check(actual !== undefined, "to be defined"),
    toBeNull: () => check(actual === null, "to be null"),
    toBeTruthy: () => check(Boolean(actual), "to be truthy"),
    toBeFalsy: () => check(!actual, "to be falsy"),
    toBeGreaterThan: (n: number) => check((actual as number) > n, `to be > ${n}`),
    toBeGreaterThanOrEqual: (n: number) => check((actual as number) >= n, `to be >= ${n}`),
    toBeLessThan: (n: number) => check((actual as number) < n, `to be < ${n}`),
    toBeLessThanOrEqual: (n: number) => check((actual as number) <= n, `to be <= ${n}`),
    toBeInstanceOf: (c: Ctor) => check(actual instanceof c, `to be an instance of ${c.name}`),
    toHaveLength: (n: number) =>
      check((actual as { length?: number })?.length === n, `to have length ${n}`),
    toContain: (x: unknown) =>
      check(
        typeof actual === "string"
          ? actual.includes(String(x))
          : Array.isArray(actual) && actual.some((v) => Object.is(v, x)),
        `to contain ${show(x)}`,
      ),
    toMatch: (re: RegExp | string) =>
      check(
        typeof actual === "string" &&
          (typeof re === "string" ? actual.includes(re) : re.test(actual)),
        `to match ${String(re)}`,
      ),
    toThrow: (e?: RegExp | string | Ctor) => {
      if (typeof actual !== "function") throw new AssertionError("toThrow needs a function");
      let thrown: unknown;
      let did = false;
      try {
        (actual as () => unknown)();
      } catch (x) {
        thrown = x;
        did = true;
      }
      const msg = thrown instanceof Error ? thrown.message : String(thrown);
      let ok = did;
      if (did && e !== undefined) {
        if (typeof e === "string") ok = msg.includes(e);
        else if (e instanceof RegExp) ok = e.test(msg);
        else ok = thrown instanceof e;
      }
      if (ok === negate)
        throw new AssertionError(
          `expected function ${negate ? "not " : ""}to throw ${e === undefined ? "" : String(e instanceof RegExp || typeof e === "string" ? e : e.name)}${did ? ` (threw ${msg})` : " (did not throw)"}`,
        );
    },
  };
}

export function expect(actual: unknown) {
  return Object.assign(matchers(actual, false), { not: matchers(actual, true) });
}

export interface CaseResult {
  name: string;
  ok: boolean;
  error?: string;
}

/** Run every registered test in registration order (async tests awaited). */
export async function runRegistered(): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for (const c of cases) {
    try {
      await c.fn();
      out.push({ name: c.name, ok: true });
    } catch (e) {
      out.push({ name: c.name, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

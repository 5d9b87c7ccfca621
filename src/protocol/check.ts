// The validation helpers the wire messages are checked with (a tiny schema language), and the
// error a rejected frame raises. Shared by messages.ts and the message families beside it
// (jobs.ts), so each family keeps its own definitions without an import cycle. Pure.
export type ProtocolErrorCode = "unknown_type" | "invalid" | "too_large";

/** A received frame was rejected. `detail` names the field or limit. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = "ProtocolError";
  }
}

// ---- validation helpers (a tiny schema language) ----
export type Check<T> = (v: unknown, path: string) => T;

export function fail(path: string, what: string): never {
  throw new ProtocolError("invalid", `${path}: ${what}`);
}

export function str(max: number, re?: RegExp): Check<string> {
  return (v, path) => {
    if (typeof v !== "string") fail(path, "expected string");
    if (v.length > max) throw new ProtocolError("too_large", `${path}: longer than ${max}`);
    if (re && !re.test(v)) fail(path, "bad format");
    return v;
  };
}

export function num(min: number, max: number, integer = false): Check<number> {
  return (v, path) => {
    if (typeof v !== "number" || !Number.isFinite(v)) fail(path, "expected finite number");
    if (integer && !Number.isSafeInteger(v)) fail(path, "expected integer");
    if (v < min || v > max) fail(path, `out of range [${min}, ${max}]`);
    return v;
  };
}

export function bool(): Check<boolean> {
  return (v, path) => {
    if (typeof v !== "boolean") fail(path, "expected boolean");
    return v;
  };
}

export function oneOf<const T extends string>(values: readonly T[]): Check<T> {
  return (v, path) => {
    if (typeof v !== "string" || !(values as readonly string[]).includes(v)) {
      fail(path, `expected one of ${values.join("|")}`);
    }
    return v as T;
  };
}

export function arr<T>(max: number, item: Check<T>): Check<T[]> {
  return (v, path) => {
    if (!Array.isArray(v)) fail(path, "expected array");
    if (v.length > max) throw new ProtocolError("too_large", `${path}: more than ${max} items`);
    return v.map((x, i) => item(x, `${path}[${i}]`));
  };
}

export type Shape = Record<string, Check<unknown>>;

type Out<S extends Shape, O extends Shape> = { [K in keyof S]: ReturnType<S[K]> } & {
  [K in keyof O]?: ReturnType<O[K]>;
};

export function obj<S extends Shape, O extends Shape = Record<never, never>>(
  required: S,
  optional?: O,
): Check<Out<S, O>> {
  return (v, path) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) fail(path, "expected object");
    const rec = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(rec)) {
      if (!Object.hasOwn(required, key) && !(optional && Object.hasOwn(optional, key))) {
        fail(`${path}.${key}`, "unexpected field");
      }
    }
    for (const [key, check] of Object.entries(required)) {
      if (!Object.hasOwn(rec, key)) fail(`${path}.${key}`, "missing");
      out[key] = check(rec[key], `${path}.${key}`);
    }
    if (optional) {
      for (const [key, check] of Object.entries(optional)) {
        if (Object.hasOwn(rec, key) && rec[key] !== undefined) {
          out[key] = check(rec[key], `${path}.${key}`);
        }
      }
    }
    return out as Out<S, O>;
  };
}

/**
 * Any JSON value (what JSON.parse gives), nested at most `maxDepth` deep. Numbers must be
 * finite (JSON has no others); the frame size caps everything else.
 */
export function json(maxDepth: number): Check<unknown> {
  const walk = (v: unknown, path: string, depth: number): unknown => {
    if (v === null || typeof v === "string" || typeof v === "boolean") return v;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) fail(path, "expected finite number");
      return v;
    }
    if (typeof v !== "object") return fail(path, "expected a JSON value");
    if (depth >= maxDepth) fail(path, `nested deeper than ${maxDepth}`);
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${path}[${i}]`, depth + 1));
      return v;
    }
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      walk(x, `${path}.${k.slice(0, 32)}`, depth + 1);
    }
    return v;
  };
  return (v, path) => walk(v, path, 0);
}

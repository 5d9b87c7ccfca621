// What QuickJS-ng lacks and the agent's modules use as globals: TextEncoder/TextDecoder (UTF-8
// only), setTimeout/clearTimeout/setInterval/clearInterval on pear-fogd's loop, and console
// (to pear-fogd's log). Installed once by entry.ts before the agent is imported; anything the
// engine already has is left alone.
import * as fog from "pear-fog:native";

class Utf8Encoder {
  readonly encoding = "utf-8";
  encode(s = ""): Uint8Array {
    return fog.utf8Encode(s);
  }
}

class Utf8Decoder {
  readonly encoding = "utf-8";
  constructor(label = "utf-8") {
    if (!/^utf-?8$/i.test(label)) throw new RangeError(`TextDecoder: only utf-8, not '${label}'`);
  }
  decode(b?: ArrayBufferView | ArrayBuffer): string {
    if (b === undefined) return "";
    const u8 =
      b instanceof Uint8Array
        ? b
        : b instanceof ArrayBuffer
          ? new Uint8Array(b)
          : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return fog.utf8Decode(u8);
  }
}

type TimerFn = (...args: unknown[]) => void;

/** Interval handles live in this map so clearInterval can stop the next re-arm. */
const intervals = new Map<number, number>();
let intervalSeq = 0;

function installTimers(g: Record<string, unknown>): void {
  g.setTimeout = (fn: TimerFn, ms = 0, ...args: unknown[]) => fog.setTimeout(() => fn(...args), ms);
  g.clearTimeout = (id: unknown) => {
    if (typeof id === "number") fog.clearTimeout(id);
  };
  g.setInterval = (fn: TimerFn, ms = 0, ...args: unknown[]) => {
    const handle = --intervalSeq; // negative: never collides with a fog timer id
    const arm = () => {
      intervals.set(
        handle,
        fog.setTimeout(() => {
          arm();
          fn(...args);
        }, ms),
      );
    };
    arm();
    return handle;
  };
  g.clearInterval = (h: unknown) => {
    if (typeof h !== "number") return;
    const id = intervals.get(h);
    if (id !== undefined) fog.clearTimeout(id);
    intervals.delete(h);
  };
}

function fmt(args: unknown[]): string {
  return args
    .map((a) => {
      if (typeof a === "string") return a;
      if (a instanceof Error) return a.stack ? `${a.message}\n${a.stack}` : a.message;
      try {
        return JSON.stringify(a);
      } catch {
        return String(a);
      }
    })
    .join(" ");
}

/** Install the missing globals (idempotent). */
export function installGlobals(): void {
  const g = globalThis as unknown as Record<string, unknown>;
  if (typeof g.TextEncoder !== "function") g.TextEncoder = Utf8Encoder;
  if (typeof g.TextDecoder !== "function") g.TextDecoder = Utf8Decoder;
  if (typeof g.setTimeout !== "function") installTimers(g);
  if (typeof g.console !== "object" || g.console === null) {
    g.console = {
      log: (...a: unknown[]) => fog.log("info", fmt(a)),
      info: (...a: unknown[]) => fog.log("info", fmt(a)),
      debug: (...a: unknown[]) => fog.log("debug", fmt(a)),
      warn: (...a: unknown[]) => fog.log("warn", fmt(a)),
      error: (...a: unknown[]) => fog.log("error", fmt(a)),
    };
  }
}

// Node globals the unit tests (not the agent) use, for running them inside pear-fogd
// (`make agent-tests`): a Buffer with just from(bytes | hex string) and equals(), and
// structuredClone for plain data (objects, arrays, typed arrays, Date, Map, Set). Anything else
// throws, so a test cannot pass on a stand-in that silently does less.
class TestBuffer extends Uint8Array {
  static override from(src: unknown, enc?: unknown): TestBuffer {
    if (typeof src === "string") {
      if (enc !== "hex" || !/^([0-9a-fA-F]{2})*$/.test(src))
        throw new Error(`test Buffer.from: only hex strings, not ${String(enc)}`);
      const b = new TestBuffer(src.length / 2);
      for (let i = 0; i < b.length; i++) b[i] = parseInt(src.slice(2 * i, 2 * i + 2), 16);
      return b;
    }
    if (src instanceof Uint8Array || Array.isArray(src)) {
      const b = new TestBuffer(src.length);
      b.set(src);
      return b;
    }
    throw new Error("test Buffer.from: only Uint8Array, arrays and hex strings");
  }
  equals(o: Uint8Array): boolean {
    return this.length === o.length && this.every((v, i) => v === o[i]);
  }
}

function clone(v: unknown, seen: Map<object, unknown>): unknown {
  if (typeof v !== "object" || v === null) {
    if (typeof v === "function" || typeof v === "symbol")
      throw new Error("structuredClone: not cloneable");
    return v;
  }
  if (seen.has(v)) return seen.get(v);
  if (ArrayBuffer.isView(v)) return (v as Uint8Array).slice();
  if (v instanceof Date) return new Date(v.getTime());
  if (v instanceof Map) {
    const m = new Map();
    seen.set(v, m);
    for (const [k, x] of v) m.set(clone(k, seen), clone(x, seen));
    return m;
  }
  if (v instanceof Set) {
    const s = new Set();
    seen.set(v, s);
    for (const x of v) s.add(clone(x, seen));
    return s;
  }
  const out: Record<string, unknown> | unknown[] = Array.isArray(v) ? [] : {};
  seen.set(v, out);
  for (const [k, x] of Object.entries(v)) (out as Record<string, unknown>)[k] = clone(x, seen);
  return out;
}

const g = globalThis as unknown as Record<string, unknown>;
if (typeof g.Buffer !== "function") g.Buffer = TestBuffer;
if (typeof g.structuredClone !== "function")
  g.structuredClone = (v: unknown) => clone(v, new Map());

// Bounded HTTP(S) GET for publish: size cap, timeout, http/https only.
import { CliError } from "./errors";

export interface FetchLimits {
  /** Largest body accepted, bytes. */
  maxBytes: number;
  /** Whole-request timeout, milliseconds. */
  timeoutMs: number;
}

/** GET `url` and return the body. Throws CliError("fetch <url>", why). */
export async function fetchBytes(url: string, lim: FetchLimits): Promise<Uint8Array> {
  const what = `fetch ${url}`;
  if (!/^https?:\/\//.test(url)) throw new CliError(what, "only http and https URLs");
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), lim.timeoutMs);
  try {
    let res: Response;
    try {
      res = await fetch(url, { signal: ctl.signal, redirect: "follow" });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        what,
        ctl.signal.aborted
          ? `timeout after ${lim.timeoutMs} ms`
          : (cause?.code ?? cause?.message ?? String(e)),
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new CliError(what, `HTTP ${res.status} ${res.statusText}`.trim());
    }
    const len = Number(res.headers.get("content-length") ?? "0");
    if (len > lim.maxBytes) {
      await res.body?.cancel();
      throw new CliError(what, `${len} bytes, limit ${lim.maxBytes}`);
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch {
          throw new CliError(
            what,
            ctl.signal.aborted ? `timeout after ${lim.timeoutMs} ms` : "connection lost",
          );
        }
        if (r.done) break;
        total += r.value.length;
        if (total > lim.maxBytes) {
          await reader.cancel();
          throw new CliError(what, `more than ${lim.maxBytes} bytes`);
        }
        parts.push(r.value);
      }
    }
    const out = new Uint8Array(total);
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}

/** Absolute http(s) URL of `ref` relative to `base`, or a CliError. */
export function resolveUrl(ref: string, base: string, what: string): string {
  let u: URL;
  try {
    u = new URL(ref, base);
  } catch {
    throw new CliError(what, `bad URL ${JSON.stringify(ref)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new CliError(what, `not an http(s) URL: ${u.href}`);
  }
  u.hash = "";
  return u.href;
}

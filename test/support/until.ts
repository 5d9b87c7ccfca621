// Polling until a condition holds: the one helper the integration tests wait with.

/**
 * Calls `f` every `pollMs` until it returns something other than undefined or false, and
 * returns that; throws "timed out waiting for <what>" after `ms` milliseconds.
 */
export async function until<T>(
  what: string,
  f: () => T | undefined | false | Promise<T | undefined | false>,
  ms: number,
  pollMs: number,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

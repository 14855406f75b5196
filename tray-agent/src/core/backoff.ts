// Reconnect backoff: exponential with full jitter (a random wait between 0 and min(cap, base·2^n)),
// so a fleet whose server comes back does not reconnect in lockstep.

/** Milliseconds to wait before attempt `failures` (1 = first retry). `random` returns [0, 1). */
export function backoffDelay(
  failures: number,
  opts: { baseMs?: number; capMs: number; random?: () => number },
): number {
  const base = opts.baseMs ?? 1000;
  const ceiling = Math.min(opts.capMs, base * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  const r = (opts.random ?? Math.random)();
  // Never zero: at least a short pause, so a dead server is not hammered.
  return Math.max(100, Math.floor(r * ceiling));
}

/** A sleep that an AbortSignal ends early (resolves, never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export type Sleep = typeof sleep;

// Waits of the fault suites that follow the work done, not the clock: on a busy machine a fixed sleep
// sees little work and a fixed deadline cuts a slow drain short, so each wait here is for an amount of
// work (or for the end of progress), with a deadline only as the bound of a real failure.
import { sleep, type Ledger } from "../helpers/fleet-sim.ts";

/**
 * Waits until, from the call on, the fleet's queue calls returned `queued` more actions and its
 * result reports returned `reported` more results (the ledger grows only as calls return). Returns
 * null once they have, or a sentence saying what was missing after `timeoutMs` (a stalled fleet).
 */
export async function waitForWork(
  ledger: Ledger,
  want: { queued?: number; reported?: number },
  timeoutMs = 60_000,
): Promise<string | null> {
  const queued0 = ledger.queued.size;
  const reported0 = ledger.reported.size;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const queued = ledger.queued.size - queued0;
    const reported = ledger.reported.size - reported0;
    if (queued >= (want.queued ?? 0) && reported >= (want.reported ?? 0)) return null;
    if (Date.now() > deadline)
      return `the fleet did ${queued}/${want.queued ?? 0} queue calls and ${reported}/${want.reported ?? 0} result reports in ${timeoutMs / 1000} s`;
    await sleep(20);
  }
}

/** Polls `done` every 20 ms; true once it holds, false if it still does not after `timeoutMs`. */
export async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/**
 * Runs `cycle` (every agent polls, acks, runs and reports once) until `remaining` (open actions plus
 * unconfirmed journal entries) is zero. Gives up only when `stallMs` pass without a new low: a slow
 * machine drains slowly but steadily, a lost action stalls it. True when drained.
 */
export async function drainUntilIdle(
  cycle: () => Promise<void>,
  remaining: () => Promise<number> | number,
  stallMs = 30_000,
): Promise<boolean> {
  let best = Infinity;
  let progressAt = Date.now();
  for (;;) {
    await cycle();
    const left = await remaining();
    if (left === 0) return true;
    if (left < best) {
      best = left;
      progressAt = Date.now();
    } else if (Date.now() - progressAt > stallMs) return false;
    await sleep(200);
  }
}

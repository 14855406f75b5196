// Fixed-window rate limits in memory, keyed by caller. Throws TOO_MANY_REQUESTS with a retry hint.
import { TRPCError } from "@trpc/server";
import type { Clock } from "../clock.ts";

export class RateLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();
  #lastSweep = 0;
  constructor(private readonly clock: Clock) {}

  /** Counts one hit on `key`; throws when more than `perMinute` fell in the current minute. */
  hit(key: string, perMinute: number, what = "requests"): void {
    const now = this.clock.now().getTime();
    let w = this.#windows.get(key);
    if (!w || now - w.start >= 60_000) {
      w = { start: now, count: 0 };
      this.#windows.set(key, w);
      // A fleet of 100,000 machines keeps 200,000 live windows (polls and reports): sweep at most every
      // 10 s, or every new window would walk them all.
      if (this.#windows.size > 200_000 && now - this.#lastSweep >= 10_000) this.#sweep(now);
    }
    w.count += 1;
    if (w.count > perMinute) {
      const retryAfterSeconds = Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000));
      throw new TRPCError({
        code: "TOO_MANY_REQUESTS",
        message: `Too many ${what}: at most ${perMinute} per minute. Retry in ${retryAfterSeconds} s`,
        cause: Object.assign(new Error("rate limited"), { retryAfterSeconds }),
      });
    }
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [k, w] of this.#windows) if (now - w.start >= 60_000) this.#windows.delete(k);
  }
}

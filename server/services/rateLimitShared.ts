// Rate limits shared by every server process on one PostgreSQL database (several DASHFLEET_WORKERS,
// several hosts): with per-process counters, N processes would give a guesser N budgets. The counters
// live in one table through rate-limiter-flexible's PostgreSQL store (a maintained library; it creates
// the table and handles two processes creating it at once). On SQLite (one process) the same limits
// count in memory. Used for the limits that face callers without a credential of their own: sign-in
// (loginLimits.ts) and enrollment (EnrollLimits below). Agents' and admins' per-token budgets stay per
// process (rateLimit.ts: the hot path; docs/deploy.md gives their N× bound).
import pg from "pg";
import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRes,
  type RateLimiterAbstract,
} from "rate-limiter-flexible";
import { rateLimited } from "../domain/errors.ts";
import type { RateLimiter } from "./rateLimit.ts";

/** The table of shared counters on PostgreSQL (key, points, expire). */
export const SHARED_LIMITS_TABLE = "dashfleet_rate_limits";
/** Connections of the store's own pool (sign-ins and enrollments are rare; they wait for one). */
const SHARED_POOL_MAX = 2;

/** Builds one counter: a name (key prefix), a budget of points and its window in seconds. */
export type LimiterFactory = (keyPrefix: string, points: number, duration: number) => RateLimiterAbstract;

/** Counters in this process's memory. */
export const inMemoryLimiter: LimiterFactory = (keyPrefix, points, duration) =>
  new RateLimiterMemory({ keyPrefix, points, duration });

/** Counters in PostgreSQL, and the pool they use. */
export type SharedLimitStore = { make: LimiterFactory; close: () => Promise<void> };

/**
 * Opens the shared store: a small pool of its own (the Prisma adapter's pool is not reachable from
 * here) and the table, created before the first use. Idle connections close after a few seconds and
 * never keep a stopping process alive.
 */
export async function openSharedLimitStore(databaseUrl: string): Promise<SharedLimitStore> {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: SHARED_POOL_MAX,
    idleTimeoutMillis: 5_000,
    allowExitOnIdle: true,
  });
  // An idle connection cut by the database (a restart, a failover) is only dropped from the pool; the
  // next attempt opens another. Without a listener the pool's "error" event would end the process.
  pool.on("error", () => {});
  // Expired rows are deleted by one timer (the library's: rows expired an hour ago, every 5 minutes).
  let first = true;
  const make: LimiterFactory = (keyPrefix, points, duration) => {
    const clearExpiredByTimeout = first;
    first = false;
    return new RateLimiterPostgres({
      storeClient: pool,
      storeType: "pool",
      tableName: SHARED_LIMITS_TABLE,
      tableCreated: true,
      clearExpiredByTimeout,
      keyPrefix,
      points,
      duration,
    });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      new RateLimiterPostgres(
        {
          storeClient: pool,
          storeType: "pool",
          tableName: SHARED_LIMITS_TABLE,
          clearExpiredByTimeout: false,
          points: 1,
          duration: 1,
        },
        (err?: Error) => (err ? reject(err) : resolve()),
      );
    });
  } catch (err) {
    await pool.end();
    throw err;
  }
  return { make, close: () => pool.end() };
}

/**
 * Enrollment attempts per minute, per agent key (or machine) and per client address. In memory on
 * SQLite (the injected clock's fixed windows, rateLimit.ts); on PostgreSQL one budget for every
 * process, so N processes do not multiply it.
 */
export class EnrollLimits {
  readonly #shared: RateLimiterAbstract | null;

  constructor(
    private readonly memory: RateLimiter,
    store: SharedLimitStore | null,
    private readonly perMinute: number,
  ) {
    this.#shared = store ? store.make("enroll", perMinute, 60) : null;
  }

  /** Counts one attempt on `key`; refuses (TOO_MANY_REQUESTS naming `what`) past the budget. */
  async hit(key: string, what: string): Promise<void> {
    if (!this.#shared) return this.memory.hit(key, this.perMinute, what);
    try {
      await this.#shared.consume(key);
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res instanceof Error ? res : new Error(String(res));
      const seconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
      throw rateLimited(`Too many ${what}: at most ${this.perMinute} per minute. Retry in ${seconds} s`, seconds);
    }
  }
}

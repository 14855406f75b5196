// The retention job that keeps the database bounded: every few minutes it rolls raw metric reports up
// into 5-minute and hourly aggregates, then prunes what is past its retention (raw reports, both
// rollup resolutions, finished actions with their events, expired sessions, audit rows) and hands
// freed pages back to the file system with incremental vacuum. Everything runs in small transactions
// with a yield between them: the job shares SQLite's single writer (server/serialAdapter.ts) with
// every request, so one batch at a time keeps a request's wait to about one batch.
// On PostgreSQL with several server processes, one process runs a round at a time (RetentionLeader).
import fs from "node:fs";
import { createRequire } from "node:module";
import type Database from "better-sqlite3";
import pg from "pg";
import type { Logger } from "pino";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import { finalStatuses } from "../contract/statuses.ts";
import { BUSY_TIMEOUT_MS, type Db } from "../db.ts";
import { dialectOf } from "../db/dialect.ts";
import { pruneRawBatch, pruneRollupBatch, rollupBatch } from "./metricRollup.ts";

/** Rows per transaction (raw reports rolled up or deleted, rollups, sessions, audit rows). */
export const BATCH_ROWS = 1000;
/** Actions per transaction: each takes its events with it (ON DELETE CASCADE), a few rows apiece. */
export const ACTION_BATCH = 250;
/** Pages handed back per incremental_vacuum step (4 KiB pages: 1 MiB a step, a few ms). */
export const VACUUM_STEP_PAGES = 256;
/** Free pages kept for the next round's inserts, as a share of the file (saves shrinking and regrowing). */
export const VACUUM_KEEP_SHARE = 0.1;

/**
 * better-sqlite3 as the Prisma adapter loads it (the incremental-vacuum connection uses it). The adapter may carry its own copy (today 11.x, nested,
 * beside our 12.x): two SQLite libraries in one process do not see each other's POSIX locks, so a
 * connection of the other copy takes itself for the only one and truncates the WAL index under
 * Prisma's connection (the process dies of SIGBUS; seen in bench/retention.ts). One library copy
 * shares its lock and WAL-index state between connections of the process, as SQLite intends.
 */
export const PrismaSqlite = createRequire(import.meta.resolve("@prisma/adapter-better-sqlite3"))(
  "better-sqlite3",
) as typeof Database;

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** What one round did. */
export type RetentionRound = {
  rolledUp: number;
  pruned: { raw: number; fiveMinute: number; hourly: number; actions: number; sessions: number; audit: number };
  vacuumedPages: number;
  /** Wall time of the round, and of its longest single batch (the most a request waited for the writer). */
  ms: number;
  longestBatchMs: number;
  /** True when another server process held the retention lock, so this one did nothing. */
  skipped?: boolean;
};

type JobDeps = {
  db: Db;
  clock: Clock;
  config: Pick<Config, "retention" | "dbFile"> & Partial<Pick<Config, "databaseUrl">>;
  log: Pick<Logger, "info" | "warn" | "error">;
};

/** Lets requests waiting for the writer go first between two batches. */
const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs the retention rounds on a timer (config.retention.everySeconds; 0 leaves it to runOnce). A
 * round still running is never started twice: runOnce then returns the running round. A failed round
 * is logged and the next one starts over (every step is safe to repeat).
 */
export class RetentionJob {
  readonly #deps: JobDeps;
  readonly #batchRows: number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<RetentionRound> | null = null;
  #stopping = false;
  #longestBatchMs = 0;
  #lost: () => boolean = () => false;
  /** The connection incremental vacuum runs on (see reclaimFreePages), opened at the first use. */
  #vacuumDb: Database.Database | null = null;

  constructor(deps: JobDeps, opts: { batchRows?: number } = {}) {
    this.#deps = deps;
    this.#batchRows = opts.batchRows ?? BATCH_ROWS;
  }

  /** Starts the timer. */
  start(): void {
    const every = this.#deps.config.retention.everySeconds;
    if (every <= 0 || this.#timer) return;
    this.#timer = setInterval(() => {
      this.runOnce().catch((err: unknown) =>
        this.#deps.log.error({ err }, "retention round failed; retried next round"),
      );
    }, every * 1000);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a running round to end (it stops after its current batch). */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#stopping = true;
    await this.#running?.catch(() => undefined);
    this.#vacuumDb?.close();
    this.#vacuumDb = null;
  }

  /** True while a round runs. */
  get running(): boolean {
    return this.#running !== null;
  }

  /** Runs one round now, or returns the round already running. */
  runOnce(): Promise<RetentionRound> {
    if (!this.#running) {
      this.#running = this.#round().finally(() => (this.#running = null));
    }
    return this.#running;
  }

  async #round(): Promise<RetentionRound> {
    const { databaseUrl } = this.#deps.config;
    if (!databaseUrl || dialectOf(this.#deps.db) !== "postgresql") return this.#work(() => false);
    const leader = await RetentionLeader.acquire(databaseUrl);
    // Another process is running this round (the usual case for all processes but one): not logged.
    if (!leader) return { ...emptyRound(), skipped: true };
    try {
      return await this.#work(() => leader.lost);
    } finally {
      await leader.release();
    }
  }

  /** One round's work; stops early (after its current batch) when `lost()` turns true. */
  async #work(lost: () => boolean): Promise<RetentionRound> {
    const { db, clock, config, log } = this.#deps;
    this.#lost = lost;
    const r = config.retention;
    const started = performance.now();
    this.#longestBatchMs = 0;
    const now = clock.now().getTime();
    const ago = (ms: number) => new Date(now - ms);
    const rows = this.#batchRows;
    // Roll up before pruning: pruneRawBatch only deletes rows at or below the rollup's mark.
    const rolledUp = await this.#batches(() => rollupBatch(db, rows), rows);
    const pruned = {
      raw: await this.#batches(() => pruneRawBatch(db, ago(r.rawHours * HOUR_MS), rows), rows),
      fiveMinute: await this.#batches(() => pruneRollupBatch(db, "5m", ago(r.fiveMinuteDays * DAY_MS), rows), rows),
      hourly: await this.#batches(() => pruneRollupBatch(db, "1h", ago(r.hourlyDays * DAY_MS), rows), rows),
      actions: await this.#batches(
        () => pruneFinishedActions(db, ago(r.actionsDays * DAY_MS), ACTION_BATCH),
        ACTION_BATCH,
      ),
      sessions: await this.#batches(
        () =>
          db.$executeRawUnsafe(
            `DELETE FROM "Session" WHERE "id" IN (SELECT "id" FROM "Session" WHERE "expiresAt" < ? ORDER BY "expiresAt" LIMIT ?)`,
            ago(r.sessionsDays * DAY_MS),
            rows,
          ),
        rows,
      ),
      audit: await this.#batches(
        () =>
          db.$executeRawUnsafe(
            `DELETE FROM "AuditLog" WHERE "id" IN (SELECT "id" FROM "AuditLog" WHERE "at" < ? ORDER BY "at" LIMIT ?)`,
            ago(r.auditDays * DAY_MS),
            rows,
          ),
        rows,
      ),
    };
    const vacuumedPages = await reclaimFreePages(
      db,
      () => this.#vacuumConnection(),
      () => this.#stopping,
      (ms) => (this.#longestBatchMs = Math.max(this.#longestBatchMs, ms)),
    );
    const round = {
      rolledUp,
      pruned,
      vacuumedPages,
      ms: Math.round(performance.now() - started),
      longestBatchMs: Math.round(this.#longestBatchMs),
    };
    if (rolledUp > 0 || Object.values(pruned).some((n) => n > 0)) log.info({ retention: round }, "retention round");
    return round;
  }

  /** The vacuum connection; null when there is no SQLite file (a PostgreSQL deployment: autovacuum). */
  #vacuumConnection(): Database.Database | null {
    // PostgreSQL's autovacuum hands space back: never open a SQLite file (an old one may lie there).
    if (dialectOf(this.#deps.db) !== "sqlite") return null;
    if (!this.#vacuumDb && !fs.existsSync(this.#deps.config.dbFile)) return null;
    this.#vacuumDb ??= new PrismaSqlite(this.#deps.config.dbFile, { timeout: BUSY_TIMEOUT_MS, fileMustExist: true });
    return this.#vacuumDb;
  }

  /** Repeats one batch until it does less than a full batch (or the job stops), yielding in between. */
  async #batches(batch: () => Promise<number>, full: number): Promise<number> {
    let total = 0;
    while (!this.#stopping && !this.#lost()) {
      const t0 = performance.now();
      const n = await batch();
      this.#longestBatchMs = Math.max(this.#longestBatchMs, performance.now() - t0);
      total += n;
      if (n < full) break;
      await yieldToRequests();
    }
    return total;
  }
}

function emptyRound(): RetentionRound {
  const pruned = { raw: 0, fiveMinute: 0, hourly: 0, actions: 0, sessions: 0, audit: 0 };
  return { rolledUp: 0, pruned, vacuumedPages: 0, ms: 0, longestBatchMs: 0 };
}

/** Advisory lock key of the retention leader (any constant bigint, distinct from the migration runner's). */
export const RETENTION_LOCK_KEY = "4473426167";

/**
 * The retention lock on PostgreSQL: a session-level advisory lock held on a connection of its own for
 * the length of one round, so with several server processes (DASHFLEET_WORKERS, several hosts) exactly
 * one runs a round at a time and the others skip theirs. Why one at a time: the rollup's mark is
 * moved with a conditional UPDATE, so of two rounds at once one fails every batch it races ("rollup mark
 * moved", logged as a failed round, counted nothing twice but done again), both prune the same rows,
 * and N processes multiply the work by N for nothing; one round at a time does it once. Why a session lock on
 * its own connection, not a transaction lock: a round is many small transactions (so requests never
 * wait long), and the pool hands each to any connection. A killed leader's connection closes and
 * PostgreSQL drops its lock, so the next process's next round runs. If the lock's connection breaks
 * mid-round, `lost` turns true and the round stops after its current batch (every step is safe to
 * repeat). Taking the lock per round, not for the life of the process, means no standing leader to
 * fail over: whichever process's timer fires first runs the round.
 */
export class RetentionLeader {
  #lost = false;

  private constructor(private readonly client: pg.Client) {
    const lose = () => (this.#lost = true);
    client.on("error", lose);
    client.on("end", lose);
  }

  /** Takes the lock if no other session holds it; null when another process is running a round. */
  static async acquire(url: string): Promise<RetentionLeader | null> {
    const client = new pg.Client({ connectionString: url, application_name: "dashfleet-retention" });
    client.on("error", () => undefined); // a dropped connection ends the round (lost), never the process
    await client.connect();
    try {
      const { rows } = await client.query<{ got: boolean }>(
        `SELECT pg_try_advisory_lock(${RETENTION_LOCK_KEY}) AS got`,
      );
      if (rows[0]?.got) return new RetentionLeader(client);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    await client.end().catch(() => undefined);
    return null;
  }

  /** True once the lock's connection broke (the lock may be someone else's now). */
  get lost(): boolean {
    return this.#lost;
  }

  /** Unlocks and closes the connection (closing alone would release it too). */
  async release(): Promise<void> {
    if (!this.#lost) await this.client.query(`SELECT pg_advisory_unlock(${RETENTION_LOCK_KEY})`).catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }
}

/**
 * Deletes at most `limit` actions in a final status that finished before `before`, with their events
 * (ON DELETE CASCADE). An action that is not final (pending, delivered, executing) is never touched,
 * whatever its age.
 */
export async function pruneFinishedActions(db: Db, before: Date, limit: number): Promise<number> {
  const marks = finalStatuses.map(() => "?").join(", ");
  return db.$executeRawUnsafe(
    `DELETE FROM "Action" WHERE "id" IN (SELECT "id" FROM "Action" WHERE "finishedAt" < ? AND "status" IN (${marks}) ORDER BY "finishedAt" LIMIT ?)`,
    before,
    ...finalStatuses,
    limit,
  );
}

/**
 * Hands free pages back to the file system in steps of VACUUM_STEP_PAGES (needs auto_vacuum =
 * INCREMENTAL, see db.ts), keeping VACUUM_KEEP_SHARE of the file free for the next round's inserts.
 * Returns the pages handed back.
 *
 * Why a second connection: `PRAGMA incremental_vacuum(N)` frees one page per step of its statement,
 * and the Prisma adapter runs a statement without result columns with a single step (one page per
 * call). better-sqlite3's exec() steps it to the end. Each step runs inside an (empty) Prisma
 * transaction, which holds this process's one writer (serialAdapter.ts) without taking SQLite's lock,
 * so the step never races this process's own writes and never waits on a busy lock.
 */
export async function reclaimFreePages(
  db: Db,
  vacuumConnection: () => Database.Database | null,
  stop: () => boolean = () => false,
  onStep: (ms: number) => void = () => {},
): Promise<number> {
  let reclaimed = 0;
  for (;;) {
    if (stop()) return reclaimed;
    const t0 = performance.now();
    const freed = await db.$transaction(async () => {
      const raw = vacuumConnection();
      if (!raw) return 0;
      const read = (name: string) => Number(raw.pragma(name, { simple: true }));
      if (read("auto_vacuum") !== 2) return 0;
      const free = read("freelist_count");
      const excess = free - Math.floor(read("page_count") * VACUUM_KEEP_SHARE);
      if (excess <= 0) return 0;
      raw.exec(`PRAGMA incremental_vacuum(${Math.min(excess, VACUUM_STEP_PAGES)})`);
      return Math.max(0, free - read("freelist_count"));
    });
    onStep(performance.now() - t0);
    if (freed === 0) return reclaimed;
    reclaimed += freed;
    await yieldToRequests();
  }
}

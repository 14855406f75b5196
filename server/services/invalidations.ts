// Cache invalidations across server processes. Credentials and machine directories are cached in each
// process; a change made anywhere (another server process, the CLI) must reach every cache within a
// second (hostile review, finding 2: a key revoked with the CLI kept working ~10 s). The change writes
// one Invalidation row in its own transaction. SQLite: every process polls for rows newer than the last
// it saw. PostgreSQL: the same transaction also NOTIFYs, delivered to every process's LISTEN connection
// at the commit (the row stays as the record, and is what a process replays after losing that connection).
import type { Db } from "../db.ts";
import { dialectOf } from "../db/dialect.ts";
import { INVALIDATION_CHANNEL, notifyStatement, type PgListener } from "../db/pgNotify.ts";
import type { Prisma } from "../generated/prisma/client.ts";

/** key: an API key was revoked (target: key id); machine: retired or re-enrolled (target: machine row id); org: its legacy-agent switch changed (target: org id). */
export type InvalidationKind = "key" | "machine" | "org";
export type Invalidation = { kind: InvalidationKind; target: string };

/** How often each process looks for new invalidations: well within the 1 s promise. */
export const INVALIDATION_POLL_MS = 500;
/** Rows older than this are pruned: every live process has long seen them. */
const KEEP_MS = 10 * 60_000;

/**
 * Records an invalidation inside the caller's transaction, so it exists exactly when the change does;
 * on PostgreSQL its notification is sent in the same transaction, so it is delivered exactly at the commit.
 */
export async function recordInvalidation(
  tx: Prisma.TransactionClient | Db,
  event: Invalidation,
  at: Date,
): Promise<void> {
  await tx.invalidation.create({ data: { kind: event.kind, target: event.target, at }, select: { id: true } });
  if (dialectOf(tx) === "postgresql") await notifyStatement(tx, INVALIDATION_CHANNEL, [invalidationPayload(event)]);
}

/** The NOTIFY payload of one invalidation: `{"k":kind,"t":target}` (ids: far below the 8000-byte limit). */
export function invalidationPayload(event: Invalidation): string {
  return JSON.stringify({ k: event.kind, t: event.target });
}

/** Reads an invalidation payload; null for anything else. */
export function parseInvalidationPayload(payload: string | undefined): Invalidation | null {
  if (!payload) return null;
  try {
    const v = JSON.parse(payload) as { k?: unknown; t?: unknown };
    if ((v.k !== "key" && v.k !== "machine" && v.k !== "org") || typeof v.t !== "string") return null;
    return { kind: v.k, target: v.t };
  } catch {
    return null;
  }
}

/** Delivers invalidations made by any process to `listener`. */
export interface InvalidationNotifier {
  start(listener: (events: Invalidation[]) => void): Promise<void>;
  close(): void;
}

/** Deletes rows every live process has long seen. */
async function prune(db: Db, now: number): Promise<void> {
  await db.invalidation.deleteMany({ where: { at: { lt: new Date(now - KEEP_MS) } } });
}

/**
 * Polls the Invalidation table every 500 ms (one indexed range read), starting after the newest row at
 * start-up (the caches are built after that point). Ids commit in order on SQLite (one writer); on
 * PostgreSQL a sequence may commit out of order, so a notifier there should use LISTEN/NOTIFY instead.
 */
export class PolledInvalidations implements InvalidationNotifier {
  #lastId = 0;
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #lastPrune = 0;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
    private readonly everyMs = INVALIDATION_POLL_MS,
  ) {}

  async start(listener: (events: Invalidation[]) => void): Promise<void> {
    const last = await this.db.invalidation.findFirst({ orderBy: { id: "desc" }, select: { id: true } });
    this.#lastId = last?.id ?? 0;
    this.#timer = setInterval(() => void this.#poll(listener), this.everyMs);
    this.#timer.unref();
  }

  async #poll(listener: (events: Invalidation[]) => void): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      const rows = await this.db.invalidation.findMany({
        where: { id: { gt: this.#lastId } },
        orderBy: { id: "asc" },
        take: 1000,
        select: { id: true, kind: true, target: true },
      });
      if (rows.length > 0) {
        this.#lastId = Number(rows.at(-1)!.id);
        listener(rows.map((r) => ({ kind: r.kind as InvalidationKind, target: r.target })));
      }
      const now = this.now();
      if (now - this.#lastPrune > 60_000) {
        this.#lastPrune = now;
        await prune(this.db, now);
      }
    } catch {
      // The database is closing or busy: the next tick tries again (nothing is skipped, lastId is unchanged).
    } finally {
      this.#running = false;
    }
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

/**
 * Rows recorded this long before a lost LISTEN connection are replayed after it comes back: covers a
 * transaction that took its time between dating the row and committing it, and clocks a little apart.
 */
export const REPLAY_MARGIN_MS = 2 * 60_000;

/**
 * PostgreSQL: invalidations arrive over LISTEN/NOTIFY (this process's own included), within
 * milliseconds of the commit. While the LISTEN connection is down notifications are lost, so after it
 * comes back the rows recorded since shortly before the loss are replayed (applying one twice only
 * forgets a cache entry again); services/index.ts also drops every cached credential then.
 */
export class PgInvalidations implements InvalidationNotifier {
  #deliver: ((events: Invalidation[]) => void) | null = null;
  #pruner: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    listener: PgListener,
    private readonly now: () => number = Date.now,
  ) {
    listener.on(INVALIDATION_CHANNEL, (payload) => {
      const e = parseInvalidationPayload(payload);
      if (e) this.#deliver?.([e]);
    });
    listener.onReconnect((lostAt) => this.#replay(lostAt));
  }

  /** Starts delivering (the LISTEN connection itself is started by the caller, after this). */
  start(listener: (events: Invalidation[]) => void): Promise<void> {
    this.#deliver = listener;
    this.#pruner = setInterval(() => void prune(this.db, this.now()).catch(() => undefined), 60_000);
    this.#pruner.unref();
    return Promise.resolve();
  }

  async #replay(lostAt: number): Promise<void> {
    const rows = await this.db.invalidation.findMany({
      where: { at: { gte: new Date(lostAt - REPLAY_MARGIN_MS) } },
      orderBy: { id: "asc" },
      select: { kind: true, target: true },
    });
    if (rows.length > 0) this.#deliver?.(rows.map((r) => ({ kind: r.kind as InvalidationKind, target: r.target })));
  }

  close(): void {
    if (this.#pruner) clearInterval(this.#pruner);
    this.#pruner = null;
    this.#deliver = null;
  }
}

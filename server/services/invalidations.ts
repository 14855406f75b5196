// Cache invalidations across server processes. Credentials and machine directories are cached in each
// process; a change made anywhere (another server process, the CLI) must reach every cache within a
// second (hostile review, finding 2: a key revoked with the CLI kept working ~10 s). The change writes
// one Invalidation row in its own transaction; every process polls for rows newer than the last it saw.
// The notifier is an interface so PostgreSQL can swap in LISTEN/NOTIFY without touching the callers.
import type { Db } from "../db.ts";
import type { Prisma } from "../generated/prisma/client.ts";

/** key: an API key was revoked (target: key id); machine: retired or re-enrolled (target: machine row id); org: its legacy-agent switch changed (target: org id). */
export type InvalidationKind = "key" | "machine" | "org";
export type Invalidation = { kind: InvalidationKind; target: string };

/** How often each process looks for new invalidations: well within the 1 s promise. */
export const INVALIDATION_POLL_MS = 500;
/** Rows older than this are pruned: every live process has long seen them. */
const KEEP_MS = 10 * 60_000;

/** Records an invalidation inside the caller's transaction, so it exists exactly when the change does. */
export async function recordInvalidation(
  tx: Prisma.TransactionClient | Db,
  event: Invalidation,
  at: Date,
): Promise<void> {
  await tx.invalidation.create({ data: { kind: event.kind, target: event.target, at }, select: { id: true } });
}

/** Delivers invalidations made by any process to `listener`. */
export interface InvalidationNotifier {
  start(listener: (events: Invalidation[]) => void): Promise<void>;
  close(): void;
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
        await this.db.invalidation.deleteMany({ where: { at: { lt: new Date(now - KEEP_MS) } } });
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

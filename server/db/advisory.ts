// Advisory locks that let several server processes (DASHFLEET_WORKERS, several hosts) share one
// PostgreSQL database without doing the same background work twice at once. Keys are constant bigints,
// distinct from the migration runner's (server/db/pgMigrate.ts). SQLite has one server process: no lock.
import { dialectOf } from "./dialect.ts";

/** The sweep's key (expired leases, expired actions, overdue executions: server/services/actionMoves.ts). */
export const SWEEP_LOCK_KEY = "4473426168";

/**
 * Waits until no other sweep transaction runs, in any process, and holds the lock until this one ends.
 *
 * Why: every process sweeps every 2 s, and a sweep step reads the expired rows, moves them with a
 * conditional UPDATE, then writes one event per row it read. At READ COMMITTED two steps at once read
 * the same rows; the second's UPDATE moves none of them, but it still writes the events ("lease
 * expired; offered again" twice). Taken first, the lock makes the second step read after the first
 * commits, so it finds those rows moved and does nothing. Waiting rather than skipping keeps a sweep's
 * promise (when it returns, what had expired is moved) and costs a few ms. A transaction-level lock
 * needs no connection of its own and is released by COMMIT, ROLLBACK, or the connection's death (a
 * killed process). No deadlock: nothing else takes this lock, and the sweep takes it before any row.
 * Every process keeps its timer (no leader to elect or fail over).
 */
export async function lockSweep(tx: object): Promise<void> {
  if (dialectOf(tx) !== "postgresql") return;
  const client = tx as { $queryRawUnsafe: (sql: string) => Promise<unknown> };
  await client.$queryRawUnsafe(`SELECT pg_advisory_xact_lock(${SWEEP_LOCK_KEY})::text AS locked`);
}

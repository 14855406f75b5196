// Advisory locks that let several server processes (DASHFLEET_WORKERS, several hosts) share one
// PostgreSQL database without doing the same background work twice at once. Keys are constant bigints,
// distinct from the migration runner's (server/db/pgMigrate.ts). SQLite has one server process: no lock.
import { dialectOf } from "./dialect.ts";

/** The sweep's key (expired leases, expired actions, overdue executions: server/services/actionMoves.ts). */
export const SWEEP_LOCK_KEY = "4473426168";

/**
 * True when this sweep transaction may run (it then holds the lock until it commits): at most one
 * sweep transaction at a time across every process, the others skip their turn.
 *
 * Why: every process sweeps every 2 s, and a sweep step reads the expired rows, moves them with a
 * conditional UPDATE, then writes one event per row it read. At READ COMMITTED two steps at once read
 * the same rows; the second's UPDATE moves none of them, but it still writes the events ("lease
 * expired; offered again" twice). A transaction-level try-lock needs no connection of its own and is
 * released by COMMIT, ROLLBACK, or the connection's death (a killed process). Every process keeps its
 * timer (no leader to elect or fail over): whichever comes first sweeps, the rest find the lock taken
 * and skip, so N processes cost one extra SELECT each per tick.
 */
export async function takeSweepTurn(tx: object): Promise<boolean> {
  if (dialectOf(tx) !== "postgresql") return true;
  const client = tx as { $queryRawUnsafe: <T>(sql: string) => Promise<T> };
  const rows = await client.$queryRawUnsafe<{ got: boolean }[]>(
    `SELECT pg_try_advisory_xact_lock(${SWEEP_LOCK_KEY}) AS got`,
  );
  return rows[0]?.got === true;
}

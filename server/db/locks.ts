// Row locks that make a transaction's decision hold under concurrency on both databases.
//
// Isolation: PostgreSQL runs at READ COMMITTED (its default; each statement sees what was committed
// before it started). SQLite needs no lock here: it has one writer, and server/serialAdapter.ts runs
// one transaction at a time, so a claim's reads and writes are never interleaved with another's.
//
// Claims on PostgreSQL: a claim reads "no reboot in flight" and then moves pending actions to
// delivered. Two claims for the same machine at once would both read "no reboot in flight"; the
// second, blocked on the reboot row by the first, skips it once the first commits and then delivers
// the action queued behind the reboot. Conditional UPDATEs alone cannot prevent that (the rule spans
// rows), so each claim first locks its machine's row (SELECT … FOR UPDATE): claims for one machine run
// one after the other, and the second's later statements see the first's commit. Claims for other
// machines do not wait. Why not the alternatives: FOR UPDATE SKIP LOCKED on the actions skips the
// reboot row and hands out the next action, the very bug; SERIALIZABLE would need a retry loop
// around every claim for conflicts that are, here, always between two polls of the same agent.
//
// The same lock keeps claims in sequence order while commits land out of order (Action.seq is drawn
// before the commit, so seq 101 can commit after 102): inserting an action holds FOR KEY SHARE on its
// machine's row (the foreign key's check) until it commits, which FOR UPDATE waits for and excludes.
// A claim therefore reads only once every action of its machine already inserted has committed, and
// none commits while it reads, all pages included: one fixed set, in order. A number drawn but not yet
// inserted commits after the claim, as if queued after it: never ahead of an action queued before it.
// FOR NO KEY UPDATE would lose all this (tests/integration/pg-live-paging.test.ts).
import type { Dialect } from "./dialect.ts";
import { dialectOf } from "./dialect.ts";

/** Locks the machine's row until the transaction ends (PostgreSQL); nothing to do on SQLite. */
export async function lockMachineRow(tx: object, machineRef: string): Promise<void> {
  const dialect: Dialect = dialectOf(tx);
  if (dialect !== "postgresql") return;
  const client = tx as { $queryRawUnsafe: (sql: string, ...args: unknown[]) => Promise<unknown> };
  await client.$queryRawUnsafe(`SELECT "id" FROM "Machine" WHERE "id" = $1 FOR UPDATE`, machineRef);
}

/**
 * Locks the rows a SELECT returns until the transaction ends (PostgreSQL; SQLite is serialized).
 * For two statements that must see the same rows, e.g. an event per action about to be cancelled,
 * then the cancel: at READ COMMITTED a concurrent ack could otherwise move one in between.
 */
export async function lockRowsFor(tx: object, select: string, ...params: unknown[]): Promise<void> {
  if (dialectOf(tx) !== "postgresql") return;
  const client = tx as { $queryRawUnsafe: (sql: string, ...args: unknown[]) => Promise<unknown> };
  await client.$queryRawUnsafe(`${select} FOR UPDATE`, ...params);
}

/**
 * Locks the organization's row until the transaction ends (PostgreSQL). The "another owner remains"
 * check counts rows it does not change: two demotions at once would both count the other owner and
 * both succeed. Taken before the count, the second waits and then counts after the first's commit.
 */
export async function lockOrganizationRow(tx: object, orgId: string): Promise<void> {
  if (dialectOf(tx) !== "postgresql") return;
  const client = tx as { $queryRawUnsafe: (sql: string, ...args: unknown[]) => Promise<unknown> };
  await client.$queryRawUnsafe(`SELECT "id" FROM "Organization" WHERE "id" = $1 FOR UPDATE`, orgId);
}

// How PostgreSQL stores Machine (migration prisma/postgres/migrations/20261126051500_machine_hot_updates):
// every metric report rewrites its machine's row, and that rewrite must be a HOT update (no new entry in
// any of Machine's indexes): pages keep room for the next version, and no index covers a column a
// report changes. Checked on a throwaway cluster through the server's own report writer.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../server/clock.ts";
import { openDb, type Db } from "../../server/db.ts";
import { migratePostgres } from "../../server/db/pgMigrate.ts";
import { createOrganization } from "../../server/services/accounts.ts";
import { flushReports, recordReport } from "../../server/services/machines.ts";
import { startPgCluster, type PgCluster } from "../helpers/pg.ts";

/** The Machine columns every report's UPDATE gives a new value (server/services/machines.ts, writeBatch). */
const PER_REPORT_COLUMNS = [
  "lastSeenAt",
  "lastReportAt",
  "onlineUntil",
  "lastCpu",
  "lastMemory",
  "lastDisk",
  "lastUptime",
  "lastExtras",
  "healthReasons",
];

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

describe("Machine storage on PostgreSQL", () => {
  let cluster: PgCluster;
  let url: string;
  beforeAll(async () => {
    cluster = await startPgCluster();
    url = await cluster.createDatabase();
    await migratePostgres(url);
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("keeps room on each page (fillfactor 85) and no index over a column a report rewrites", async () => {
    const [table] = await query<{ options: string[] | null }>(
      url,
      `SELECT reloptions AS options FROM pg_class WHERE oid = '"Machine"'::regclass`,
    );
    expect(table?.options).toContain("fillfactor=85");
    const indexes = await query<{ name: string; def: string }>(
      url,
      `SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = '"Machine"'::regclass`,
    );
    // The unique keys, the hostname/os lookups and paging indexes are still there…
    expect(indexes.map((i) => i.name)).toEqual(
      expect.arrayContaining(['"Machine_pkey"', '"Machine_orgId_machineId_key"', '"Machine_tokenHash_key"']),
    );
    // …and none of them names a per-report column (in its key, an expression or a predicate).
    for (const { name, def } of indexes)
      for (const column of PER_REPORT_COLUMNS) expect(`${name}: ${def}`).not.toContain(`"${column}"`);
  });

  it("stores metric reports as HOT updates: no index entry written for them", async () => {
    const machines = 300;
    const STRIDE = 20;
    const orgDb = await openDb(url);
    let refs: string[] = [];
    try {
      const org = await createOrganization(orgDb, systemClock, { name: "Storage", actor: "test" });
      await orgDb.machine.createMany({
        data: Array.from({ length: machines }, (_, i) => ({
          orgId: org.orgId,
          machineId: `m-${i}`,
          hostname: `host-${i}`,
          os: "Linux",
          agentVersion: "1.0.0",
        })),
      });
      refs = (await orgDb.machine.findMany({ where: { orgId: org.orgId }, select: { id: true } })).map((m) => m.id);
    } finally {
      await orgDb.$disconnect();
    }
    expect(refs).toHaveLength(machines);

    /** One report from every machine through the server's group-committed writer, then Machine's update counts. */
    const reportRound = async (round: number): Promise<{ upd: number; hot: number }> => {
      const db: Db = await openDb(url);
      try {
        // Commits of 15 machines spread over the table (every 20th row), as a fleet's reports arrive
        // spread in time: a page's room holds a few new versions, and old ones are pruned once past.
        for (let k = 0; k < STRIDE; k++) {
          await Promise.all(
            refs
              .filter((_, i) => i % STRIDE === k)
              .map((ref, i) =>
                recordReport(db, systemClock, ref, {
                  cpuPercent: (i * 7 + round * 13) % 60,
                  memoryPercent: 40 + round,
                  diskPercent: 50,
                  uptimeSeconds: 1000 + round,
                }),
              ),
          );
          await flushReports(db);
        }
      } finally {
        // A backend publishes its statistics when it ends (otherwise up to 10 s after going idle).
        await db.$disconnect();
      }
      let counts = { upd: 0, hot: 0 };
      for (const deadline = Date.now() + 30_000; counts.upd < (round + 1) * machines && Date.now() < deadline;) {
        await new Promise((r) => setTimeout(r, 200));
        const [row] = await query<{ upd: string; hot: string }>(
          url,
          `SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relname = 'Machine'`,
        );
        counts = { upd: Number(row?.upd ?? 0), hot: Number(row?.hot ?? 0) };
      }
      return counts;
    };

    // A machine's first report fills columns that were empty: the longer row may no longer fit its page.
    const first = await reportRound(0);
    expect(first.upd).toBe(machines);
    // From then on a report rewrites a row of the same size, and it is a HOT update (0 % before the
    // migration: the online index's column changed, and bulk-filled pages had no room). Nearly all, not
    // all: two rows of one page in one commit share that page's room, and a version written in the same
    // transaction cannot be pruned yet (here 293 to 300 of 300).
    const second = await reportRound(1);
    expect(second.upd - first.upd).toBe(machines);
    expect((second.hot - first.hot) / machines).toBeGreaterThanOrEqual(0.9);
    const stored = await query<{ n: string }>(url, `SELECT count(*) AS n FROM "MetricReport"`);
    expect(Number(stored[0]?.n)).toBe(2 * machines);
  }, 90_000);
});

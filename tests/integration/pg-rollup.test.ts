// Metric rollups on PostgreSQL with concurrent writers: report ids come from a sequence and commit in
// any order, so the rollup must never move its mark past an id whose row is not yet visible (it would
// be skipped forever, then pruned). server/services/metricRollup.ts argues the table lock.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rollupBatch, rollupMark } from "../../server/services/metricRollup.ts";
import { startPgCluster, type PgCluster } from "../helpers/pg.ts";
import { enroll, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

describe("rollups on PostgreSQL", () => {
  let cluster: PgCluster;
  let server: TestServer;
  let org: TestOrg;
  let url: string;
  beforeAll(async () => {
    cluster = await startPgCluster();
    url = await cluster.createDatabase();
    // No retention timer: its rollup round would race the test's own rollupBatch calls and their counts.
    server = await startTestServer({
      env: { DASHFLEET_DATABASE_URL: url, DASHFLEET_RETAIN_EVERY_SECONDS: "0" },
      sweep: false,
    });
    org = await server.createOrg();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await cluster?.stop();
  });

  it("waits for a report inserted earlier but committed later, and counts it once", async () => {
    await enroll(server, org.agentKey, "rollup-1");
    const machine = await server.deps.db.machine.findFirstOrThrow({
      where: { machineId: "rollup-1" },
      select: { id: true },
    });
    const at = new Date(Date.UTC(2026, 10, 25, 12, 1, 0));
    const insert = `INSERT INTO "MetricReport" ("machineRef", "at", "cpu", "memory", "disk", "uptime") VALUES ($1, $2, $3, 1, 1, 1) RETURNING "id"`;
    // Writer A takes the lower id and keeps its transaction open; writer B takes the next id and commits.
    const slow = new pg.Client({ connectionString: url });
    const fast = new pg.Client({ connectionString: url });
    await slow.connect();
    await fast.connect();
    try {
      await slow.query("BEGIN");
      const low = Number((await slow.query<{ id: number }>(insert, [machine.id, at, 10])).rows[0]!.id);
      const high = Number((await fast.query<{ id: number }>(insert, [machine.id, at, 30])).rows[0]!.id);
      expect(high).toBeGreaterThan(low);

      let finished = false;
      const rollup = rollupBatch(server.deps.db, 1000).then((n) => ((finished = true), n));
      await new Promise((r) => setTimeout(r, 500));
      // Still waiting for A: moving the mark to B's id now would skip A's row for good.
      expect(finished).toBe(false);
      await slow.query("COMMIT");
      expect(await rollup).toBe(2);
    } finally {
      await slow.end();
      await fast.end();
    }
    expect(await rollupMark(server.deps.db)).toBeGreaterThanOrEqual(2);
    const buckets = await server.deps.db.metricRollup.findMany({
      where: { machineRef: machine.id },
      select: { resolution: true, samples: true, cpuAvg: true },
      orderBy: { resolution: "asc" },
    });
    expect(buckets).toEqual([
      { resolution: "1h", samples: 2, cpuAvg: 20 },
      { resolution: "5m", samples: 2, cpuAvg: 20 },
    ]);
    // Caught up: nothing rolled twice.
    expect(await rollupBatch(server.deps.db, 1000)).toBe(0);
  });
});

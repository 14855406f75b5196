// `npm run cli -- backup` on PostgreSQL (pg_dump -Fc) while a simulated fleet queues, polls and reports,
// on a throwaway cluster: each dump, restored with pg_restore into a new database, holds every action
// whose queue call returned before the dump started (with every result reported before then), and a
// fresh server started on the last restored database serves them, without applying a migration.
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  enrollFleet,
  newLedger,
  prepareDb,
  recordFigures,
  runLoad,
  SimAgent,
  spawnServer,
} from "../helpers/fleet-sim.ts";
import { PG_BIN, startPgCluster, type PgCluster } from "../helpers/pg.ts";
import { trpcClient } from "../helpers/server.ts";
import { waitForWork } from "./work.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-backup-pg-"));
let cluster: PgCluster;

beforeAll(async () => {
  cluster = await startPgCluster();
}, 180_000);
afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Rows of a query on `url`. */
async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe("online backup of PostgreSQL under load", () => {
  it("each pg_dump restores to a database holding everything acknowledged before it started", async () => {
    const liveUrl = await cluster.createDatabase("live");
    const [org] = await prepareDb(liveUrl);
    const env = { DASHFLEET_DATABASE_URL: liveUrl };
    const server = await spawnServer(path.join(dir, "unused.db"), { env });
    const ledger = newLedger();
    const fleet = await enrollFleet(server.url, org!.agentKey, 4, "bkpg");
    const agents = fleet.map((m) => new SimAgent(m.machineId, m.token, ledger));
    const stop = { stopped: false };
    const load = runLoad(server.url, org!.adminKey, agents, ledger, stop);
    const rounds: { before: number; reportedBefore: number; present: number; url: string }[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        // Some work returned since the last backup (an amount, not a time: a busy machine is slower).
        const shortfall = await waitForWork(ledger, { queued: 5, reported: 2 });
        expect(shortfall).toBeNull();
        // What had returned when the backup started.
        const before = new Set(ledger.queued.keys());
        const reportedBefore = new Map(ledger.reported);
        const dump = path.join(dir, `backup-${i}.dump`);
        const { stdout } = await promisify(execFile)(
          process.execPath,
          ["--import", "tsx", "server/cli.ts", "backup", "--to", dump, "--json"],
          { cwd: root, env: { ...process.env, ...env } },
        );
        expect(JSON.parse(stdout)).toMatchObject({ format: "custom" });
        const url = await cluster.createDatabase(`restored_${i}`);
        execFileSync(path.join(PG_BIN, "pg_restore"), ["--no-owner", "--exit-on-error", `--dbname=${url}`, dump], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        const rows = await query<{ id: string; status: string; result: string | null }>(
          url,
          `SELECT id, status, result FROM "Action"`,
        );
        const byId = new Map(rows.map((r) => [r.id, r]));
        expect([...before].filter((id) => !byId.has(id))).toEqual([]);
        for (const [id, r] of reportedBefore)
          expect(byId.get(id)).toMatchObject({ status: r.status, result: r.result });
        rounds.push({ before: before.size, reportedBefore: reportedBefore.size, present: rows.length, url });
      }
    } finally {
      stop.stopped = true;
      await load;
      await server.stop(15_000);
    }
    expect(rounds.every((r) => r.before > 0)).toBe(true);
    expect(rounds.at(-1)!.reportedBefore).toBeGreaterThan(0);

    // A fresh server on the last restored database serves every action the dump holds.
    const last = rounds.at(-1)!;
    const migrations = await query(last.url, `SELECT name, applied_at FROM "_dashfleet_migrations" ORDER BY name`);
    const again = await spawnServer(path.join(dir, "unused-2.db"), { env: { DASHFLEET_DATABASE_URL: last.url } });
    try {
      const admin = trpcClient(again.url, { authorization: `Bearer ${org!.adminKey}` });
      let seen = 0;
      let cursor: string | null = null;
      do {
        const page: { items: unknown[]; nextCursor: string | null } = await admin.actions.list.query({
          limit: 100,
          cursor,
        });
        seen += page.items.length;
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toBe(last.present);
      expect(await query(last.url, `SELECT name, applied_at FROM "_dashfleet_migrations" ORDER BY name`)).toEqual(
        migrations,
      );
    } finally {
      await again.stop(15_000);
    }
    recordFigures("backup-pg", {
      dumpsUnderLoad: rounds.length,
      actionsAcknowledgedBeforeDumps: rounds.reduce((s, r) => s + r.before, 0),
      resultsReportedBeforeDumps: rounds.reduce((s, r) => s + r.reportedBefore, 0),
      missingFromDumps: 0,
    });
  }, 240_000);
});

// Retention keeps the database file bounded: the file is switched to incremental auto-vacuum at start,
// a large prune hands its pages back, and under a steady inflow of reports the page count stops
// growing once every tier has reached its retention. Reports are bulk-inserted into the real server's
// database (volume, not the report path, is under test here: retention.test.ts sends them over HTTP).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import { PrismaSqlite, VACUUM_KEEP_SHARE } from "../../server/services/retention.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;
const clock = new ManualClock(Date.UTC(2026, 2, 1));
const MACHINES = 10;
const refs: string[] = [];

async function pragma(name: string): Promise<number> {
  const rows = await server.deps.db.$queryRawUnsafe<Record<string, unknown>[]>(`PRAGMA ${name}`);
  return Number(Object.values(rows[0]!)[0]);
}

/** Inserts `perMachine` reports for each machine, evenly over the `seconds` before the clock's now. */
async function insertReports(perMachine: number, seconds: number): Promise<void> {
  const end = clock.now().getTime();
  const rows: unknown[][] = [];
  for (const ref of refs)
    for (let i = 0; i < perMachine; i++) {
      const at = new Date(end - seconds * 1000 + Math.floor((i * seconds * 1000) / perMachine));
      rows.push([ref, at, (i * 7) % 100, (i * 3) % 100, 50, i, JSON.stringify({ note: "x".repeat(120), i })]);
    }
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    await server.deps.db.$executeRawUnsafe(
      `INSERT INTO "MetricReport" ("machineRef", "at", "cpu", "memory", "disk", "uptime", "extras") VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
      ...chunk.flat(),
    );
  }
}

beforeAll(async () => {
  server = await startTestServer({
    clock,
    sweep: false,
    env: {
      DASHFLEET_RETAIN_EVERY_SECONDS: "0",
      // Short windows so every tier reaches its retention within a few simulated days.
      DASHFLEET_RETAIN_RAW_HOURS: "24",
      DASHFLEET_RETAIN_5M_DAYS: "1",
      DASHFLEET_RETAIN_1H_DAYS: "2",
    },
  });
  const org = await server.createOrg("Storage Org");
  const now = clock.now();
  for (let i = 0; i < MACHINES; i++) {
    const m = await server.deps.db.machine.create({
      data: {
        orgId: org.orgId,
        machineId: `m-${i}`,
        hostname: `h-${i}`,
        os: "Linux",
        agentVersion: "1",
        firstSeenAt: now,
        lastSeenAt: now,
      },
      select: { id: true },
    });
    refs.push(m.id);
  }
});
afterAll(() => server.stop());

describe("database size", () => {
  it("is switched to incremental auto-vacuum when the server starts", async () => {
    expect(await pragma("auto_vacuum")).toBe(2);
  });

  it("vacuums through the same SQLite library as Prisma's connection (two copies in one process lose each other's locks)", async () => {
    const [prisma] = await server.deps.db.$queryRawUnsafe<{ v: string }[]>("SELECT sqlite_version() AS v");
    const own = new PrismaSqlite(":memory:");
    try {
      expect((own.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v).toBe(prisma!.v);
    } finally {
      own.close();
    }
  });

  it("hands the pages of a large prune back to the file system", async () => {
    await insertReports(3000, 24 * 3600); // 30,000 rows over a day
    const full = await pragma("page_count");
    expect((await server.retention.runOnce()).rolledUp).toBe(30_000);
    clock.advance(3 * 24 * 3600); // past every tier's retention
    const round = await server.retention.runOnce();
    expect(round.pruned.raw).toBe(30_000);
    expect(round.pruned.fiveMinute).toBe(MACHINES * 288);
    expect(round.vacuumedPages).toBeGreaterThan(0);
    const after = await pragma("page_count");
    expect(after).toBeLessThan(full / 3);
    expect(await pragma("freelist_count")).toBeLessThanOrEqual(Math.floor(after * VACUUM_KEEP_SHARE) + 1);
  });

  it("stops growing under a steady inflow once every tier has reached its retention", async () => {
    const pages: number[] = [];
    for (let day = 0; day < 8; day++) {
      // A day of reports (one every 5 minutes per machine), then the day's two retention rounds.
      clock.advance(12 * 3600);
      await insertReports(144, 12 * 3600);
      await server.retention.runOnce();
      clock.advance(12 * 3600);
      await insertReports(144, 12 * 3600);
      await server.retention.runOnce();
      pages.push(await pragma("page_count"));
    }
    // Tiers fill during the first three days (raw 1 day, 5-minute 1 day, hourly 2 days); from then on
    // the file stays within a few pages of its size at day 3.
    const settled = pages[2]!;
    for (const p of pages.slice(3)) expect(p).toBeLessThanOrEqual(Math.ceil(settled * 1.1));
    expect(Math.max(...pages)).toBeGreaterThan(0);
    const rows = await server.deps.db.metricReport.count();
    expect(rows).toBeLessThanOrEqual(MACHINES * 288 + MACHINES);
  });
});

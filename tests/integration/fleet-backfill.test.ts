// Rows written before health and onlineUntil were indexed columns (or bulk-inserted without them) are
// filled when the server starts, so the online and health filters find them.
import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer | undefined;
afterAll(() => server?.stop());

describe("backfill at start", () => {
  it("fills onlineUntil and health (with reasons) of old rows, in batches, and leaves no-data rows as no data", async () => {
    const first = await startTestServer();
    const org = await first.createOrg();
    const now = new Date();
    const rows = Array.from({ length: 2500 }, (_, i) => [
      `old_${i}`,
      org.orgId,
      `old-${i}`,
      `old-host-${i}`,
      "Linux",
      "1",
      now,
      now,
      i % 5 === 0 ? null : i % 2 ? 98 : 10,
      i % 5 === 0 ? null : now,
    ]);
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500);
      await first.deps.db.$executeRawUnsafe(
        `INSERT INTO "Machine" ("id", "orgId", "machineId", "hostname", "os", "agentVersion", "firstSeenAt", "lastSeenAt", "lastCpu", "lastReportAt", "lastMemory", "lastDisk", "reportIntervalSec") VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 20, 30, 3600)").join(", ")}`,
        ...chunk.flat(),
      );
    }
    const { dbFile, dir, databaseEnv } = first;
    await first.close();
    server = await startTestServer({ dbFile, env: databaseEnv });
    expect(fs.existsSync(dir)).toBe(true);
    const admin = server.client(org.adminKey);
    const s = await admin.fleet.summary.query();
    // Seen just now, reporting hourly: online for three hours.
    expect(s).toMatchObject({ total: 2500, online: 2500 });
    expect(s.health).toEqual({ good: 1000, degraded: 1000, critical: 0, nodata: 500 });
    const busy = (await admin.fleet.list.query({ health: "degraded", limit: 1 })).machines[0]!;
    expect(busy.healthReasons).toEqual(["CPU 98 % in the latest report"]);
  });
});

// fleet.machine's history reads the resolution that suits its window (raw reports for short windows,
// 5-minute rollups up to their retention, hourly ones beyond), keeps to about 290 points whatever the
// window, and its averages match the raw reports they summarise. Without a window it is the newest
// 120 raw reports, as before. Real server, temporary SQLite, fake clock.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import { historyPlan } from "../../server/services/metricHistory.ts";
import { enroll, failure, startTestServer, type TestServer, type TRPCClient } from "../helpers/server.ts";

let server: TestServer;
let admin: TRPCClient;
const clock = new ManualClock(Date.UTC(2026, 3, 1));
/** Reports every 10 s for the last 26 hours (dense), plus one every 10 minutes for the 40 days before. */
const DENSE_SECONDS = 26 * 3600;
const SPARSE_DAYS = 40;
/** cpu of a report at unix second t: a slow ramp, so averages over a bucket are easy to check. */
const cpuAt = (t: number) => (t / 60) % 100;

beforeAll(async () => {
  server = await startTestServer({ clock, sweep: false, env: { DASHFLEET_RETAIN_EVERY_SECONDS: "0" } });
  const org = await server.createOrg("History Org");
  admin = server.client(org.adminKey);
  await enroll(server, org.agentKey, "m-hist", "hist.local");
  const ref = (await server.deps.db.machine.findFirstOrThrow({ where: { machineId: "m-hist" }, select: { id: true } }))
    .id;
  const now = clock.now().getTime() / 1000;
  const times: number[] = [];
  for (let t = now - DENSE_SECONDS - SPARSE_DAYS * 86400; t < now - DENSE_SECONDS; t += 600) times.push(t);
  for (let t = now - DENSE_SECONDS; t <= now; t += 10) times.push(t);
  // Bulk-inserted (volume is the point here; retention.test.ts sends reports over HTTP).
  for (let i = 0; i < times.length; i += 500) {
    const chunk = times.slice(i, i + 500);
    await server.deps.db.$executeRawUnsafe(
      `INSERT INTO "MetricReport" ("machineRef", "at", "cpu", "memory", "disk", "uptime") VALUES ${chunk.map(() => "(?, ?, ?, 40, 60, 1)").join(", ")}`,
      ...chunk.flatMap((t) => [ref, new Date(t * 1000), cpuAt(t)]),
    );
  }
  await server.retention.runOnce(); // rolls everything up; prunes raw reports older than 48 h
});
afterAll(() => server.stop());

describe("fleet.machine history resolution", () => {
  it("picks raw for 1 h, 5-minute rollups for 24 h and 7 d, hourly rollups for 30 d and 1 y", async () => {
    const seen: Record<string, [string, number]> = {};
    for (const window of ["1h", "24h", "7d", "30d", "1y"] as const) {
      const r = await admin.fleet.machine.query({ machineId: "m-hist", window });
      seen[window] = [r.historyResolution, r.history.length];
      expect(r.history.length).toBeLessThanOrEqual(300);
      const times = r.history.map((p) => Date.parse(p.at));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    }
    expect(Object.fromEntries(Object.entries(seen).map(([w, [res]]) => [w, res]))).toEqual({
      "1h": "raw",
      "24h": "5m",
      "7d": "5m",
      "30d": "1h",
      "1y": "1h",
    });
    // Enough points to draw: a 1 h window of 10 s reports, a day of 5-minute buckets, 40 days of hours.
    expect(seen["1h"]![1]).toBeGreaterThanOrEqual(270);
    expect(seen["24h"]![1]).toBeGreaterThanOrEqual(288);
    expect(seen["30d"]![1]).toBeGreaterThanOrEqual(240);
    expect(seen["1y"]![1]).toBeGreaterThanOrEqual(30);
  });

  it("averages a rollup point exactly as the raw reports it summarises", async () => {
    const r = await admin.fleet.machine.query({ machineId: "m-hist", window: "24h" });
    // Each 5-minute point of the dense part averages 30 reports at 10 s: the mean of cpuAt over them.
    const point = r.history.at(-10)!;
    const start = Date.parse(point.at) / 1000;
    const expected = Array.from({ length: 30 }, (_, i) => cpuAt(start + i * 10));
    expect(point.cpuPercent).toBeCloseTo(expected.reduce((a, b) => a + b, 0) / 30, 6);
    expect(point.memoryPercent).toBeCloseTo(40, 10);
    expect(point.diskPercent).toBeCloseTo(60, 10);
  });

  it("without a window returns the newest 120 raw reports, oldest first", async () => {
    const r = await admin.fleet.machine.query({ machineId: "m-hist" });
    expect(r.historyResolution).toBe("raw");
    expect(r.history).toHaveLength(120);
    expect(r.history.at(-1)!.at).toBe(clock.now().toISOString());
  });

  it("refuses an unknown window with BAD_REQUEST naming the field", async () => {
    const err = await failure(admin.fleet.machine.query({ machineId: "m-hist", window: "2h" as "1h" }));
    expect(err.data?.code).toBe("BAD_REQUEST");
    expect(err.message).toContain("window");
  });

  it("falls back to a coarser resolution when a finer one is not kept that long", () => {
    expect(historyPlan(24 * 3600, { rawHours: 48, fiveMinuteDays: 30 }).source).toBe("5m");
    expect(historyPlan(3600, { rawHours: 48, fiveMinuteDays: 30 })).toEqual({ source: "raw", stepSeconds: 13 });
    expect(historyPlan(7 * 86400, { rawHours: 48, fiveMinuteDays: 30 })).toEqual({ source: "5m", stepSeconds: 2100 });
    // 5-minute rollups kept 3 days only: a 7-day chart reads hourly ones.
    expect(historyPlan(7 * 86400, { rawHours: 48, fiveMinuteDays: 3 }).source).toBe("1h");
  });
});

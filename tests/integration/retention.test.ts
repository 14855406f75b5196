// Retention (server/services/retention.ts): metric rollups are exact and counted once, raw reports are
// pruned after their window while rollups stay, finished actions/events, expired sessions and old audit
// rows are pruned while unfinished actions stay, freed pages go back to the file system, and
// fleet.machine reads the resolution that suits its window. Real server, temporary SQLite, fake clock.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import { flushReports } from "../../server/services/machines.ts";
import { enroll, errorCode, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";

let server: TestServer;
let org: TestOrg;
let admin: TRPCClient;
let agent: TRPCClient;
let machineRef: string;
// 2026-01-01T00:00:00Z: a 5-minute and an hour boundary.
const clock = new ManualClock(Date.UTC(2026, 0, 1));
const START = clock.now().getTime();

const metrics = (cpu: number, memory: number, disk: number) => ({
  cpuPercent: cpu,
  memoryPercent: memory,
  diskPercent: disk,
  uptimeSeconds: 60,
});

/** Reports over HTTP at the clock's current time, then moves the clock on. */
async function reportAt(offsetSeconds: number, cpu: number, memory = 50, disk = 70) {
  const target = START + offsetSeconds * 1000;
  clock.advance((target - clock.now().getTime()) / 1000);
  await agent.agent.report.mutate({ metrics: metrics(cpu, memory, disk) });
}

type RollupRow = {
  resolution: string;
  at: Date;
  samples: number;
  cpuMin: number;
  cpuAvg: number;
  cpuMax: number;
  memoryAvg: number;
  diskMax: number;
};
async function rollups(resolution: "5m" | "1h"): Promise<RollupRow[]> {
  return server.deps.db.metricRollup.findMany({
    where: { machineRef, resolution },
    orderBy: { at: "asc" },
    select: {
      resolution: true,
      at: true,
      samples: true,
      cpuMin: true,
      cpuAvg: true,
      cpuMax: true,
      memoryAvg: true,
      diskMax: true,
    },
  });
}

beforeAll(async () => {
  server = await startTestServer();
  org = await server.createOrg("Retention Org");
  admin = server.client(org.adminKey);
  agent = server.client(await enroll(server, org.agentKey, "m-ret", "ret.local"));
  machineRef = (await server.deps.db.machine.findFirstOrThrow({ where: { machineId: "m-ret" }, select: { id: true } }))
    .id;
});
afterAll(() => server.stop());

async function startTestServer(): Promise<TestServer> {
  const { startTestServer: start } = await import("../helpers/server.ts");
  return start({
    clock,
    sweep: false,
    // The job is driven by hand (runOnce) on the fake clock; limits lifted for the compressed reports.
    env: {
      DASHFLEET_RETAIN_EVERY_SECONDS: "0",
      DASHFLEET_AGENT_PER_MINUTE: "100000",
      DASHFLEET_QUEUE_PER_MINUTE: "100000",
    },
  });
}

describe("metric rollups", () => {
  it("aggregates min/avg/max and samples per 5-minute and hourly bucket, and running again counts nothing twice", async () => {
    // Bucket 00:00-00:05: cpu 10, 20, 60; bucket 00:05-00:10: cpu 40; bucket 01:00-01:05: cpu 90.
    await reportAt(10, 10, 40, 70);
    await reportAt(100, 20, 50, 75);
    await reportAt(290, 60, 60, 80);
    await reportAt(300, 40, 20, 10);
    await reportAt(3600 + 5, 90, 10, 5);
    await flushReports(server.deps.db);

    const first = await server.retention.runOnce();
    expect(first.rolledUp).toBe(5);
    const five = await rollups("5m");
    expect(five.map((r) => [r.at.toISOString(), r.samples, r.cpuMin, r.cpuMax])).toEqual([
      ["2026-01-01T00:00:00.000Z", 3, 10, 60],
      ["2026-01-01T00:05:00.000Z", 1, 40, 40],
      ["2026-01-01T01:00:00.000Z", 1, 90, 90],
    ]);
    expect(five[0]!.cpuAvg).toBeCloseTo(30, 10);
    expect(five[0]!.memoryAvg).toBeCloseTo(50, 10);
    expect(five[0]!.diskMax).toBe(80);
    const hourly = await rollups("1h");
    expect(hourly.map((r) => [r.at.toISOString(), r.samples, r.cpuMin, r.cpuMax])).toEqual([
      ["2026-01-01T00:00:00.000Z", 4, 10, 60],
      ["2026-01-01T01:00:00.000Z", 1, 90, 90],
    ]);
    expect(hourly[0]!.cpuAvg).toBeCloseTo(32.5, 10);

    // Idempotent: two more rounds (one of them concurrent with a third call) change nothing.
    const [again, same] = await Promise.all([server.retention.runOnce(), server.retention.runOnce()]);
    expect(again).toBe(same); // a running round is not started twice
    expect(again.rolledUp).toBe(0);
    expect((await server.retention.runOnce()).rolledUp).toBe(0);
    expect(await rollups("5m")).toEqual(five);
    expect(await rollups("1h")).toEqual(hourly);
  });

  it("merges reports arriving later into a bucket already rolled up, weighting the average by samples", async () => {
    await reportAt(3600 + 200, 30, 10, 5); // same 5-minute bucket as the 90 above
    await flushReports(server.deps.db);
    expect((await server.retention.runOnce()).rolledUp).toBe(1);
    const bucket = (await rollups("5m")).find((r) => r.at.toISOString() === "2026-01-01T01:00:00.000Z")!;
    expect([bucket.samples, bucket.cpuMin, bucket.cpuMax]).toEqual([2, 30, 90]);
    expect(bucket.cpuAvg).toBeCloseTo(60, 10);
    const hour = (await rollups("1h")).find((r) => r.at.toISOString() === "2026-01-01T01:00:00.000Z")!;
    expect(hour.samples).toBe(2);
  });
});

describe("pruning", () => {
  it("drops raw reports after the raw window (48 h) but keeps their rollups, then the rollups after theirs", async () => {
    const db = server.deps.db;
    expect(await db.metricReport.count({ where: { machineRef } })).toBe(6);
    // At 47 h every report (the oldest at 00:00:10) is still inside the window.
    clock.advance((START + 47 * 3600 * 1000 - clock.now().getTime()) / 1000);
    let round = await server.retention.runOnce();
    expect(round.pruned.raw).toBe(0);
    // A report at 47 h, then at 49 h 10 min (cut-off 01:10, past the newest old report at 01:03:20):
    // the old raw rows go, the new one and every rollup stay.
    await reportAt(47 * 3600, 55);
    await flushReports(db);
    clock.advance(2 * 3600 + 600);
    round = await server.retention.runOnce();
    expect(round.rolledUp).toBe(1);
    expect(round.pruned.raw).toBe(6);
    expect(await db.metricReport.count({ where: { machineRef } })).toBe(1);
    expect((await rollups("5m")).length).toBe(4);
    expect((await rollups("1h")).length).toBe(3);
    // 31 days on: 5-minute rollups are past their 30 days, hourly ones are kept (400 days).
    clock.advance(31 * 24 * 3600);
    round = await server.retention.runOnce();
    expect(round.pruned.fiveMinute).toBe(4);
    expect(round.pruned.raw).toBe(1);
    expect(await rollups("5m")).toEqual([]);
    expect((await rollups("1h")).length).toBe(3);
  });

  it("never prunes a raw report that has not been rolled up yet", async () => {
    const db = server.deps.db;
    // A report stored with a time far in the past but never rolled up (the mark is below it).
    const old = new Date(clock.now().getTime() - 100 * 24 * 3600 * 1000);
    await db.metricReport.create({ data: { machineRef, at: old, cpu: 1, memory: 1, disk: 1, uptime: 1 } });
    const mark = await db.retentionState.findUniqueOrThrow({ where: { name: "rollup" } });
    const { pruneRawBatch } = await import("../../server/services/metricRollup.ts");
    expect(await pruneRawBatch(db, clock.now(), 2000)).toBe(0);
    expect(await db.metricReport.count({ where: { machineRef, at: old } })).toBe(1);
    // The next round rolls it up first, then prunes it.
    const round = await server.retention.runOnce();
    expect(round.rolledUp).toBe(1);
    expect(round.pruned.raw).toBe(1);
    expect((await db.retentionState.findUniqueOrThrow({ where: { name: "rollup" } })).value).toBeGreaterThan(
      mark.value,
    );
  });

  it("prunes finished actions with their events after their retention, keeps pending and executing ones", async () => {
    const db = server.deps.db;
    const queue = (message: string) =>
      admin.actions.queue.mutate({ machineId: "m-ret", type: "message", data: { message } });
    const done = await queue("finished long ago");
    const cancelled = await queue("cancelled long ago");
    const pending = await queue("still pending");
    const executing = await queue("still executing");
    const ids = [done, cancelled, pending, executing].map((a) => a.id);
    // Move them into their states directly: the retention rule depends on status and finishedAt only.
    const now = clock.now();
    await db.action.update({ where: { id: ids[0] }, data: { status: "done", finishedAt: now } });
    await db.action.update({ where: { id: ids[1] }, data: { status: "cancelled", finishedAt: now } });
    await db.action.update({ where: { id: ids[3] }, data: { status: "executing", ackedAt: now } });
    expect(await db.actionEvent.count({ where: { actionId: ids[0] } })).toBeGreaterThan(0);

    clock.advance(89 * 24 * 3600);
    expect((await server.retention.runOnce()).pruned.actions).toBe(0);
    clock.advance(2 * 24 * 3600);
    const round = await server.retention.runOnce();
    expect(round.pruned.actions).toBe(2);
    const left = await db.action.findMany({ where: { id: { in: ids } }, select: { id: true, status: true } });
    expect(left.map((a) => a.status).sort()).toEqual(["executing", "pending"]);
    expect(await db.actionEvent.count({ where: { actionId: { in: ids.slice(0, 2) } } })).toBe(0);
    expect(await db.actionEvent.count({ where: { actionId: ids[2] } })).toBeGreaterThan(0);
    // Through the API: the pruned one is gone, the pending one still there.
    expect(await errorCode(admin.actions.get.query({ id: ids[0]! }))).toBe("NOT_FOUND");
    expect((await admin.actions.get.query({ id: ids[2]! })).status).toBe("pending");
  });

  it("prunes expired sessions and audit rows past their retention, keeps live ones", async () => {
    const db = server.deps.db;
    const user = await db.user.findFirstOrThrow({ where: { orgId: org.orgId }, select: { id: true } });
    const now = clock.now().getTime();
    await db.session.createMany({
      data: [
        { tokenHash: "expired-session", userId: user.id, expiresAt: new Date(now - 1000) },
        { tokenHash: "live-session", userId: user.id, expiresAt: new Date(now + 3600 * 1000) },
      ],
    });
    await db.auditLog.createMany({
      data: [
        { orgId: org.orgId, actor: "test", action: "old.thing", at: new Date(now - 366 * 24 * 3600 * 1000) },
        { orgId: org.orgId, actor: "test", action: "recent.thing", at: new Date(now - 364 * 24 * 3600 * 1000) },
      ],
    });
    const round = await server.retention.runOnce();
    expect(round.pruned.sessions).toBeGreaterThanOrEqual(1);
    expect(round.pruned.audit).toBeGreaterThanOrEqual(1);
    expect(await db.session.count({ where: { tokenHash: { in: ["expired-session", "live-session"] } } })).toBe(1);
    expect(await db.session.count({ where: { tokenHash: "live-session" } })).toBe(1);
    expect(await db.auditLog.count({ where: { action: "old.thing" } })).toBe(0);
    expect(await db.auditLog.count({ where: { action: "recent.thing" } })).toBe(1);
  });
});

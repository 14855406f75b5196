// fleet.*: machines with their latest metrics (reported through agent.report), online state from an
// injected clock, health, pending work, one machine's history and actions; roles and isolation.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import { enroll, errorCode, failure, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";
import { startWithRoles } from "../helpers/session.ts";

let server: TestServer;
let org: TestOrg;
let other: TestOrg;
let admin: TRPCClient;
let viewer: TRPCClient;
let tokens: Record<string, string>;
const clock = new ManualClock();

const metrics = (cpu: number, memory = 30, disk = 40) => ({
  cpuPercent: cpu,
  memoryPercent: memory,
  diskPercent: disk,
  uptimeSeconds: 3600,
});

beforeAll(async () => {
  ({ server, org, other, viewer } = await startWithRoles("Fleet Org", "fleet.test", {
    clock,
    sweep: false,
    env: { DASHFLEET_AGENT_PER_MINUTE: "10000", DASHFLEET_REPORT_INTERVAL_SECONDS: "10" },
  }));
  admin = server.client(org.adminKey);
  tokens = {
    alpha: await enroll(server, org.agentKey, "m-alpha", "alpha.local"),
    beta: await enroll(server, org.agentKey, "m-beta", "beta.local"),
    gamma: await enroll(server, org.agentKey, "m-gamma", "gamma.local"),
  };
  // The same machine id in another org is another machine.
  await enroll(server, other.agentKey, "m-alpha", "secret-other-host");
});
afterAll(() => server.stop());

describe("fleet.list", () => {
  it("shows each machine with latest metrics, online state, health and pending work", async () => {
    await server
      .client(tokens.alpha)
      .agent.report.mutate({ metrics: { ...metrics(12), extras: { temp: 41.5, gpu: "none" } } });
    await server
      .client(tokens.beta)
      .agent.report.mutate({ metrics: metrics(100, 100, 100), identity: { agentVersion: "2.0.0" } });
    await admin.actions.queue.mutate({ machineId: "m-alpha", type: "message", data: { message: "hi" } });
    await admin.actions.queue.mutate({ machineId: "m-alpha", type: "restart", data: {} });

    const r = await viewer.fleet.list.query();
    expect(r.reportIntervalSeconds).toBe(10);
    expect(r.machines.map((m) => m.machineId)).toEqual(["m-alpha", "m-beta", "m-gamma"]);
    const [alpha, beta, gamma] = r.machines;
    expect(alpha).toEqual({
      machineId: "m-alpha",
      hostname: "alpha.local",
      displayName: null,
      name: "alpha.local",
      labels: [],
      os: "Linux test",
      agentVersion: "0.0.0-test",
      firstSeenAt: clock.now().toISOString(),
      lastSeenAt: clock.now().toISOString(),
      online: true,
      health: "good",
      healthScore: 100,
      healthReasons: [],
      metrics: {
        cpuPercent: 12,
        memoryPercent: 30,
        diskPercent: 40,
        uptimeSeconds: 3600,
        at: clock.now().toISOString(),
        extras: { temp: 41.5, gpu: "none" },
      },
      pendingCount: 2,
      retired: false,
    });
    expect(beta).toMatchObject({
      agentVersion: "2.0.0",
      online: true,
      health: "critical",
      healthScore: 0,
      pendingCount: 0,
    });
    expect(beta!.healthReasons).toEqual([
      "CPU 100 % in the latest report",
      "Memory 100 % in the latest report",
      "Disk 100 % full",
    ]);
    // Enrolled, never reported: online, no metrics, no health data (not "critical 0").
    expect(gamma).toMatchObject({
      online: true,
      metrics: null,
      health: "nodata",
      healthScore: null,
      healthReasons: [],
    });
    expect(r.total).toBe(3);
    expect(r.nextCursor).toBeNull();
    expect(JSON.stringify(r)).not.toMatch(/tokenHash|dfm_|secret-other-host/);
  });

  it("a machine goes offline after three silent report intervals and comes back with a report", async () => {
    clock.advance(30);
    expect((await admin.fleet.list.query()).machines.every((m) => m.online)).toBe(true);
    clock.advance(1);
    await server.client(tokens.beta).agent.report.mutate({ metrics: metrics(5) });
    const { machines } = await admin.fleet.list.query();
    const byId = Object.fromEntries(machines.map((m) => [m.machineId, m]));
    // Offline is its own state: the health band stays what the last reports said.
    expect(byId["m-alpha"]).toMatchObject({ online: false, health: "good" });
    expect(byId["m-gamma"]).toMatchObject({ online: false, health: "nodata" });
    expect(byId["m-beta"]).toMatchObject({ online: true, health: "good" });
    expect((await admin.fleet.list.query({ online: true })).machines.map((m) => m.machineId)).toEqual(["m-beta"]);
    expect((await admin.fleet.list.query({ online: false })).machines.map((m) => m.machineId)).toEqual([
      "m-alpha",
      "m-gamma",
    ]);
  });

  it("searches machine id and hostname and sorts", async () => {
    expect((await admin.fleet.list.query({ search: "BETA" })).machines.map((m) => m.machineId)).toEqual(["m-beta"]);
    expect((await admin.fleet.list.query({ search: "gamma.loc" })).machines.map((m) => m.machineId)).toEqual([
      "m-gamma",
    ]);
    expect((await admin.fleet.list.query({ search: "nothing-like-it" })).machines).toEqual([]);
    // Worst first; never-reported machines last.
    expect((await admin.fleet.list.query({ sort: "health" })).machines.map((m) => m.machineId).at(-1)).toBe("m-gamma");
    expect((await admin.fleet.list.query({ sort: "lastSeen" })).machines[0]!.machineId).toBe("m-beta");
  });

  it("98 % CPU is degraded at once and critical over three reports, with the reason in words", async () => {
    const delta = server.client(await enroll(server, org.agentKey, "m-delta", "delta.local"));
    const health = async () => (await admin.fleet.list.query({ search: "m-delta" })).machines[0]!;
    await delta.agent.report.mutate({ metrics: metrics(98) });
    expect(await health()).toMatchObject({ health: "degraded", healthReasons: ["CPU 98 % in the latest report"] });
    await delta.agent.report.mutate({ metrics: metrics(98) });
    await delta.agent.report.mutate({ metrics: metrics(98) });
    const m = await health();
    expect(m).toMatchObject({ health: "critical", healthReasons: ["CPU 98 % over the last 3 reports"] });
    expect(m.healthScore).toBeLessThan(40);
    expect((await admin.fleet.list.query({ health: "critical" })).machines.map((x) => x.machineId)).toContain(
      "m-delta",
    );
    // Back to normal: good again, and the critical filter no longer finds it.
    await delta.agent.report.mutate({ metrics: metrics(10) });
    expect(await health()).toMatchObject({ health: "good", healthReasons: [] });
    // Retired machines leave the table, its counters and bulk targets; fleet.machine still shows them.
    await admin.machines.retire.mutate({ machineId: "m-delta" });
    expect((await admin.fleet.list.query({ search: "m-delta" })).total).toBe(0);
    expect((await admin.fleet.machine.query({ machineId: "m-delta" })).machine.retired).toBe(true);
  });

  it("a report that leaves the band and score as they were still shows its own reasons and figures", async () => {
    // The health columns (indexed) are rewritten only when band or score change: the rest must still move.
    const eps = server.client(await enroll(server, org.agentKey, "m-eps", "eps.local"));
    const row = async () => (await admin.fleet.list.query({ search: "m-eps" })).machines[0]!;
    await eps.agent.report.mutate({ metrics: metrics(10, 30, 91) });
    const first = await row();
    expect(first).toMatchObject({ health: "degraded", healthReasons: ["Disk 91 % full"] });
    await eps.agent.report.mutate({ metrics: metrics(20, 30, 92) });
    const second = await row();
    expect(second.health).toBe("degraded");
    expect(second.healthScore).toBe(first.healthScore); // unchanged: the columns were not rewritten
    expect(second.healthReasons).toEqual(["Disk 92 % full"]);
    expect(second.metrics).toMatchObject({ cpuPercent: 20, diskPercent: 92 });
    // Sorted and filtered by health, it is where its band says, before and after a change.
    const critical = async () =>
      (await admin.fleet.list.query({ health: "critical" })).machines.map((x) => x.machineId);
    expect(await critical()).not.toContain("m-eps");
    await eps.agent.report.mutate({ metrics: metrics(20, 30, 99) });
    expect(await critical()).toContain("m-eps");
    await eps.agent.report.mutate({ metrics: metrics(20, 30, 40) });
    await eps.agent.report.mutate({ metrics: metrics(20, 30, 41) });
    expect(await critical()).not.toContain("m-eps");
    expect(await row()).toMatchObject({ health: "good", healthScore: 100, healthReasons: [] });
    await admin.machines.retire.mutate({ machineId: "m-eps" }); // the tests below count three machines
  });

  it("names the bad field", async () => {
    const err = await failure(admin.fleet.list.query({ sort: "uptime" as "health" }));
    expect(err.data?.code).toBe("BAD_REQUEST");
    expect(err.message).toMatch(/^sort:/);
  });
});

describe("fleet.machine", () => {
  it("returns the machine, the last 120 reports oldest first, and the newest 20 actions", async () => {
    const c = server.client(tokens.gamma);
    for (let i = 0; i < 125; i++) {
      clock.advance(1);
      await c.agent.report.mutate({ metrics: metrics(i % 101) });
    }
    for (let i = 0; i < 22; i++)
      await admin.actions.queue.mutate({ machineId: "m-gamma", type: "message", data: { message: `n${i}` } });
    const r = await viewer.fleet.machine.query({ machineId: "m-gamma" });
    expect(r.machine).toMatchObject({
      machineId: "m-gamma",
      online: true,
      pendingCount: 22,
      metrics: { cpuPercent: 124 % 101 },
    });
    expect(r.history).toHaveLength(120);
    expect(r.history[0]!.cpuPercent).toBe(5);
    expect(r.history.at(-1)).toEqual({
      at: clock.now().toISOString(),
      cpuPercent: 124 % 101,
      memoryPercent: 30,
      diskPercent: 40,
    });
    const times = r.history.map((h) => h.at);
    expect([...times].sort()).toEqual(times);
    expect(r.actions).toHaveLength(20);
    expect(r.actions[0]!.data).toMatchObject({ message: "n21" });
    expect(r.actions.every((a) => a.machineId === "m-gamma")).toBe(true);
    expect(JSON.stringify(r)).not.toMatch(/tokenHash|claimToken|dfm_/);
  });

  it("an unknown machine, or another org's, is NOT_FOUND", async () => {
    expect(await errorCode(admin.fleet.machine.query({ machineId: "m-nope" }))).toBe("NOT_FOUND");
    await server
      .client(other.adminKey)
      .actions.queue.mutate({ machineId: "m-alpha", type: "message", data: { message: "theirs" } });
    const mine = await admin.fleet.machine.query({ machineId: "m-alpha" });
    expect(mine.machine.hostname).toBe("alpha.local");
    expect(mine.actions.some((a) => JSON.stringify(a.data).includes("theirs"))).toBe(false);
    const theirs = await server.client(other.adminKey).fleet.list.query();
    expect(theirs.machines.map((m) => m.hostname)).toEqual(["secret-other-host"]);
    expect(await errorCode(server.client(other.adminKey).fleet.machine.query({ machineId: "m-gamma" }))).toBe(
      "NOT_FOUND",
    );
  });

  it("names the bad field", async () => {
    const err = await failure(admin.fleet.machine.query({ machineId: "has spaces" }));
    expect(err.data?.code).toBe("BAD_REQUEST");
    expect(err.message).toMatch(/^machineId:/);
  });
});

describe("roles", () => {
  it("viewers read the fleet but may not queue actions or create keys; agents and strangers read nothing", async () => {
    expect((await viewer.fleet.list.query()).machines.length).toBe(3);
    expect(
      await errorCode(viewer.actions.queue.mutate({ machineId: "m-alpha", type: "message", data: { message: "no" } })),
    ).toBe("FORBIDDEN");
    expect(await errorCode(viewer.keys.create.mutate({ name: "no", scopes: ["agent"] }))).toBe("FORBIDDEN");
    expect(await errorCode(server.client(org.agentKey).fleet.list.query())).toBe("FORBIDDEN");
    expect(await errorCode(server.client(tokens.alpha).fleet.list.query())).toBe("FORBIDDEN");
    expect(await errorCode(server.client().fleet.list.query())).toBe("UNAUTHORIZED");
  });
});

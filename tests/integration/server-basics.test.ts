// Server foundations: SQLite pragmas, body cap, agent rate limits, scopes of agent credentials.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import { checkPragmas } from "../../server/db.ts";
import { dialectOf } from "../../server/db/dialect.ts";
import { enroll, errorCode, failure, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

const clock = new ManualClock();
let server: TestServer;
let org: TestOrg;

beforeAll(async () => {
  server = await startTestServer({ clock, sweep: false, env: { DASHFLEET_AGENT_PER_MINUTE: "5" } });
  org = await server.createOrg();
});
afterAll(() => server.stop());

describe("database", () => {
  it("runs SQLite in WAL mode with synchronous=FULL, foreign keys and a busy timeout (PostgreSQL: READ COMMITTED)", async () => {
    if (dialectOf(server.deps.db) === "postgresql") {
      // Under tests/pg.vitest.config.ts: the isolation level the claim code is written for (server/db/pgAdapter.ts).
      const [row] = await server.deps.db.$queryRawUnsafe<{ level: string }[]>("SELECT current_setting('transaction_isolation') AS level");
      expect(row?.level).toBe("read committed");
      return;
    }
    const p = await checkPragmas(server.deps.db);
    expect(p).toMatchObject({ journal_mode: "wal", synchronous: 2, foreign_keys: 1 });
    expect(Number(p.busy_timeout)).toBeGreaterThanOrEqual(1000);
  });
});

describe("limits", () => {
  it("caps tRPC request bodies (413) and keeps serving", async () => {
    const res = await fetch(`${server.url}/trpc/actions.queue`, {
      method: "POST",
      headers: { authorization: `Bearer ${org.adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ machineId: "x", type: "message", data: { message: "y".repeat(300 * 1024) } }),
    });
    expect(res.status).toBe(413);
    expect((await server.client(org.adminKey).actions.list.query({})).items).toEqual([]);
  });

  it("limits polls per machine (TOO_MANY_REQUESTS) without touching other machines", async () => {
    const a = server.client(await enroll(server, org.agentKey, "busy-1"));
    const b = server.client(await enroll(server, org.agentKey, "calm-1"));
    for (let i = 0; i < 5; i++) await a.agent.pendingActions.query();
    const err = await failure(a.agent.pendingActions.query());
    expect(err.data?.code).toBe("TOO_MANY_REQUESTS");
    expect(err.message).toMatch(/Retry in \d+ s/);
    expect((await b.agent.pendingActions.query()).actions).toEqual([]);
    clock.advance(60);
    expect((await a.agent.pendingActions.query()).actions).toEqual([]);
  });
});

describe("agent credentials", () => {
  it("enrolls only with an agent key; a machine token cannot enroll and an admin key is not an agent", async () => {
    const token = await enroll(server, org.agentKey, "scoped-1");
    const identity = { machineId: "scoped-2", hostname: "h", os: "Linux", agentVersion: "1" };
    expect(await errorCode(server.client(token).agent.enroll.mutate(identity))).toBe("FORBIDDEN");
    expect(await errorCode(server.client(org.adminKey).agent.enroll.mutate(identity))).toBe("FORBIDDEN");
    expect(await errorCode(server.client().agent.enroll.mutate(identity))).toBe("UNAUTHORIZED");
  });

  it("reports metrics only with a machine token, and re-enrolling replaces the old token", async () => {
    const metrics = { cpuPercent: 12.5, memoryPercent: 40, diskPercent: 71, uptimeSeconds: 3600 };
    expect(await errorCode(server.client(org.agentKey).agent.report.mutate({ metrics }))).toBe("FORBIDDEN");
    const first = await enroll(server, org.agentKey, "re-1");
    expect(await server.client(first).agent.report.mutate({ metrics })).toEqual({ nextReportInSeconds: 10 });
    // The machine re-enrolls itself with its current token (the agent key alone may not: see identity tests).
    const identity = { machineId: "re-1", hostname: "re-1", os: "Linux test", agentVersion: "0.0.0-test" };
    const second = (await server.client(first).agent.enroll.mutate(identity)).machineToken;
    expect(await errorCode(server.client(first).agent.report.mutate({ metrics }))).toBe("UNAUTHORIZED");
    await server.client(second).agent.report.mutate({ metrics });
    const m = await server.deps.db.machine.findFirstOrThrow({ where: { machineId: "re-1" }, select: { lastCpu: true, tokenHash: true } });
    expect(m.lastCpu).toBe(12.5);
    expect(m.tokenHash).not.toContain(second.slice(4));
  });

  it("rejects out-of-range metrics with BAD_REQUEST naming the field", async () => {
    const token = await enroll(server, org.agentKey, "bad-metrics");
    const err = await failure(server.client(token).agent.report.mutate({ metrics: { cpuPercent: 140, memoryPercent: 1, diskPercent: 1, uptimeSeconds: 1 } }));
    expect(err.data?.code).toBe("BAD_REQUEST");
    expect(err.message).toMatch(/^metrics\.cpuPercent/);
  });

  it("lets a machine token act only for its own machine", async () => {
    const tokenA = await enroll(server, org.agentKey, "own-a");
    await enroll(server, org.agentKey, "own-b");
    const { id } = await server.client(org.adminKey).actions.queue.mutate({ machineId: "own-b", type: "restart", data: {} });
    const a = server.client(tokenA);
    expect(await errorCode(a.agent.pendingActions.query({ machineId: "own-b" }))).toBe("FORBIDDEN");
    expect(await errorCode(a.agent.ack.mutate({ actionId: id, claimToken: "guess-guess" }))).toBe("NOT_FOUND");
    expect(await errorCode(a.agent.reportResult.mutate({ actionId: id, claimToken: "guess-guess", status: "done", result: "x" }))).toBe("NOT_FOUND");
    expect((await server.client(org.adminKey).actions.get.query({ id })).status).toBe("pending");
  });
});

describe("credential cache", () => {
  it("keeps the rest of the fleet's machine tokens cached when one machine re-enrolls or a key is revoked", async () => {
    const tokenB = await enroll(server, org.agentKey, "cache-b");
    const oldA = await enroll(server, org.agentKey, "cache-a");
    const b = server.client(tokenB);
    await b.agent.pendingActions.query(); // B's token is now cached
    await server.client(oldA).agent.pendingActions.query();

    const admin = server.client(org.adminKey);
    const spare = await admin.keys.create.mutate({ name: "spare", scopes: ["agent"] });
    await server.client(oldA).agent.enroll.mutate({ machineId: "cache-a", hostname: "cache-a", os: "Linux test", agentVersion: "0.0.0-test" });
    await admin.keys.revoke.mutate({ id: spare.id });

    const lookups = vi.spyOn(server.deps.db, "$queryRawUnsafe");
    try {
      expect((await b.agent.pendingActions.query()).actions).toEqual([]);
      expect(lookups).not.toHaveBeenCalled();
    } finally {
      lookups.mockRestore();
    }
    // …while the re-enrolled machine's old token and the revoked key stop working at once.
    expect(await errorCode(server.client(oldA).agent.pendingActions.query())).toBe("UNAUTHORIZED");
    expect(await errorCode(server.client(spare.key).agent.enroll.mutate({ machineId: "x", hostname: "x", os: "x", agentVersion: "1" }))).toBe("UNAUTHORIZED");
  });
});

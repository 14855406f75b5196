// Single-call actions.queue with an admin key is answered outside the tRPC adapter (server/http/fastPoll.ts,
// for throughput): these requests are sent as a script sends them (plain HTTP, one call per request) and
// must get exactly what the tRPC procedure answers, and store exactly what it stores, refusals included.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enroll, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let org: TestOrg;

beforeAll(async () => {
  server = await startTestServer({ env: { DASHFLEET_QUEUE_PER_MINUTE: "5" } });
  org = await server.createOrg();
  await enroll(server, org.agentKey, "fast-1");
});
afterAll(() => server.stop());

type Answer = {
  result?: { data: { id: string } };
  error?: { message: string; data: { code: string; retryAfterSeconds?: number } };
};

async function queue(body: unknown, key = org.adminKey) {
  const res = await fetch(`${server.url}/trpc/actions.queue`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Answer };
}

const rowsOf = (message: string) =>
  server.deps.db.action.count({ where: { orgId: org.orgId, payload: { contains: message } } });

describe("single-call actions.queue over plain HTTP", () => {
  it("answers tRPC's shape and stores the action, its event and its audit row once", async () => {
    const r = await queue({ machineId: "fast-1", type: "message", data: { message: "fast one" } });
    expect(r.status).toBe(200);
    const id = r.body.result!.data.id;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await rowsOf("fast one")).toBe(1);
    const db = server.deps.db;
    expect(await db.actionEvent.count({ where: { actionId: id, status: "pending" } })).toBe(1);
    expect(await db.auditLog.count({ where: { action: "actions.queue", target: id, actor: "key:admin" } })).toBe(1);
    // The agent gets it once.
    const token = await enroll(server, org.agentKey, "fast-2");
    await queue({ machineId: "fast-2", type: "message", data: { message: "fast two" } });
    const agent = server.client(token);
    expect((await agent.agent.pendingActions.query()).actions).toHaveLength(1);
    expect((await agent.agent.pendingActions.query()).actions).toHaveLength(0);
  });

  it("refuses what the procedure refuses, in its shape, storing nothing", async () => {
    const bad = await queue({ machineId: "fast-1", type: "message", data: {} });
    expect(bad.status).toBe(400);
    expect(bad.body.error!.data.code).toBe("BAD_REQUEST");
    expect(bad.body.error!.message).toContain("data.message");

    const unknown = await queue({ machineId: "nobody", type: "message", data: { message: "to nobody" } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error!.data.code).toBe("NOT_FOUND");
    expect(await rowsOf("to nobody")).toBe(0);

    const agentKey = await queue(
      { machineId: "fast-1", type: "message", data: { message: "by agent key" } },
      org.agentKey,
    );
    expect(agentKey.status).toBe(403);
    expect(await rowsOf("by agent key")).toBe(0);
  });

  it("spends the queue budget once per call, a refused call included; past it, 429 and nothing stored", async () => {
    // 5 a minute: 2 queued and 1 refused as NOT_FOUND above (the fast path hands its spend back before
    // tRPC answers, so it counts once) leave 2.
    const answers: number[] = [];
    for (let i = 0; i < 4; i++)
      answers.push((await queue({ machineId: "fast-1", type: "message", data: { message: `budget ${i}` } })).status);
    expect(answers).toEqual([200, 200, 429, 429]);
    const last = await queue({ machineId: "fast-1", type: "message", data: { message: "budget 4" } });
    expect(last.body.error!.data.code).toBe("TOO_MANY_REQUESTS");
    expect(last.body.error!.data.retryAfterSeconds).toBeGreaterThan(0);
    expect(await rowsOf("budget 2")).toBe(0);
    expect(await rowsOf("budget 4")).toBe(0);
  });
});

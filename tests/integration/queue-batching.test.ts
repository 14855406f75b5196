// Group commit of queued actions: concurrent queue calls share transactions, every call is answered
// only once its rows are stored, and one failing call does not sink the others.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { enroll, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let org: TestOrg;
let batch1Token: string;

beforeAll(async () => {
  server = await startTestServer({ env: { DASHFLEET_QUEUE_PER_MINUTE: "100000" } });
  org = await server.createOrg();
  batch1Token = await enroll(server, org.agentKey, "batch-1");
  await enroll(server, org.agentKey, "batch-2");
});
afterAll(() => server.stop());

/** One queue call's rows, for a machine ref (valid or not), with a sequence number (dispatch.takeSeqs; null: drawn at the commit). */
function makeJob(machineRef: string, seq: number | null) {
  const id = randomUUID();
  const now = new Date();
  return {
    id,
    job: {
      actions: [{ id, seq, orgId: org.orgId, machineRef, type: "restart", payload: "{}", createdBy: "test", createdAt: now, expiresAt: now }],
      events: [{ actionId: id, status: "pending", at: now, detail: null }],
      audit: { orgId: org.orgId, actor: "test", action: "actions.queue", target: id, detail: null, at: now },
    },
  };
}

describe("group commit of queued actions", () => {
  it("stores each of 200 concurrent calls once, with its event and audit row, and delivers each once", async () => {
    const admin = server.client(org.adminKey);
    {
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => admin.actions.queue.mutate({ machineId: i % 2 ? "batch-1" : "batch-2", type: "message", data: { message: `m${i}` } })),
      );
      const ids = results.map((r) => r.id);
      expect(new Set(ids).size).toBe(200);
      const db = server.deps.db;
      expect(await db.action.count({ where: { id: { in: ids } } })).toBe(200);
      expect(await db.actionEvent.count({ where: { actionId: { in: ids }, status: "pending" } })).toBe(200);
      expect(await db.auditLog.count({ where: { orgId: org.orgId, action: "actions.queue", target: { in: ids } } })).toBe(200);
      // Every one is delivered exactly once, in the per-machine order of its sequence number.
      const agent = server.client(batch1Token);
      const delivered: string[] = [];
      for (let got = await agent.agent.pendingActions.query(); got.actions.length > 0; got = await agent.agent.pendingActions.query())
        delivered.push(...got.actions.map((a) => a.id));
      const expected = await db.action.findMany({ where: { id: { in: ids }, machine: { machineId: "batch-1" } }, orderBy: { seq: "asc" }, select: { id: true } });
      expect(delivered).toEqual(expected.map((r) => r.id));
      expect(delivered).toHaveLength(100);
    }
  });

  it("commits the calls that arrive together in one transaction", async () => {
    const queue = server.deps.services.queue;
    const ref = (await queue.resolveMachines(org.orgId, ["batch-2"])).get("batch-2")!;
    const seqs = await server.deps.services.dispatch.takeSeqs(50);
    const before = queue.stats.commits;
    const jobs = seqs.map((seq) => makeJob(ref, seq));
    await Promise.all(jobs.map((j) => queue.write(j.job)));
    // The first waits 2 ms for company (on SQLite a commit blocks the event loop, so nothing can
    // arrive while one runs): all 50 share one transaction (on PostgreSQL, one statement).
    expect(queue.stats.commits - before).toBe(1);
    expect(await server.deps.db.action.count({ where: { id: { in: jobs.map((j) => j.id) } } })).toBe(50);
  });

  it("numbers the actions of one commit in the order their calls arrived (PostgreSQL: drawn in the commit's statement)", async () => {
    const queue = server.deps.services.queue;
    const dispatch = server.deps.services.dispatch;
    const ref = (await queue.resolveMachines(org.orgId, ["batch-2"])).get("batch-2")!;
    const before = queue.stats.commits;
    // As queueActions numbers them: SQLite now, PostgreSQL null (drawn at the commit).
    const jobs = Array.from({ length: 40 }, () => makeJob(ref, dispatch.queueSeqs(1)?.[0] ?? null));
    await Promise.all(jobs.map((j) => queue.write(j.job)));
    expect(queue.stats.commits - before).toBe(1);
    const rows = await server.deps.db.action.findMany({ where: { id: { in: jobs.map((j) => j.id) } }, select: { id: true, seq: true } });
    const seqOf = new Map(rows.map((r) => [r.id, r.seq]));
    const seqs = jobs.map((j) => seqOf.get(j.id)!);
    expect(seqs).toHaveLength(40);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(40);
  });

  it("resolves concurrent calls to machines not seen yet with one directory query, each call its own machines", async () => {
    const ids = ["dir-1", "dir-2", "dir-3", "dir-4", "dir-5"];
    for (const id of ids) await enroll(server, org.agentKey, id);
    const queue = server.deps.services.queue;
    const machine = server.deps.db.machine;
    const spy = vi.spyOn(machine, "findMany");
    try {
      const answers = await Promise.all([...ids, "no-such-machine"].map((id) => queue.resolveMachines(org.orgId, [id])));
      expect(spy).toHaveBeenCalledTimes(1);
      expect(answers.map((m) => [...m.keys()])).toEqual([...ids.map((id) => [id]), []]);
      const rows = await server.deps.db.machine.findMany({ where: { orgId: org.orgId, machineId: { in: ids } }, select: { id: true, machineId: true } });
      for (const r of rows) expect(answers[ids.indexOf(r.machineId)]!.get(r.machineId)).toBe(r.id);
    } finally {
      spy.mockRestore();
    }
  });

  it("answers a failing call with its own error while the calls batched with it are stored", async () => {
    const queue = server.deps.services.queue;
    const ref = (await queue.resolveMachines(org.orgId, ["batch-1"])).get("batch-1")!;
    const [s1, s2, s3] = await server.deps.services.dispatch.takeSeqs(3);
    const good = [makeJob(ref, s1!), makeJob(ref, s2!)];
    const bad = makeJob("no-such-machine", s3!);
    const outcomes = await Promise.allSettled([queue.write(good[0]!.job), queue.write(bad.job), queue.write(good[1]!.job)]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const stored = await server.deps.db.action.findMany({ where: { id: { in: [good[0]!.id, good[1]!.id, bad.id] } }, select: { id: true } });
    expect(stored.map((r) => r.id).sort()).toEqual([good[0]!.id, good[1]!.id].sort());
  });
});

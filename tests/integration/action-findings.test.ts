// Hostile-review findings on the action queue (issue 10), each proved over the real server: `unknown`
// is final and a result needs an ack (finding 11), user-given type names are own-property look-ups
// (finding 10), the sweep works in bounded batches while requests keep being answered, a claim's
// dispatch mark cannot lose a later-queued action, a result wakes the machine only when work waits
// behind it, and the execute limit follows the action's own policy.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import { policyExecuteLimitSeconds, RebootPolicy } from "../../server/contract/index.ts";
import { SWEEP_BATCH } from "../../server/services/actionMoves.ts";
import type { QueueJob } from "../../server/services/queueing.ts";
import { enroll, failure, startTestServer, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";

const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
let server: TestServer;
let org: TestOrg;
let admin: TRPCClient;
let counter = 0;

async function newMachine() {
  counter += 1;
  const machineId = `f-${counter}`;
  const token = await enroll(server, org.agentKey, machineId);
  const ref = (await server.deps.db.machine.findFirstOrThrow({ where: { machineId }, select: { id: true } })).id;
  return { machineId, ref, agent: server.client(token) };
}

/** Queues, claims and acknowledges one action; returns its id and claim token. */
async function running(
  m: Awaited<ReturnType<typeof newMachine>>,
  spec: Parameters<typeof admin.actions.queue.mutate>[0],
) {
  const { id } = await admin.actions.queue.mutate(spec);
  const d = (await m.agent.agent.pendingActions.query()).actions.find((a) => a.id === id)!;
  await m.agent.agent.ack.mutate({ actionId: id, claimToken: d.claimToken });
  return { id, claimToken: d.claimToken };
}

const sweep = () => server.deps.services.dispatch.sweep();

beforeAll(async () => {
  server = await startTestServer({ clock, sweep: false, env: { DASHFLEET_EXECUTE_LIMIT_SECONDS: "3600" } });
  org = await server.createOrg();
  admin = server.client(org.adminKey);
});
afterAll(() => server.stop());

describe("finding 11: one rule for results", () => {
  it("refuses a result without an ack (delivered → done is not a move) with CONFLICT saying to ack first", async () => {
    const m = await newMachine();
    const { id } = await admin.actions.queue.mutate({
      machineId: m.machineId,
      type: "message",
      data: { message: "no ack" },
    });
    const d = (await m.agent.agent.pendingActions.query()).actions[0]!;
    const err = await failure(
      m.agent.agent.reportResult.mutate({ actionId: id, claimToken: d.claimToken, status: "done", result: "x" }),
    );
    expect(err.data?.code).toBe("CONFLICT");
    expect(err.message).toMatch(/ack it first/);
    expect((await admin.actions.get.query({ id })).status).toBe("delivered");
  });

  it("keeps `unknown` final: a late result is a late-result event on the timeline, recorded once", async () => {
    const m = await newMachine();
    const { id, claimToken } = await running(m, { machineId: m.machineId, type: "message", data: { message: "slow" } });
    clock.advance(3601);
    await sweep();
    expect((await admin.actions.get.query({ id })).status).toBe("unknown");
    const late = { actionId: id, claimToken, status: "done" as const, result: "shown after all" };
    expect(await m.agent.agent.reportResult.mutate(late)).toEqual({ status: "unknown", duplicate: false });
    expect(await m.agent.agent.reportResult.mutate(late)).toEqual({ status: "unknown", duplicate: true });
    const view = await admin.actions.get.query({ id });
    expect(view.status).toBe("unknown");
    expect(view.result).toBe("no result within 3600 s");
    expect(view.events.filter((e) => e.kind === "late-result")).toEqual([
      expect.objectContaining({ status: "unknown", detail: "late result (done): shown after all" }),
    ]);
  });
});

describe("finding 10: user-given names select only own properties", () => {
  it("answers REST action_type toString, __proto__, constructor, hasOwnProperty, valueOf with 400 naming action_type", async () => {
    const m = await newMachine();
    for (const name of ["toString", "__proto__", "constructor", "hasOwnProperty", "valueOf", "isPrototypeOf"]) {
      const res = await fetch(`${server.url}/api/actions/queue`, {
        method: "POST",
        headers: { authorization: `Bearer ${org.adminKey}`, "content-type": "application/json" },
        body: JSON.stringify({ machine_id: m.machineId, action_type: name, data: {} }),
      });
      const body = (await res.json()) as { error: string };
      expect([name, res.status]).toEqual([name, 400]);
      expect(body.error).toMatch(/^action_type: must be one of message, restart, reboot/);
    }
    expect(await server.deps.db.action.count({ where: { machine: { machineId: m.machineId } } })).toBe(0);
  });
  it("answers prototype names on every tRPC selector of actions with BAD_REQUEST (type, status, progress kind)", async () => {
    const m = await newMachine();
    const { id, claimToken } = await running(m, { machineId: m.machineId, type: "reboot", data: {} });
    for (const name of ["toString", "__proto__", "constructor", "hasOwnProperty"]) {
      const calls: (() => Promise<unknown>)[] = [
        () => admin.actions.queue.mutate({ machineId: m.machineId, type: name, data: {} } as never),
        () => admin.actions.list.query({ status: name } as never),
        () => admin.actions.list.query({ type: name } as never),
        () =>
          m.agent.agent.progress.mutate({
            actionId: id,
            claimToken,
            seq: 0,
            event: { kind: name, at: new Date().toISOString() },
          } as never),
        () => m.agent.agent.reportResult.mutate({ actionId: id, claimToken, status: name, result: "x" } as never),
      ];
      for (const call of calls) expect([name, (await failure(call())).data?.code]).toEqual([name, "BAD_REQUEST"]);
    }
  });
});

describe("execute limit from the action's own policy", () => {
  it("lets a reboot whose user may snooze for hours run past DASHFLEET_EXECUTE_LIMIT_SECONDS, then turns it unknown at its own deadline", async () => {
    const m = await newMachine();
    const data = { countdownSeconds: 300, snoozeOptions: [3600, 14400], maxSnoozes: 3, finalCountdownSeconds: 900 };
    const { id } = await running(m, { machineId: m.machineId, type: "reboot", data });
    const view = await admin.actions.get.query({ id });
    const limit = (Date.parse(view.executeDeadline!) - Date.parse(view.ackedAt!)) / 1000;
    expect(limit).toBe(policyExecuteLimitSeconds(RebootPolicy.parse(data)));
    expect(limit).toBeGreaterThan(3 * 14400); // every snooze at its longest fits
    clock.advance(3601);
    await sweep();
    expect((await admin.actions.get.query({ id })).status).toBe("executing");
    clock.advance(limit - 3600);
    await sweep();
    expect((await admin.actions.get.query({ id })).status).toBe("unknown");
  });

  it("uses a reboot's deadline (plus final stage and margin), and keeps the configured limit as the floor", async () => {
    const m = await newMachine();
    const rb = await running(m, {
      machineId: m.machineId,
      type: "reboot",
      data: { deadlineSeconds: 8 * 3600, finalCountdownSeconds: 600 },
    });
    const v = await admin.actions.get.query({ id: rb.id });
    expect((Date.parse(v.executeDeadline!) - Date.parse(v.ackedAt!)) / 1000).toBe(8 * 3600 + 600 + 15 * 60);
    await m.agent.agent.reportResult.mutate({
      actionId: rb.id,
      claimToken: rb.claimToken,
      status: "error",
      result: "cancelled by test",
    });
    const msg = await running(m, { machineId: m.machineId, type: "message", data: { message: "short" } });
    const mv = await admin.actions.get.query({ id: msg.id });
    expect((Date.parse(mv.executeDeadline!) - Date.parse(mv.ackedAt!)) / 1000).toBe(3600);
  });
});

describe("a result wakes the machine only when work waits behind it", () => {
  it("does not wake after a message's result; wakes once when a finished reboot unblocks a queued action", async () => {
    const m = await newMachine();
    const wakes = vi.spyOn(server.deps.services.dispatch, "workAvailable");
    try {
      const msg = await running(m, { machineId: m.machineId, type: "message", data: { message: "one" } });
      wakes.mockClear();
      await m.agent.agent.reportResult.mutate({
        actionId: msg.id,
        claimToken: msg.claimToken,
        status: "done",
        result: "ok",
      });
      expect(wakes.mock.calls.filter(([ref]) => ref === m.ref)).toHaveLength(0);

      const rb = await running(m, { machineId: m.machineId, type: "reboot", data: {} });
      const behind = await admin.actions.queue.mutate({
        machineId: m.machineId,
        type: "message",
        data: { message: "after the reboot" },
      });
      wakes.mockClear();
      await m.agent.agent.reportResult.mutate({
        actionId: rb.id,
        claimToken: rb.claimToken,
        status: "error",
        result: "reboot refused",
      });
      expect(wakes.mock.calls.filter(([ref]) => ref === m.ref)).toHaveLength(1);
      expect((await m.agent.agent.pendingActions.query()).actions.map((a) => a.id)).toEqual([behind.id]);
    } finally {
      wakes.mockRestore();
    }
  });
});

describe("dispatch mark", () => {
  it("keeps a machine marked when an action is queued between a claim's commit and the end of the claim", async () => {
    const m = await newMachine();
    const first = await admin.actions.queue.mutate({
      machineId: m.machineId,
      type: "message",
      data: { message: "first" },
    });
    const db = server.deps.db;
    const original = db.$transaction.bind(db) as (...args: unknown[]) => Promise<unknown>;
    let queuedMeanwhile: string | null = null;
    // Deterministic interleaving: right after the claim's transaction commits, and before the claim
    // returns, another admin queues an action for the same machine.
    const spy = vi.spyOn(db, "$transaction").mockImplementation(async (...args: unknown[]) => {
      const result = await original(...args);
      if (typeof args[0] === "function" && queuedMeanwhile === null) {
        queuedMeanwhile = "";
        queuedMeanwhile = (
          await admin.actions.queue.mutate({ machineId: m.machineId, type: "message", data: { message: "second" } })
        ).id;
      }
      return result;
    });
    let claimed: string[];
    try {
      claimed = (await m.agent.agent.pendingActions.query()).actions.map((a) => a.id);
    } finally {
      spy.mockRestore();
    }
    expect(claimed).toEqual([first.id]);
    expect(queuedMeanwhile).toBeTruthy();
    expect(server.deps.services.dispatch.mayHaveWork(m.ref)).toBe(true);
    expect((await m.agent.agent.pendingActions.query()).actions.map((a) => a.id)).toEqual([queuedMeanwhile]);
  });
});

describe("sweep of a backlog", () => {
  it("finishes thousands of expired and lease-expired actions in bounded batches while requests keep being answered", async () => {
    const own = await startTestServer({ clock: new ManualClock(Date.UTC(2026, 5, 1)), sweep: false });
    try {
      const o = await own.createOrg();
      await enroll(own, o.agentKey, "backlog-1");
      const { db, clock: c } = own.deps;
      const ref = (await db.machine.findFirstOrThrow({ where: { machineId: "backlog-1" }, select: { id: true } })).id;
      const now = c.now();
      const rows = async (n: number, from: number, expiresInMs: number): Promise<QueueJob["actions"]> =>
        (await own.deps.services.dispatch.takeSeqs(n)).map((seq, i) => ({
          id: `00000000-0000-4000-8000-${String(from + i).padStart(12, "0")}`,
          seq,
          orgId: o.orgId,
          machineRef: ref,
          type: "message",
          payload: JSON.stringify({ message: "x", title: "DashFleet", display: "notification" }),
          createdBy: "test",
          createdAt: now,
          expiresAt: new Date(now.getTime() + expiresInMs),
          bulkId: null,
        }));
      const audit = { orgId: o.orgId, actor: "test", action: "test", target: null, detail: null, at: now };
      await own.deps.services.queue.write({ actions: await rows(3000, 0, 60_000), events: [], audit });
      await own.deps.services.queue.write({ actions: await rows(1500, 10_000, 24 * 3600_000), events: [], audit });
      // 1,500 of them delivered with a lease that has run out.
      await db.$executeRawUnsafe(
        `UPDATE "Action" SET "status" = 'delivered', "deliveryCount" = 1, "claimToken" = 't', "leaseUntil" = ? WHERE "id" >= '00000000-0000-4000-8000-000000010000'`,
        new Date(now.getTime() + 30_000),
      );
      (c as ManualClock).advance(120);

      const transactions = vi.spyOn(db, "$transaction");
      let sweepEnded = false;
      const swept = own.deps.services.dispatch.sweep().then(() => (sweepEnded = true));
      // A request that needs the database, sent while the sweep runs: answered between two batches.
      const list = await own.client(o.adminKey).actions.list.query({ limit: 1 });
      const answeredDuringSweep = !sweepEnded;
      await swept;
      const batches = transactions.mock.calls.length;
      transactions.mockRestore();

      expect(list.items).toHaveLength(1);
      expect(answeredDuringSweep).toBe(true);
      expect(batches).toBeGreaterThanOrEqual(Math.ceil(4500 / SWEEP_BATCH));
      const counts = await db.action.groupBy({ by: ["status"], _count: { _all: true }, orderBy: { status: "asc" } });
      expect(counts.map((r) => [r.status, r._count._all])).toEqual([
        ["expired", 3000],
        ["pending", 1500],
      ]);
      expect(await db.actionEvent.count({ where: { detail: "lease expired; offered again" } })).toBe(1500);
    } finally {
      await own.stop();
    }
  });
});

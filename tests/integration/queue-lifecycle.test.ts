// The action lifecycle over HTTP with the real tRPC client: pending → delivered → executing → done,
// leases, redelivery, executing-never-again, cancel, expiry, ordering, bulk queue.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import {
  enroll,
  errorCode,
  failure,
  startTestServer,
  type TestOrg,
  type TestServer,
  type TRPCClient,
} from "../helpers/server.ts";

const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
let server: TestServer;
let org: TestOrg;
let admin: TRPCClient;
let counter = 0;

/** A freshly enrolled machine with its own client. */
async function newMachine() {
  counter += 1;
  const machineId = `m-${counter}`;
  const token = await enroll(server, org.agentKey, machineId);
  return { machineId, agent: server.client(token) };
}

const sweep = () => server.deps.services.dispatch.sweep();

beforeAll(async () => {
  server = await startTestServer({
    clock,
    sweep: false,
    env: { DASHFLEET_LEASE_SECONDS: "60", DASHFLEET_EXECUTE_LIMIT_SECONDS: "3600" },
  });
  org = await server.createOrg();
  admin = server.client(org.adminKey);
});
afterAll(() => server.stop());

describe("action lifecycle", () => {
  it("goes pending → delivered → executing → done and records every transition with its time", async () => {
    const { machineId, agent } = await newMachine();
    const { id } = await admin.actions.queue.mutate({
      machineId,
      type: "message",
      data: { message: "Hello", display: "dialog" },
    });
    expect((await admin.actions.get.query({ id })).status).toBe("pending");

    const { actions } = await agent.agent.pendingActions.query();
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({
      id,
      type: "message",
      data: { message: "Hello", title: "DashFleet", display: "dialog" },
    });
    expect((await admin.actions.get.query({ id })).status).toBe("delivered");

    clock.advance(1);
    expect(await agent.agent.ack.mutate({ actionId: id, claimToken: actions[0]!.claimToken })).toEqual({
      status: "executing",
    });
    clock.advance(2);
    const res = await agent.agent.reportResult.mutate({
      actionId: id,
      claimToken: actions[0]!.claimToken,
      status: "done",
      result: "shown; user pressed OK",
    });
    expect(res).toEqual({ status: "done", duplicate: false });

    const view = await admin.actions.get.query({ id });
    expect(view.status).toBe("done");
    expect(view.result).toBe("shown; user pressed OK");
    expect(view.events.map((e) => e.status)).toEqual(["pending", "delivered", "executing", "done"]);
    expect(Date.parse(view.events[3]!.at) - Date.parse(view.events[1]!.at)).toBe(3000);
    expect(view.createdBy).toBe("key:admin");
  });

  it("gives every action a distinct server id even when many are queued in the same millisecond", async () => {
    const { machineId } = await newMachine();
    const ids = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        admin.actions.queue.mutate({ machineId, type: "message", data: { message: `n${i}` } }),
      ),
    );
    expect(new Set(ids.map((r) => r.id)).size).toBe(30);
  });

  it("delivers oldest first, at most 10 per poll", async () => {
    const { machineId, agent } = await newMachine();
    for (let i = 0; i < 12; i++)
      await admin.actions.queue.mutate({ machineId, type: "message", data: { message: `msg ${i}` } });
    const first = await agent.agent.pendingActions.query();
    expect(first.actions.map((a) => (a.data as { message: string }).message)).toEqual(
      Array.from({ length: 10 }, (_, i) => `msg ${i}`),
    );
    const second = await agent.agent.pendingActions.query();
    expect(second.actions.map((a) => (a.data as { message: string }).message)).toEqual(["msg 10", "msg 11"]);
    expect((await agent.agent.pendingActions.query()).actions).toEqual([]);
  });

  it("delivers nothing behind an unresolved reboot, and resumes once the reboot is resolved", async () => {
    const { machineId, agent } = await newMachine();
    await admin.actions.queue.mutate({ machineId, type: "message", data: { message: "before" } });
    const reboot = await admin.actions.queue.mutate({
      machineId,
      type: "reboot",
      data: { countdownSeconds: 30, maxPostpones: 1 },
    });
    await admin.actions.queue.mutate({ machineId, type: "message", data: { message: "after" } });

    const got = await agent.agent.pendingActions.query();
    expect(got.actions.map((a) => a.type)).toEqual(["message", "reboot"]);
    const rb = got.actions[1]!;
    expect(rb.data).toEqual({ countdownSeconds: 30, maxPostpones: 1 });
    await agent.agent.ack.mutate({ actionId: rb.id, claimToken: rb.claimToken });
    expect((await agent.agent.pendingActions.query()).actions).toEqual([]);

    // The agent's "done" alone does not end a reboot: it waits for the machine to come back.
    const held = await agent.agent.reportResult.mutate({
      actionId: reboot.id,
      claimToken: rb.claimToken,
      status: "done",
      result: "rebooted after 1 postponement",
      outcome: { userChoice: "countdown-elapsed", postponements: 1 },
    });
    expect(held).toEqual({ status: "executing", duplicate: false });
    expect((await agent.agent.pendingActions.query()).actions).toEqual([]);
    clock.advance(30);
    const bootedAt = clock.now().toISOString();
    await agent.agent.progress.mutate({
      actionId: reboot.id,
      claimToken: rb.claimToken,
      seq: 0,
      event: { kind: "came-back", at: bootedAt, bootedAt },
    });
    expect((await admin.actions.get.query({ id: reboot.id })).status).toBe("done");
    const after = await agent.agent.pendingActions.query();
    expect(after.actions.map((a) => (a.data as { message: string }).message)).toEqual(["after"]);
    expect((await admin.actions.get.query({ id: reboot.id })).outcome).toEqual({
      userChoice: "countdown-elapsed",
      postponements: 1,
    });
  });

  it("returns a delivered action to pending when its lease runs out, and refuses the old claim token", async () => {
    const { machineId, agent } = await newMachine();
    const { id } = await admin.actions.queue.mutate({ machineId, type: "message", data: { message: "lease" } });
    const first = (await agent.agent.pendingActions.query()).actions[0]!;
    expect((await agent.agent.pendingActions.query()).actions).toEqual([]); // leased: not offered twice

    clock.advance(61);
    const second = (await agent.agent.pendingActions.query()).actions[0]!;
    expect(second.id).toBe(id);
    expect(second.claimToken).not.toBe(first.claimToken);
    expect(await errorCode(agent.agent.ack.mutate({ actionId: id, claimToken: first.claimToken }))).toBe("CONFLICT");
    await agent.agent.ack.mutate({ actionId: id, claimToken: second.claimToken });
    expect(
      await errorCode(
        agent.agent.reportResult.mutate({ actionId: id, claimToken: first.claimToken, status: "done", result: "x" }),
      ),
    ).toBe("CONFLICT");
    const view = await admin.actions.get.query({ id });
    expect(view.deliveryCount).toBe(2);
    expect(view.events.map((e) => e.status)).toEqual(["pending", "delivered", "pending", "delivered", "executing"]);
  });

  it("marks an action delivered 3 times without an ack as error (never acknowledged)", async () => {
    const { machineId, agent } = await newMachine();
    const { id } = await admin.actions.queue.mutate({ machineId, type: "restart", data: {} });
    for (let i = 0; i < 3; i++) {
      expect((await agent.agent.pendingActions.query()).actions.map((a) => a.id)).toEqual([id]);
      clock.advance(61);
    }
    expect((await agent.agent.pendingActions.query()).actions).toEqual([]);
    const view = await admin.actions.get.query({ id });
    expect(view.status).toBe("error");
    expect(view.result).toMatch(/never acknowledged/);
  });

  it("never delivers an executing action again, even when the agent dies and its lease would have run out", async () => {
    const { machineId, agent } = await newMachine();
    const { id } = await admin.actions.queue.mutate({ machineId, type: "reboot", data: {} });
    const d = (await agent.agent.pendingActions.query()).actions[0]!;
    await agent.agent.ack.mutate({ actionId: id, claimToken: d.claimToken });
    clock.advance(600);
    await sweep();
    expect((await agent.agent.pendingActions.query()).actions).toEqual([]);
    expect((await admin.actions.get.query({ id })).status).toBe("executing");

    // With no result within the execute limit it becomes unknown, and is still never offered again.
    clock.advance(3600);
    await sweep();
    expect((await admin.actions.get.query({ id })).status).toBe("unknown");
    expect((await agent.agent.pendingActions.query()).actions).toEqual([]);
    // `unknown` is final: a late result goes on the timeline, the status stays.
    const late = await agent.agent.reportResult.mutate({
      actionId: id,
      claimToken: d.claimToken,
      status: "error",
      result: "reboot failed",
      outcome: { userChoice: "accepted" },
    });
    expect(late).toEqual({ status: "unknown", duplicate: false });
    const view = await admin.actions.get.query({ id });
    expect(view.status).toBe("unknown");
    expect(view.events.at(-1)).toMatchObject({ status: "unknown", kind: "late-result" });
  });

  it("treats a duplicate result as a no-op and a second ack of the same delivery as harmless", async () => {
    const { machineId, agent } = await newMachine();
    const { id } = await admin.actions.queue.mutate({ machineId, type: "message", data: { message: "dup" } });
    const d = (await agent.agent.pendingActions.query()).actions[0]!;
    await agent.agent.ack.mutate({ actionId: id, claimToken: d.claimToken });
    expect(await agent.agent.ack.mutate({ actionId: id, claimToken: d.claimToken })).toEqual({ status: "executing" });
    await agent.agent.reportResult.mutate({ actionId: id, claimToken: d.claimToken, status: "done", result: "first" });
    const again = await agent.agent.reportResult.mutate({
      actionId: id,
      claimToken: d.claimToken,
      status: "error",
      result: "second",
    });
    expect(again).toEqual({ status: "done", duplicate: true });
    const view = await admin.actions.get.query({ id });
    expect(view.result).toBe("first");
    expect(view.events.filter((e) => e.status === "done" || e.status === "error")).toHaveLength(1);
  });

  it("lets an admin cancel a pending or delivered action; the agent is then told not to run it", async () => {
    const { machineId, agent } = await newMachine();
    const a = await admin.actions.queue.mutate({ machineId, type: "message", data: { message: "cancel me" } });
    expect(await admin.actions.cancel.mutate({ id: a.id })).toEqual({ id: a.id, status: "cancelled" });
    expect((await agent.agent.pendingActions.query()).actions).toEqual([]);

    const b = await admin.actions.queue.mutate({ machineId, type: "reboot", data: {} });
    const d = (await agent.agent.pendingActions.query()).actions[0]!;
    await admin.actions.cancel.mutate({ id: b.id });
    const err = await failure(agent.agent.ack.mutate({ actionId: b.id, claimToken: d.claimToken }));
    expect(err.data?.code).toBe("CONFLICT");
    expect(err.message).toMatch(/cancelled.*do not run/);

    // Executing or finished actions cannot be cancelled.
    const c = await admin.actions.queue.mutate({ machineId, type: "message", data: { message: "running" } });
    const dc = (await agent.agent.pendingActions.query()).actions[0]!;
    await agent.agent.ack.mutate({ actionId: c.id, claimToken: dc.claimToken });
    expect(await errorCode(admin.actions.cancel.mutate({ id: c.id }))).toBe("CONFLICT");
  });

  it("expires pending actions past their expiry (default 24 h, or set per action)", async () => {
    const { machineId, agent } = await newMachine();
    const short = await admin.actions.queue.mutate({
      machineId,
      type: "message",
      data: { message: "short" },
      expiresInSeconds: 120,
    });
    const long = await admin.actions.queue.mutate({ machineId, type: "message", data: { message: "default" } });
    const view = await admin.actions.get.query({ id: long.id });
    expect(Date.parse(view.expiresAt) - Date.parse(view.createdAt)).toBe(24 * 3600 * 1000);
    clock.advance(121);
    await sweep();
    expect((await admin.actions.get.query({ id: short.id })).status).toBe("expired");
    expect((await agent.agent.pendingActions.query()).actions.map((a) => a.id)).toEqual([long.id]);
  });

  it("queues one action for many machines with queueBulk, audited", async () => {
    const machines = await Promise.all([newMachine(), newMachine(), newMachine()]);
    const { ids } = await admin.actions.queueBulk.mutate({
      machineIds: machines.map((m) => m.machineId),
      type: "message",
      data: { message: "all" },
    });
    expect(ids).toHaveLength(3);
    for (const [i, m] of machines.entries()) {
      const got = (await m.agent.agent.pendingActions.query()).actions;
      expect(got.map((a) => a.id)).toEqual([ids[i]]);
    }
    const audit = await server.deps.db.auditLog.findMany({ where: { orgId: org.orgId, action: "actions.queueBulk" } });
    expect(audit).toHaveLength(1);
    // One unknown machine refuses the whole bulk: nothing is queued.
    const before = await server.deps.db.action.count();
    expect(
      await errorCode(
        admin.actions.queueBulk.mutate({ machineIds: [machines[0].machineId, "nope"], type: "restart", data: {} }),
      ),
    ).toBe("NOT_FOUND");
    expect(await server.deps.db.action.count()).toBe(before);
  });

  it("lists actions newest first with filters and cursor paging", async () => {
    const { machineId } = await newMachine();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await admin.actions.queue.mutate({ machineId, type: "message", data: { message: `p${i}` } })).id);
    const page1 = await admin.actions.list.query({ machineId, limit: 2 });
    expect(page1.items.map((a) => a.id)).toEqual([ids[4], ids[3]]);
    const page2 = await admin.actions.list.query({ machineId, limit: 2, cursor: page1.nextCursor });
    expect(page2.items.map((a) => a.id)).toEqual([ids[2], ids[1]]);
    const page3 = await admin.actions.list.query({ machineId, limit: 2, cursor: page2.nextCursor });
    expect(page3.items.map((a) => a.id)).toEqual([ids[0]]);
    expect(page3.nextCursor).toBeNull();
    await admin.actions.cancel.mutate({ id: ids[0]! });
    const cancelled = await admin.actions.list.query({ machineId, status: "cancelled" });
    expect(cancelled.items.map((a) => a.id)).toEqual([ids[0]]);
  });

  it("writes the audit row in the same transaction as the queued action", async () => {
    const { machineId } = await newMachine();
    const { id } = await admin.actions.queue.mutate({ machineId, type: "restart", data: {} });
    const row = await server.deps.db.auditLog.findFirst({ where: { target: id } });
    expect(row).toMatchObject({ orgId: org.orgId, actor: "key:admin", action: "actions.queue" });
  });
});

describe("empty polls", () => {
  it("cost no database query, while a queued action is still picked up at once", async () => {
    const { machineId, agent } = await newMachine();
    const db = server.deps.db;
    const spies = [
      vi.spyOn(db, "$transaction"),
      vi.spyOn(db.action, "findMany"),
      vi.spyOn(db.action, "findFirst"),
      vi.spyOn(db.action, "count"),
    ];
    try {
      for (let i = 0; i < 20; i++) expect((await agent.agent.pendingActions.query()).actions).toEqual([]);
      expect(spies.map((s) => s.mock.calls.length)).toEqual([0, 0, 0, 0]);
      const { id } = await admin.actions.queue.mutate({ machineId, type: "message", data: { message: "now" } });
      expect((await agent.agent.pendingActions.query()).actions.map((a) => a.id)).toEqual([id]);
    } finally {
      for (const s of spies) s.mockRestore();
    }
  });

  it("rebuilds the index from the database at start, so nothing queued before a restart is missed", async () => {
    const { machineId } = await newMachine();
    const { id } = await admin.actions.queue.mutate({ machineId, type: "message", data: { message: "survives" } });
    const ref = (await server.deps.db.machine.findFirstOrThrow({ where: { machineId }, select: { id: true } })).id;
    const { ActionDispatch } = await import("../../server/services/dispatch.ts");
    const fresh = new ActionDispatch(server.deps.db, clock);
    expect(fresh.mayHaveWork(ref)).toBe(false);
    await fresh.load();
    expect(fresh.mayHaveWork(ref)).toBe(true);
    expect(id).toBeTruthy();
  });
});

describe("claims under concurrency", () => {
  it("hands an action to exactly one of 50 concurrent claims, with no SQLITE_BUSY", async () => {
    const { machineId, agent } = await newMachine();
    const { id } = await admin.actions.queue.mutate({ machineId, type: "reboot", data: {} });
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => agent.agent.pendingActions.query()));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    const winners = results.flatMap((r) => (r.status === "fulfilled" ? r.value.actions : []));
    expect(winners.map((a) => a.id)).toEqual([id]);
    expect((await admin.actions.get.query({ id })).deliveryCount).toBe(1);
  });
});

describe("input errors", () => {
  it("answers unknown types and bad payloads with BAD_REQUEST naming the field", async () => {
    const { machineId } = await newMachine();
    const bad = [
      { machineId, type: "shutdown", data: {} },
      { machineId, type: "message", data: { message: "" } },
      { machineId, type: "message", data: { message: "x".repeat(5000) } },
      { machineId, type: "message", data: { message: "hi", display: "banner" } },
      { machineId, type: "reboot", data: { countdownSeconds: 1 } },
      { machineId, type: "reboot", data: { maxPostpones: -1 } },
      { machineId, type: "restart", data: { force: true } },
      { machineId: "has space", type: "restart", data: {} },
    ];
    for (const input of bad) {
      // @ts-expect-error deliberately invalid input
      const err = await failure(admin.actions.queue.mutate(input));
      expect(err.data?.code, JSON.stringify(input)).toBe("BAD_REQUEST");
      expect(err.message).toMatch(/^(type|data|machineId)/);
    }
    const err = await failure(admin.actions.queue.mutate({ machineId, type: "message", data: { message: "" } }));
    expect(err.message).toBe("data.message: message is required");
    expect(await errorCode(admin.actions.queue.mutate({ machineId: "ghost", type: "restart", data: {} }))).toBe(
      "NOT_FOUND",
    );
  });

  it("limits queueing per key (TOO_MANY_REQUESTS with a retry hint), then recovers", async () => {
    const limited = await startTestServer({
      clock: new ManualClock(),
      sweep: false,
      env: { DASHFLEET_QUEUE_PER_MINUTE: "5" },
    });
    try {
      const o = await limited.createOrg();
      await enroll(limited, o.agentKey, "rl-1");
      const c = limited.client(o.adminKey);
      for (let i = 0; i < 5; i++) await c.actions.queue.mutate({ machineId: "rl-1", type: "restart", data: {} });
      const err = await failure(c.actions.queue.mutate({ machineId: "rl-1", type: "restart", data: {} }));
      expect(err.data?.code).toBe("TOO_MANY_REQUESTS");
      expect((err.data as { retryAfterSeconds?: number }).retryAfterSeconds).toBeGreaterThan(0);
      (limited.deps.clock as ManualClock).advance(61);
      await c.actions.queue.mutate({ machineId: "rl-1", type: "restart", data: {} });
    } finally {
      await limited.stop();
    }
  });
});

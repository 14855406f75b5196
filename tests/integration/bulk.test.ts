// bulk.*: one action to thousands of machines, by ids or by fleet filter, with exact counts by status,
// paged actions, cancel of everything still cancellable, and the queue budget counted in actions
// (finding 8): an API key spends one per machine; an owner's or admin's explicit bulk may go beyond.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BulkTargetView } from "../../server/contract/index.ts";
import { seedMachines, variedFleet, type SeedMachine } from "../helpers/fleet-seed.ts";
import { enroll, errorCode, failure, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";
import { startWithRoles } from "../helpers/session.ts";

let server: TestServer;
let org: TestOrg;
let other: TestOrg;
let owner: TRPCClient;
let admin: TRPCClient;
let viewer: TRPCClient;
let fleet: SeedMachine[];
const N = 3000;
const BUDGET = 100;

beforeAll(async () => {
  ({ server, org, other, owner, admin, viewer } = await startWithRoles("Bulk Org", "bulk.test", {
    env: { DASHFLEET_QUEUE_PER_MINUTE: String(BUDGET), DASHFLEET_AGENT_PER_MINUTE: "100000" },
  }));
  fleet = await seedMachines(server, org.orgId, variedFleet(N));
  // A server, four accounts and the seeded fleet: over 60 s on a loaded two-core machine (timed out here).
}, 180_000);
afterAll(() => server?.stop());

const message = { type: "message" as const, data: { message: "Patch tonight" } };

describe("bulk.create", () => {
  it("by filter: one job to every matching machine, exact counts by status, paged actions, listed", async () => {
    const web = fleet.filter((m) => m.labels.includes("web") && m.online);
    const { bulkId, count } = await admin.bulk.create.mutate({
      target: { filter: { labels: ["web"], online: true } },
      ...message,
    });
    expect(count).toBe(web.length);
    expect(count).toBe(750);

    const got = await viewer.bulk.get.query({ bulkId, limit: 100 });
    expect(got.counts).toEqual({
      pending: count,
      delivered: 0,
      executing: 0,
      done: 0,
      error: 0,
      cancelled: 0,
      expired: 0,
      unknown: 0,
    });
    expect(got.job).toMatchObject({
      id: bulkId,
      type: "message",
      count,
      createdBy: "user:admin@bulk.test",
      cancelledAt: null,
    });
    expect(got.job.target).toMatch(/online.*label web/);
    // The same target as data, for the console to word in its language (the filter as sent).
    expect(got.job.targetSpec).toEqual({ kind: "filter", filter: { labels: ["web"], online: true } });
    expect(got.job.data).toMatchObject({ message: "Patch tonight" });
    // Every action of the job, exactly once, across pages.
    const seen = new Set<string>();
    let cursor: string | null = got.actions.nextCursor;
    for (const a of got.actions.items) seen.add(a.machineId);
    expect(got.actions.items.every((a) => a.bulkId === bulkId && a.status === "pending")).toBe(true);
    while (cursor) {
      const page = await viewer.bulk.get.query({ bulkId, limit: 100, cursor });
      for (const a of page.actions.items) seen.add(a.machineId);
      cursor = page.actions.nextCursor;
    }
    expect([...seen].sort()).toEqual(web.map((m) => m.machineId).sort());

    const list = await viewer.bulk.list.query({ limit: 5 });
    expect(list.items[0]).toMatchObject({ id: bulkId, count, counts: { pending: count } });
    expect(BulkTargetView.parse(list.items[0]!.targetSpec)).toEqual(got.job.targetSpec);
  }, 60_000);

  it("a job by ids carries its target as a count, with the machine's id when there is one", async () => {
    const one = await owner.bulk.create.mutate({ target: { machineIds: [fleet[7]!.machineId] }, ...message });
    const three = await owner.bulk.create.mutate({
      target: { machineIds: fleet.slice(8, 11).map((m) => m.machineId) },
      ...message,
    });
    expect((await admin.bulk.get.query({ bulkId: one.bulkId, limit: 1 })).job.targetSpec).toEqual({
      kind: "machines",
      count: 1,
      machineId: fleet[7]!.machineId,
    });
    const listed = (await admin.bulk.list.query({ limit: 2 })).items;
    expect(listed.map((j) => [j.id, j.targetSpec])).toEqual([
      [three.bulkId, { kind: "machines", count: 3, machineId: null }],
      [one.bulkId, { kind: "machines", count: 1, machineId: fleet[7]!.machineId }],
    ]);
  });

  it("by ids, far beyond 500: exact count; one unknown id creates nothing", async () => {
    const ids = fleet.slice(0, 2500).map((m) => m.machineId);
    const { bulkId, count } = await owner.bulk.create.mutate({
      target: { machineIds: [...ids, ids[0]!] },
      type: "restart",
      data: {},
    });
    expect(count).toBe(2500);
    expect((await admin.bulk.get.query({ bulkId, limit: 1 })).counts.pending).toBe(2500);

    const before = (await admin.bulk.list.query({ limit: 100 })).items.length;
    const err = await failure(admin.bulk.create.mutate({ target: { machineIds: ["m-00001", "ghost-1"] }, ...message }));
    expect(err.data?.code).toBe("NOT_FOUND");
    expect(err.message).toContain('"ghost-1"');
    expect((await admin.bulk.list.query({ limit: 100 })).items.length).toBe(before);
  }, 60_000);

  it("a filter that matches nothing, bad input, viewers and other orgs are refused", async () => {
    const err = await failure(
      admin.bulk.create.mutate({ target: { filter: { search: "no-such-machine" } }, ...message }),
    );
    expect(err.data?.code).toBe("BAD_REQUEST");
    expect(err.message).toMatch(/^target:/);
    expect((await failure(admin.bulk.create.mutate({ target: { machineIds: [] }, ...message }))).message).toMatch(
      /^target/,
    );
    expect(await errorCode(viewer.bulk.create.mutate({ target: { machineIds: ["m-00001"] }, ...message }))).toBe(
      "FORBIDDEN",
    );
    const mine = (await admin.bulk.list.query()).items[0]!;
    expect(await errorCode(server.client(other.adminKey).bulk.get.query({ bulkId: mine.id }))).toBe("NOT_FOUND");
    expect(await errorCode(server.client(other.adminKey).bulk.cancel.mutate({ bulkId: mine.id }))).toBe("NOT_FOUND");
    expect((await server.client(other.adminKey).bulk.list.query()).items).toEqual([]);
  });
});

describe("bulk.cancel", () => {
  it("cancels every action still pending or delivered; an executing one runs on; audited", async () => {
    const token = await enroll(server, org.agentKey, "real-1", "real-host");
    const ids = ["real-1", ...fleet.slice(100, 110).map((m) => m.machineId)];
    const { bulkId } = await admin.bulk.create.mutate({ target: { machineIds: ids }, type: "reboot", data: {} });
    const agent = server.client(token);
    const { actions } = await agent.agent.pendingActions.query();
    expect(actions).toHaveLength(1);
    await agent.agent.ack.mutate({ actionId: actions[0]!.id, claimToken: actions[0]!.claimToken });

    expect(await admin.bulk.cancel.mutate({ bulkId })).toEqual({ cancelled: 10 });
    const got = await admin.bulk.get.query({ bulkId });
    expect(got.counts).toMatchObject({ cancelled: 10, executing: 1, pending: 0 });
    expect(got.job.cancelledAt).not.toBeNull();
    expect((await admin.bulk.get.query({ bulkId, status: "executing" })).actions.items.map((a) => a.machineId)).toEqual(
      ["real-1"],
    );
    // A cancelled action's timeline says who cancelled it.
    const cancelled = (await admin.bulk.get.query({ bulkId, status: "cancelled", limit: 1 })).actions.items[0]!;
    const timeline = await admin.actions.get.query({ id: cancelled.id });
    expect(timeline.events.map((e) => e.status)).toEqual(["pending", "cancelled"]);
    // Nothing left to cancel.
    expect(await admin.bulk.cancel.mutate({ bulkId })).toEqual({ cancelled: 0 });
    const audit = await owner.orgs.audit.query({ action: "bulk.cancel", limit: 2 });
    expect(audit.items.map((a) => a.detail)).toEqual([{ cancelled: 0 }, { cancelled: 10 }]);
  });
});

describe("the queue budget counts actions", () => {
  it("an API key spends one per machine: a bulk beyond the budget is refused whole, naming it and the retry time", async () => {
    const { key } = await owner.keys.create.mutate({ name: "ci-budget", scopes: ["admin"] });
    const ci = server.client(key);
    const targets = fleet.slice(200, 400).map((m) => m.machineId);
    const err = await failure(
      ci.bulk.create.mutate({ target: { machineIds: targets.slice(0, BUDGET + 50) }, ...message }),
    );
    expect(err.data?.code).toBe("TOO_MANY_REQUESTS");
    expect(err.message).toMatch(/budget is 100 queued actions per minute.*needs 150.*Retry in \d+ s/);
    expect((err.data as { retryAfterSeconds?: number }).retryAfterSeconds).toBeGreaterThan(0);
    expect((await ci.bulk.list.query()).items.some((j) => j.createdBy === "key:ci-budget")).toBe(false);

    // 60 + 40 fit the budget exactly; one more action does not, whichever procedure asks.
    expect((await ci.bulk.create.mutate({ target: { machineIds: targets.slice(0, 60) }, ...message })).count).toBe(60);
    const bulkQueued = await ci.actions.queueBulk.mutate({ machineIds: targets.slice(60, 100), ...message });
    expect(bulkQueued.ids).toHaveLength(40);
    expect(await errorCode(ci.actions.queue.mutate({ machineId: targets[0]!, ...message }))).toBe("TOO_MANY_REQUESTS");
    expect(await errorCode(ci.actions.queueBulk.mutate({ machineIds: targets.slice(0, 2), ...message }))).toBe(
      "TOO_MANY_REQUESTS",
    );
  });

  it("queueBulk spends per action too (20 calls of 500 are 10,000 actions, not 20 calls)", async () => {
    const { key } = await owner.keys.create.mutate({ name: "ci-queuebulk", scopes: ["admin"] });
    const ci = server.client(key);
    const err = await failure(
      ci.actions.queueBulk.mutate({ machineIds: fleet.slice(0, 101).map((m) => m.machineId), ...message }),
    );
    expect(err.data?.code).toBe("TOO_MANY_REQUESTS");
    expect(
      (await ci.actions.queueBulk.mutate({ machineIds: fleet.slice(0, 100).map((m) => m.machineId), ...message })).ids,
    ).toHaveLength(100);
  });

  it("an owner's explicit fleet-wide bulk goes beyond the budget, as one decision, and is audited as such", async () => {
    const { count, bulkId } = await owner.bulk.create.mutate({ target: { filter: {} }, ...message });
    expect(count).toBe(N + 1); // every seeded machine and the real one
    const audit = await owner.orgs.audit.query({ action: "bulk.create", actor: `user:${org.ownerEmail}`, limit: 1 });
    expect(audit.items[0]).toMatchObject({
      target: bulkId,
      detail: { count, target: "all machines", targetSpec: { kind: "filter", filter: {} }, beyondQueueBudget: BUDGET },
    });
  }, 60_000);
});

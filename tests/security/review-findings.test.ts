// Findings of the reviewer's hostile pass against a running server (tRPC over HTTP, a real server on a
// temporary database): each case answered a 500 or an unhelpful error before its fix.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enroll, failure, PASSWORD, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";
import { signIn } from "../helpers/session.ts";

let server: TestServer;
let org: TestOrg;

beforeAll(async () => {
  server = await startTestServer();
  org = await server.createOrg("Review Org");
  for (const id of ["rv-1", "rv-2", "rv-3"]) await enroll(server, org.agentKey, id);
});
afterAll(() => server.stop());

const cursorOf = (c: unknown) => Buffer.from(JSON.stringify(c)).toString("base64url");

describe("fleet.list cursors made by hand", () => {
  it("a lastSeen cursor whose date has a six-digit year is BAD_REQUEST naming the cursor, not a 500", async () => {
    const admin = server.client(org.adminKey);
    // Valid for JavaScript's Date (year 275760), not bindable by the driver: this was a 500.
    for (const k of ["+275760-09-13T00:00:00.000Z", "-000001-01-01T00:00:00.000Z"]) {
      const err = await failure(
        admin.fleet.list.query({
          sort: "lastSeen",
          limit: 1,
          cursor: cursorOf({ s: "lastSeen", d: "desc", k, i: "x" }),
        }),
      );
      expect(err.data?.code).toBe("BAD_REQUEST");
      expect(err.message).toMatch(/^cursor:/);
    }
    // A cursor the server wrote still pages.
    const first = await admin.fleet.list.query({ sort: "lastSeen", limit: 1 });
    const next = await admin.fleet.list.query({ sort: "lastSeen", limit: 1, cursor: first.nextCursor });
    expect(next.machines).toHaveLength(1);
    expect(next.machines[0]!.machineId).not.toBe(first.machines[0]!.machineId);
  });
});

describe("bulk.create target", () => {
  it("neither or both of machineIds and filter: BAD_REQUEST saying what is expected", async () => {
    const admin = server.client(org.adminKey);
    const send = (target: unknown) =>
      admin.bulk.create.mutate({
        target: target as { machineIds: string[] },
        type: "message",
        data: { message: "hi" },
      });
    for (const target of [{}, { machineIds: ["rv-1"], filter: {} }]) {
      const err = await failure(send(target));
      expect(err.data?.code).toBe("BAD_REQUEST");
      expect(err.message).toBe("target: give either machineIds (a list) or filter, not both");
    }
    // The specific messages of one branch are kept.
    expect((await failure(send({ machineIds: [] }))).message).toBe("target.machineIds: pick at least one machine");
    expect((await send({ machineIds: ["rv-1", "rv-2"] })).count).toBe(2);
  });
});

describe("message text", () => {
  it("refuses bidi overrides (tRPC queue, bulk and REST), keeps newlines and right-to-left text", async () => {
    const admin = server.client(org.adminKey);
    const spoof = "Pay at evil.example/\u202Emoc.knab";
    for (const call of [
      admin.actions.queue.mutate({ machineId: "rv-1", type: "message", data: { message: spoof } }),
      admin.bulk.create.mutate({ target: { machineIds: ["rv-1"] }, type: "message", data: { message: spoof } }),
    ]) {
      const err = await failure(call);
      expect(err.data?.code).toBe("BAD_REQUEST");
      expect(err.message).toMatch(/^data\.message: must not contain bidirectional override characters/);
    }
    const rest = await fetch(`${server.url}/api/actions/queue`, {
      method: "POST",
      headers: { authorization: `Bearer ${org.adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ machine_id: "rv-1", action_type: "message", data: { message: spoof } }),
    });
    expect(rest.status).toBe(400);
    expect(await rest.text()).toMatch(/bidirectional/);
    const ok = await admin.actions.queue.mutate({
      machineId: "rv-1",
      type: "message",
      data: { message: "Line one\nשלום and مرحبا\tstill fine" },
    });
    expect((await admin.actions.get.query({ id: ok.id })).data).toMatchObject({
      message: "Line one\nשלום and مرحبا\tstill fine",
    });
  });
});

describe("orgs.audit for a viewer", () => {
  it("is FORBIDDEN with a message about reading the audit log, not about changing things", async () => {
    await server.addUser(org.orgId, "viewer-review@example.test", "viewer");
    const viewer = await signIn(server, "viewer-review@example.test", PASSWORD);
    const err = await failure(viewer.client.orgs.audit.query({}));
    expect(err.data?.code).toBe("FORBIDDEN");
    expect(err.message).toBe("The audit log is for owners and admins, not viewers");
    // Owners still read it.
    const owner = await signIn(server, org.ownerEmail, org.password);
    expect((await owner.client.orgs.audit.query({ limit: 1 })).items.length).toBe(1);
  });
});

describe("REST queue errors name the field", () => {
  it("an unknown key at the top of data is 'data: …', not 'data.(root): …'", async () => {
    const res = await fetch(`${server.url}/api/actions/queue`, {
      method: "POST",
      headers: { authorization: `Bearer ${org.adminKey}`, "content-type": "application/json" },
      body: '{"machine_id":"rv-1","action_type":"message","data":{"message":"x","__proto__":{"display":"dialog"}}}',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('data: Unrecognized key: "__proto__"');
  });
});

describe("queueing to a retired machine", () => {
  it("is NOT_FOUND over tRPC and REST, also when the machine was queued to before (cached)", async () => {
    const admin = server.client(org.adminKey);
    await enroll(server, org.agentKey, "rv-retire");
    // Queued once while live: its id is now in the queue's directory.
    await admin.actions.queue.mutate({ machineId: "rv-retire", type: "restart", data: {} });
    const retired = await admin.machines.retire.mutate({ machineId: "rv-retire" });
    expect(retired.cancelled).toBe(1);

    const err = await failure(admin.actions.queue.mutate({ machineId: "rv-retire", type: "restart", data: {} }));
    expect(err.data?.code).toBe("NOT_FOUND");
    expect(err.message).toBe('No machine "rv-retire" in this organization (or retired)');
    expect(
      await failure(admin.actions.queueBulk.mutate({ machineIds: ["rv-1", "rv-retire"], type: "restart", data: {} })),
    ).toHaveProperty("data.code", "NOT_FOUND");
    const rest = await fetch(`${server.url}/api/actions/queue`, {
      method: "POST",
      headers: { authorization: `Bearer ${org.adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ machine_id: "rv-retire", action_type: "restart", data: {} }),
    });
    expect(rest.status).toBe(404);
    // Nothing waits for it.
    const waiting = await admin.actions.list.query({ machineId: "rv-retire", status: ["pending", "delivered"] });
    expect(waiting.items).toEqual([]);

    // Re-enrolled with an admin's approval, it takes actions again.
    await admin.machines.approveReenroll.mutate({ machineId: "rv-retire" });
    await enroll(server, org.agentKey, "rv-retire");
    expect((await admin.actions.queue.mutate({ machineId: "rv-retire", type: "restart", data: {} })).id).toMatch(
      /^[0-9a-f-]{36}$/,
    );
  });
});

describe("actions.list filters", () => {
  it("a wrong status is BAD_REQUEST listing the statuses (not zod's 'Invalid input')", async () => {
    const admin = server.client(org.adminKey);
    const status = await failure(admin.actions.list.query({ status: ["__proto__"] as unknown as ["done"] }));
    expect(status.data?.code).toBe("BAD_REQUEST");
    expect(status.message).toMatch(/^status: must be a status or a list of them: pending, delivered/);
    const { bulkId } = await admin.bulk.create.mutate({
      target: { machineIds: ["rv-2"] },
      type: "message",
      data: { message: "filter me" },
    });
    const page = await admin.actions.list.query({ bulkId, status: "pending" });
    expect(page.items.map((a) => a.machineId)).toEqual(["rv-2"]);
  });
});

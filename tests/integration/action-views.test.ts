// actions.list and actions.get over HTTP with the real tRPC client: every filter of the agreed API
// (machineId, status, type, createdBy, bulkId, from/to), keyset paging that visits every action exactly
// once, the machine's name, and a timeline whose events carry their kind.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import {
  enroll,
  errorCode,
  PASSWORD,
  startTestServer,
  type TestOrg,
  type TestServer,
  type TRPCClient,
} from "../helpers/server.ts";
import { signIn } from "../helpers/session.ts";

const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
let server: TestServer;
let org: TestOrg;
let admin: TRPCClient;

beforeAll(async () => {
  server = await startTestServer({ clock, sweep: false });
  org = await server.createOrg();
  admin = server.client(org.adminKey);
  await enroll(server, org.agentKey, "views-a", "host-a");
  await enroll(server, org.agentKey, "views-b", "host-b");
  await server.deps.db.machine.updateMany({ where: { machineId: "views-b" }, data: { displayName: "Reception PC" } });
});
afterAll(() => server.stop());

describe("actions.list", () => {
  it("pages through every action exactly once, newest first, while new actions keep arriving", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++)
      ids.push(
        (await admin.actions.queue.mutate({ machineId: "views-a", type: "message", data: { message: `p${i}` } })).id,
      );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = await admin.actions.list.query({
        machineId: "views-a",
        limit: 3,
        cursor,
      });
      seen.push(...page.items.map((a) => a.id));
      cursor = page.nextCursor;
      // A newer action queued mid-way is not on a later page (it is newer than every cursor).
      await admin.actions.queue.mutate({ machineId: "views-a", type: "restart", data: {} });
    } while (cursor);
    expect(seen.filter((id) => ids.includes(id))).toEqual([...ids].reverse());
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("filters by machine, status, type, sender, bulk job and time range, and names the machine", async () => {
    const owner = (await signIn(server, org.ownerEmail, PASSWORD)).cookie;
    const byUser = server.cookieClient(owner);
    clock.advance(3600);
    const t0 = clock.now().toISOString();
    const reboot = await byUser.actions.queue.mutate({ machineId: "views-b", type: "reboot", data: {} });
    clock.advance(60);
    const t1 = clock.now().toISOString();
    const msg = await admin.actions.queue.mutate({ machineId: "views-b", type: "message", data: { message: "later" } });
    await admin.actions.cancel.mutate({ id: msg.id });
    const bulkId = "bulk-views-1";
    await server.deps.db.bulkJob.create({
      data: {
        id: bulkId,
        orgId: org.orgId,
        type: "reboot",
        payload: "{}",
        target: "{}",
        count: 1,
        createdBy: "test",
        createdAt: clock.now(),
      },
    });
    await server.deps.db.action.update({ where: { id: reboot.id }, data: { bulkId } });

    const ids = async (q: Parameters<typeof admin.actions.list.query>[0]) =>
      (await admin.actions.list.query(q)).items.map((a) => a.id);
    expect(await ids({ machineId: "views-b" })).toEqual([msg.id, reboot.id]);
    expect(await ids({ machineId: "views-b", status: "cancelled" })).toEqual([msg.id]);
    expect(await ids({ machineId: "views-b", status: ["pending", "cancelled"] })).toEqual([msg.id, reboot.id]);
    expect(await ids({ machineId: "views-b", type: "reboot" })).toEqual([reboot.id]);
    expect(await ids({ createdBy: `user:${org.ownerEmail}` })).toEqual([reboot.id]);
    expect(await ids({ bulkId })).toEqual([reboot.id]);
    expect(await ids({ from: t0, to: t1 })).toEqual([reboot.id]);
    expect(await ids({ from: t1 })).toEqual([msg.id]);

    const [view] = (await admin.actions.list.query({ bulkId })).items;
    expect(view).toMatchObject({
      machineId: "views-b",
      hostname: "host-b",
      name: "Reception PC",
      bulkId,
      progress: null,
    });
    const [plain] = (await admin.actions.list.query({ machineId: "views-a", limit: 1 })).items;
    expect(plain).toMatchObject({ name: "host-a", bulkId: null });
  });

  it("answers a bad cursor or time with BAD_REQUEST naming the field", async () => {
    const bad = await errorCode(admin.actions.list.query({ cursor: "garbage" }));
    expect(bad).toBe("BAD_REQUEST");
    expect(await errorCode(admin.actions.list.query({ from: "yesterday" }))).toBe("BAD_REQUEST");
    // Past the sequence column's range (PostgreSQL's integer): refused, not a 500 from the database.
    expect(await errorCode(admin.actions.list.query({ cursor: "s999999999999" }))).toBe("BAD_REQUEST");
  });
});

describe("actions.get", () => {
  it("returns the timeline, each event with its kind (null for a status change)", async () => {
    const { id } = await admin.actions.queue.mutate({
      machineId: "views-a",
      type: "message",
      data: { message: "timeline" },
    });
    await admin.actions.cancel.mutate({ id });
    const view = await admin.actions.get.query({ id });
    expect(view.events.map((e) => [e.status, e.kind])).toEqual([
      ["pending", null],
      ["cancelled", null],
    ]);
    expect(view.name).toBe("host-a");
  });
});

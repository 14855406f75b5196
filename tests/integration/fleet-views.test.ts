// Saved fleet views per user (views.*), and the audit log paged with filters (orgs.audit) — the two
// things an admin team shares a console through.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import { enroll, errorCode, failure, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";
import { startWithRoles } from "../helpers/session.ts";

let server: TestServer;
let org: TestOrg;
let owner: TRPCClient;
let admin: TRPCClient;
let viewer: TRPCClient;
const clock = new ManualClock();

beforeAll(async () => {
  ({ server, org, owner, admin, viewer } = await startWithRoles("Views Org", "views.test", { clock, sweep: false }));
});
afterAll(() => server.stop());

describe("views", () => {
  it("each user saves, replaces, lists and deletes their own views", async () => {
    const query = {
      labels: ["web"],
      online: true,
      sort: "cpu" as const,
      dir: "desc" as const,
      columns: ["name" as const, "cpu" as const],
    };
    expect(await viewer.views.save.mutate({ name: "Busy web", query })).toMatchObject({ name: "Busy web", query });
    await viewer.views.save.mutate({ name: "All", query: {} });
    // Same name: replaced, not duplicated.
    await viewer.views.save.mutate({ name: "Busy web", query: { ...query, health: "critical" } });
    const mine = (await viewer.views.list.query()).items;
    expect(mine.map((v) => v.name)).toEqual(["All", "Busy web"]);
    expect(mine[1]!.query).toMatchObject({ health: "critical", labels: ["web"], sort: "cpu" });
    // Another user sees none of them.
    expect((await admin.views.list.query()).items).toEqual([]);
    expect(await errorCode(admin.views.delete.mutate({ name: "All" }))).toBe("NOT_FOUND");
    expect(await viewer.views.delete.mutate({ name: "All" })).toEqual({ name: "All" });
    expect((await viewer.views.list.query()).items.map((v) => v.name)).toEqual(["Busy web"]);
  });

  it("refuses API keys, a cursor in the query, and bad names or filters (naming the field)", async () => {
    expect(await errorCode(server.client(org.adminKey).views.list.query())).toBe("FORBIDDEN");
    let err = await failure(viewer.views.save.mutate({ name: "", query: {} }));
    expect(err.message).toMatch(/^name:/);
    err = await failure(viewer.views.save.mutate({ name: "x", query: { labels: ["Not A Label"] } }));
    expect(err.message).toMatch(/^query\.labels\.0:/);
    err = await failure(viewer.views.save.mutate({ name: "x", query: { cursor: "abc" } as never }));
    expect(err.data?.code).toBe("BAD_REQUEST");
  });
});

describe("orgs.audit", () => {
  it("pages every row exactly once and filters by actor, action and time", async () => {
    const start = clock.now();
    await enroll(server, org.agentKey, "audit-1");
    for (let i = 0; i < 12; i++) {
      clock.advance(60);
      await (i % 2 ? owner : admin).machines.update.mutate({ machineId: "audit-1", labels: [`l${i}`] });
    }
    const all: number[] = [];
    let cursor: number | null = null;
    do {
      const page: { items: { id: number }[]; nextCursor: number | null } = await owner.orgs.audit.query({
        action: "machines.update",
        limit: 5,
        cursor,
      });
      all.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(all).toHaveLength(12);
    expect(new Set(all).size).toBe(12);
    expect([...all].sort((a, b) => b - a)).toEqual(all);

    const byAdmin = await owner.orgs.audit.query({
      actor: "user:admin@views.test",
      action: "machines.update",
      limit: 100,
    });
    expect(byAdmin.items).toHaveLength(6);
    expect(byAdmin.items.every((i) => i.actor === "user:admin@views.test")).toBe(true);

    // From minute 3 (inclusive) to minute 6 (exclusive): three updates.
    const from = new Date(start.getTime() + 3 * 60_000).toISOString();
    const to = new Date(start.getTime() + 6 * 60_000).toISOString();
    const window = await admin.orgs.audit.query({ action: "machines.update", from, to, limit: 100 });
    expect(window.items.map((i) => i.detail)).toEqual([
      { labels: { from: ["l3"], to: ["l4"] } },
      { labels: { from: ["l2"], to: ["l3"] } },
      { labels: { from: ["l1"], to: ["l2"] } },
    ]);
    expect(await errorCode(viewer.orgs.audit.query({}))).toBe("FORBIDDEN");
    expect((await failure(owner.orgs.audit.query({ from: "yesterday" }))).message).toMatch(/^from:/);
  });
});

// Claims on PostgreSQL at READ COMMITTED: concurrent polls of one machine never deliver work queued
// behind a reboot, each action goes to exactly one claim, and the last owner check holds under
// concurrent demotions (server/db/locks.ts argues the locking).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialectOf } from "../../server/db/dialect.ts";
import { setUserRole } from "../../server/services/orgs.ts";
import { startPgCluster, type PgCluster } from "../helpers/pg.ts";
import { enroll, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

describe("claims on PostgreSQL", () => {
  let cluster: PgCluster;
  let server: TestServer;
  let org: TestOrg;
  beforeAll(async () => {
    cluster = await startPgCluster();
    server = await startTestServer({ env: { DASHFLEET_DATABASE_URL: await cluster.createDatabase() } });
    org = await server.createOrg();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await cluster?.stop();
  });

  it("runs on PostgreSQL at READ COMMITTED", async () => {
    expect(dialectOf(server.deps.db)).toBe("postgresql");
    const [row] = await server.deps.db.$queryRawUnsafe<{ level: string }[]>(
      "SELECT current_setting('transaction_isolation') AS level",
    );
    expect(row?.level).toBe("read committed");
  });

  it("20 concurrent polls deliver the reboot alone, never the message queued behind it (10 rounds)", async () => {
    const admin = server.client(org.adminKey);
    for (let round = 0; round < 10; round++) {
      const machineId = `claim-${round}`;
      const token = await enroll(server, org.agentKey, machineId);
      const agent = server.client(token);
      const reboot = await admin.actions.queue.mutate({ machineId, type: "reboot", data: {} });
      const message = await admin.actions.queue.mutate({
        machineId,
        type: "message",
        data: { message: "behind the reboot" },
      });
      const polls = await Promise.all(Array.from({ length: 20 }, () => agent.agent.pendingActions.query()));
      const delivered = polls.flatMap((p) => p.actions.map((a) => a.id));
      expect(delivered, `round ${round}`).toEqual([reboot.id]);
      expect((await admin.actions.get.query({ id: message.id })).status).toBe("pending");
      expect((await admin.actions.get.query({ id: reboot.id })).deliveryCount).toBe(1);
    }
  });
});

describe("the last owner on PostgreSQL", () => {
  let cluster: PgCluster;
  let server: TestServer;
  beforeAll(async () => {
    cluster = await startPgCluster();
    server = await startTestServer({ env: { DASHFLEET_DATABASE_URL: await cluster.createDatabase() } });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await cluster?.stop();
  });

  it("two owners demoting each other at once leave one owner (20 rounds)", async () => {
    const { db, clock } = server.deps;
    for (let round = 0; round < 20; round++) {
      const org = await server.createOrg(`owners-${round}`);
      await server.addUser(org.orgId, `second-${round}@example.test`, "owner");
      const owners = await db.user.findMany({ where: { orgId: org.orgId, role: "owner" }, select: { id: true } });
      expect(owners).toHaveLength(2);
      const who = { orgId: org.orgId, actor: "test" };
      const results = await Promise.allSettled(
        owners.map((o) => setUserRole(db, clock, who, { userId: o.id, role: "admin" })),
      );
      expect(
        results.filter((r) => r.status === "fulfilled"),
        `round ${round}`,
      ).toHaveLength(1);
      expect(await db.user.count({ where: { orgId: org.orgId, role: "owner" } })).toBe(1);
    }
  });
});

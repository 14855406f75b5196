// One machine, one identity (hostile review, findings 1, 3 and 5), against a real server over HTTP:
// the agent key enrolls new machine ids only; re-enrolling an existing id needs the machine's current
// token, an admin's approval or a one-time enrollment token; enrollment is rate-limited and bounded by
// a quota; the agent key acts for a machine only in an org's legacy mode; a REST result must carry the
// claim token of the current delivery.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import {
  enableLegacyAgents,
  enroll,
  errorCode,
  failure,
  startTestServer,
  type TestOrg,
  type TestServer,
} from "../helpers/server.ts";

const identity = (machineId: string, extra: Record<string, unknown> = {}) => ({
  machineId,
  hostname: `${machineId}-host`,
  os: "Linux test",
  agentVersion: "1.0.0",
  ...extra,
});
const metrics = { cpuPercent: 1, memoryPercent: 2, diskPercent: 3, uptimeSeconds: 4 };

async function rest(server: TestServer, method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("enrollment: the agent key enrolls new machine ids only", () => {
  let server: TestServer;
  let org: TestOrg;
  beforeAll(async () => {
    server = await startTestServer();
    org = await server.createOrg();
  });
  afterAll(() => server.stop());

  it("refuses to re-enroll an existing id with the agent key alone: the victim keeps its token, the attempt waits for an admin", async () => {
    const victim = await enroll(server, org.agentKey, "victim-1");
    const err = await failure(
      server.client(org.agentKey).agent.enroll.mutate(identity("victim-1", { hostname: "attacker" })),
    );
    expect(err.data?.code).toBe("FORBIDDEN");
    expect(err.message).toMatch(/re-enrollment pending/);
    // The victim's token still works, and nothing about the machine changed.
    expect(await server.client(victim).agent.report.mutate({ metrics })).toEqual({ nextReportInSeconds: 10 });
    const m = await server.deps.db.machine.findFirstOrThrow({
      where: { machineId: "victim-1" },
      select: { hostname: true },
    });
    expect(m.hostname).toBe("victim-1");
    // The admin sees who asked.
    const { items } = await server.client(org.adminKey).machines.reenrollRequests.query();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ machineId: "victim-1", hostname: "attacker", approvedUntil: null });
    expect(items[0]?.address).toMatch(/127\.0\.0\.1/);
  });

  it("re-enrolls once after an admin's approval: the old token stops, a second attempt waits again", async () => {
    const old = await enroll(server, org.agentKey, "approved-1");
    const agent = server.client(org.agentKey).agent;
    expect(await errorCode(agent.enroll.mutate(identity("approved-1")))).toBe("FORBIDDEN");
    // Viewers cannot approve; operators can.
    await server.addUser(org.orgId, "viewer-approve@example.test", "viewer");
    const approved = await server.client(org.adminKey).machines.approveReenroll.mutate({ machineId: "approved-1" });
    expect(new Date(approved.approvedUntil).getTime()).toBeGreaterThan(Date.now());
    const fresh = (await agent.enroll.mutate(identity("approved-1"))).machineToken;
    expect(await errorCode(server.client(old).agent.report.mutate({ metrics }))).toBe("UNAUTHORIZED");
    expect(await server.client(fresh).agent.report.mutate({ metrics })).toEqual({ nextReportInSeconds: 10 });
    expect(await errorCode(agent.enroll.mutate(identity("approved-1")))).toBe("FORBIDDEN");
    const audit = await server.client(org.adminKey).orgs.audit.query({ limit: 20 });
    expect(audit.items.map((a) => a.action)).toEqual(
      expect.arrayContaining(["machines.approveReenroll", "machines.reenroll"]),
    );
  });

  it("lets a machine re-enroll itself with its current token (as the bearer, or as currentToken beside the agent key)", async () => {
    const first = await enroll(server, org.agentKey, "self-1");
    const second = (await server.client(first).agent.enroll.mutate(identity("self-1"))).machineToken;
    expect(await errorCode(server.client(first).agent.report.mutate({ metrics }))).toBe("UNAUTHORIZED");
    const third = (await server.client(org.agentKey).agent.enroll.mutate(identity("self-1", { currentToken: second })))
      .machineToken;
    expect(await errorCode(server.client(second).agent.report.mutate({ metrics }))).toBe("UNAUTHORIZED");
    expect(await server.client(third).agent.report.mutate({ metrics })).toEqual({ nextReportInSeconds: 10 });
    // A stale token proves nothing, and a machine token cannot enroll another id.
    expect(
      await errorCode(server.client(org.agentKey).agent.enroll.mutate(identity("self-1", { currentToken: first }))),
    ).toBe("FORBIDDEN");
    expect(await errorCode(server.client(third).agent.enroll.mutate(identity("someone-else")))).toBe("FORBIDDEN");
  });

  it("accepts an admin-issued one-time enrollment token once, for that machine only", async () => {
    const old = await enroll(server, org.agentKey, "onetime-1");
    await enroll(server, org.agentKey, "onetime-2");
    const { enrollToken } = await server.client(org.adminKey).machines.enrollToken.mutate({ machineId: "onetime-1" });
    expect(enrollToken).toMatch(/^dfe_/);
    const agent = server.client(org.agentKey).agent;
    expect(await errorCode(agent.enroll.mutate(identity("onetime-2", { enrollToken })))).toBe("FORBIDDEN");
    const fresh = (await agent.enroll.mutate(identity("onetime-1", { enrollToken }))).machineToken;
    expect(await errorCode(server.client(old).agent.report.mutate({ metrics }))).toBe("UNAUTHORIZED");
    expect(await server.client(fresh).agent.report.mutate({ metrics })).toEqual({ nextReportInSeconds: 10 });
    expect(await errorCode(agent.enroll.mutate(identity("onetime-1", { enrollToken })))).toBe("FORBIDDEN");
  });

  it("stores the enrollment labels on first enrollment only", async () => {
    await server.client(org.agentKey).agent.enroll.mutate(identity("labelled-1", { labels: ["Lab", "kiosk", "lab"] }));
    const labels = await server.deps.db.machineLabel.findMany({
      where: { machine: { machineId: "labelled-1" } },
      select: { label: true, orgId: true },
    });
    expect(labels.map((l) => l.label).sort()).toEqual(["kiosk", "lab"]);
    expect(labels.every((l) => l.orgId === org.orgId)).toBe(true);
  });
});

describe("enrollment limits", () => {
  let server: TestServer;
  afterAll(() => server.stop());

  it("rate-limits enrollment per key and per address (DASHFLEET_ENROLL_PER_MINUTE)", async () => {
    server = await startTestServer({ env: { DASHFLEET_ENROLL_PER_MINUTE: "3" } });
    const org = await server.createOrg();
    const agent = server.client(org.agentKey).agent;
    for (let i = 0; i < 3; i++) await agent.enroll.mutate(identity(`rl-${i}`));
    const err = await failure(agent.enroll.mutate(identity("rl-3")));
    expect(err.data?.code).toBe("TOO_MANY_REQUESTS");
    expect(err.message).toMatch(/enrollments/);
    // Another key from the same address is limited by the address (the key's own budget is untouched).
    const spare = await server.client(org.adminKey).keys.create.mutate({ name: "spare agent", scopes: ["agent"] });
    const byAddress = await failure(server.client(spare.key).agent.enroll.mutate(identity("rl-4")));
    expect(byAddress.message).toMatch(/from this address/);
    expect(await server.deps.db.machine.count({ where: { orgId: org.orgId } })).toBe(3);
  });

  it("bounds an organization's machines by DASHFLEET_MACHINE_QUOTA, overridden per org; retired machines do not count", async () => {
    const s = await startTestServer({ env: { DASHFLEET_MACHINE_QUOTA: "2" } });
    try {
      const org = await s.createOrg();
      await enroll(s, org.agentKey, "q-1");
      await enroll(s, org.agentKey, "q-2");
      const err = await failure(enroll(s, org.agentKey, "q-3"));
      expect(err.data?.code).toBe("FORBIDDEN");
      expect(err.message).toMatch(/quota/);
      await s.client(org.adminKey).machines.retire.mutate({ machineId: "q-1" });
      await enroll(s, org.agentKey, "q-3");
      await s.deps.db.organization.update({ where: { id: org.orgId }, data: { machineQuota: 3 } });
      await enroll(s, org.agentKey, "q-4");
      expect(await errorCode(enroll(s, org.agentKey, "q-5"))).toBe("FORBIDDEN");
    } finally {
      await s.stop();
    }
  });
});

describe("legacy agent mode: the agent key acts for a machine only where the org allows it", () => {
  let server: TestServer;
  let org: TestOrg;
  const clock = new ManualClock(Date.now());
  beforeAll(async () => {
    server = await startTestServer({ clock, sweep: false, env: { DASHFLEET_LEASE_SECONDS: "30" } });
    org = await server.createOrg();
  });
  afterAll(() => server.stop());

  it("refuses agent key + machine id in a new organization (tRPC and REST), accepts it once legacy mode is on", async () => {
    await enroll(server, org.agentKey, "legacy-1");
    const agent = server.client(org.agentKey).agent;
    const err = await failure(agent.pendingActions.query({ machineId: "legacy-1" }));
    expect(err.data?.code).toBe("FORBIDDEN");
    expect(err.message).toMatch(/legacy agent mode is off/i);
    expect((await rest(server, "GET", "/api/actions/pending?machine_id=legacy-1", org.agentKey)).status).toBe(403);
    const current = await server.client(org.adminKey).orgs.current.query();
    expect(current.legacyAgents).toBe(false);

    await enableLegacyAgents(server, org.orgId);
    expect((await agent.pendingActions.query({ machineId: "legacy-1" })).actions).toEqual([]);
    expect(await rest(server, "GET", "/api/actions/pending?machine_id=legacy-1", org.agentKey)).toEqual({
      status: 200,
      body: { actions: [] },
    });
    expect((await server.client(org.adminKey).orgs.current.query()).legacyAgents).toBe(true);
  });

  it("finding 3: a REST result must carry the current claim token; a stale holder cannot finish a re-delivered action", async () => {
    await enableLegacyAgents(server, org.orgId);
    const token = await enroll(server, org.agentKey, "claim-1");
    const { id } = await server
      .client(org.adminKey)
      .actions.queue.mutate({ machineId: "claim-1", type: "message", data: { message: "hi" } });
    // A first poll holds the action, then its lease runs out and a second poll (REST) gets it again.
    const first = await server.client(token).agent.pendingActions.query({});
    const stale = first.actions[0]!.claimToken;
    clock.advance(31);
    await server.deps.services.dispatch.sweep();
    const again = await rest(server, "GET", "/api/actions/pending?machine_id=claim-1", org.agentKey);
    const current = (again.body.actions as { action_id: string; claim_token: string }[])[0]!;
    expect(current.action_id).toBe(id);
    expect(current.claim_token).not.toBe(stale);

    const noClaim = await rest(server, "POST", "/api/actions/report", org.agentKey, {
      action_id: id,
      status: "done",
      result: "x",
    });
    expect(noClaim.status).toBe(400);
    expect(String(noClaim.body.error)).toMatch(/^claim_token/);
    const byStale = await rest(server, "POST", "/api/actions/report", token, {
      action_id: id,
      claim_token: stale,
      status: "done",
      result: "stale",
    });
    expect(byStale.status).toBe(409);
    expect((await server.client(org.adminKey).actions.get.query({ id })).status).toBe("executing");
    const ok = await rest(server, "POST", "/api/actions/report", org.agentKey, {
      action_id: id,
      claim_token: current.claim_token,
      status: "done",
      result: "shown",
    });
    expect(ok).toMatchObject({ status: 200, body: { ok: true } });
    expect((await server.client(org.adminKey).actions.get.query({ id })).result).toBe("shown");
  });
});

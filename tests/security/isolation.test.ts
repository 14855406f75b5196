// Tenant isolation matrix, built from the router itself: every procedure of appRouter is called with
// another organization's keys and session, a machine token of another machine, a viewer session, a
// revoked key, an expired session and no credentials, aimed at a victim organization's machines,
// actions, users and keys. A procedure added to the router without a case here fails the test.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "../../server/routers/_app.ts";
import { hashSecret } from "../../server/services/crypto.ts";
import { recordFigures } from "../helpers/fleet-sim.ts";
import { enroll, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";
import { signIn } from "../helpers/session.ts";

type Cred =
  | "otherOrgAdminKey"
  | "otherOrgAgentKey"
  | "otherOrgOwnerSession"
  | "otherMachineToken"
  | "otherOrgMachineToken"
  | "viewerSession"
  | "revokedAdminKey"
  | "revokedAgentKey"
  | "expiredSession"
  | "none";
const CREDS: Cred[] = [
  "otherOrgAdminKey",
  "otherOrgAgentKey",
  "otherOrgOwnerSession",
  "otherMachineToken",
  "otherOrgMachineToken",
  "viewerSession",
  "revokedAdminKey",
  "revokedAgentKey",
  "expiredSession",
  "none",
];

/** refused: UNAUTHORIZED / FORBIDDEN / NOT_FOUND. scoped: may answer, but only about the caller's own org. */
type Expect = "refused" | "scoped";
type Kind = Partial<Record<Cred, Expect>>;
/** Reads of the caller's own org (lists): other orgs' admins and the victim's viewer get their own data. */
const ADMIN_LIST: Kind = { otherOrgAdminKey: "scoped", otherOrgOwnerSession: "scoped", viewerSession: "scoped" };
/** Reads of one victim record: only the victim org's viewer may see it. */
const ADMIN_TARGET: Kind = { viewerSession: "scoped" };
/** Changes aimed at a victim record: refused for everyone here. */
const TARGET: Kind = {};
/** Changes without a target (create a key, rename): act on the caller's own org. */
const OPERATOR_SCOPED: Kind = { otherOrgAdminKey: "scoped", otherOrgOwnerSession: "scoped" };
const OWNER_SCOPED: Kind = { otherOrgOwnerSession: "scoped" };
const PUBLIC: Kind = Object.fromEntries(CREDS.map((c) => [c, "scoped"]));
const ENROLL: Kind = { otherOrgAgentKey: "scoped" };
const MACHINE_SCOPED: Kind = { otherMachineToken: "scoped", otherOrgMachineToken: "scoped" };

type Victim = {
  machineId: string;
  actionId: string;
  ownerId: string;
  viewerId: string;
  adminKeyId: string;
  ownerEmail: string;
  bulkId: string;
};
type Case = { kind: Kind; input?: (v: Victim) => unknown; last?: boolean };

let n = 0;
/** One case per procedure path. Adding a procedure to the router without adding it here fails. */
const CASES: Record<string, Case> = {
  "auth.login": { kind: TARGET, input: (v) => ({ email: v.ownerEmail, password: "not the password" }) },
  "auth.logout": { kind: PUBLIC, last: true },
  "auth.me": { kind: PUBLIC },
  "orgs.current": { kind: ADMIN_LIST },
  "orgs.rename": { kind: OWNER_SCOPED, input: () => ({ name: "Renamed by the other org" }) },
  "orgs.users.list": { kind: ADMIN_LIST },
  "settings.get": { kind: ADMIN_LIST },
  "settings.update": { kind: OWNER_SCOPED, input: () => ({ branding: { brandName: "Brand of the other org" } }) },
  "orgs.users.create": {
    kind: OWNER_SCOPED,
    input: () => ({ email: `intruder${++n}@example.test`, password: "intruder password 1", role: "owner" }),
  },
  "orgs.users.setRole": { kind: TARGET, input: (v) => ({ userId: v.ownerId, role: "viewer" }) },
  "orgs.users.remove": { kind: TARGET, input: (v) => ({ userId: v.viewerId }) },
  "orgs.audit": { kind: ADMIN_LIST, input: () => ({ limit: 200 }) },
  "keys.list": { kind: ADMIN_LIST },
  "keys.create": { kind: OPERATOR_SCOPED, input: () => ({ name: `intruder key ${++n}`, scopes: ["agent"] }) },
  "keys.revoke": { kind: TARGET, input: (v) => ({ id: v.adminKeyId }) },
  "fleet.list": { kind: ADMIN_LIST, input: () => ({}) },
  "fleet.machine": { kind: ADMIN_TARGET, input: (v) => ({ machineId: v.machineId }) },
  "fleet.summary": { kind: ADMIN_LIST, input: () => ({}) },
  "machines.update": {
    kind: TARGET,
    input: (v) => ({ machineId: v.machineId, displayName: "pwned", labels: ["pwned"] }),
  },
  "bulk.create": {
    kind: TARGET,
    input: (v) => ({ target: { machineIds: [v.machineId] }, type: "message", data: { message: "pwned" } }),
  },
  "bulk.get": { kind: ADMIN_TARGET, input: (v) => ({ bulkId: v.bulkId }) },
  "bulk.cancel": { kind: TARGET, input: (v) => ({ bulkId: v.bulkId }) },
  "bulk.list": { kind: ADMIN_LIST },
  // Saved views belong to a signed-in user: another user sees and changes only their own; keys none.
  "views.list": { kind: { otherOrgOwnerSession: "scoped", viewerSession: "scoped" } },
  "views.save": {
    kind: { otherOrgOwnerSession: "scoped", viewerSession: "scoped" },
    input: () => ({ name: "intruder view", query: {} }),
  },
  "views.delete": { kind: TARGET, input: () => ({ name: "VICTIMVIEW" }) },
  "actions.queue": { kind: TARGET, input: (v) => ({ machineId: v.machineId, type: "reboot", data: {} }) },
  "actions.queueBulk": {
    kind: TARGET,
    input: (v) => ({ machineIds: [v.machineId], type: "message", data: { message: "pwned" } }),
  },
  "actions.cancel": { kind: TARGET, input: (v) => ({ id: v.actionId }) },
  "actions.list": { kind: ADMIN_LIST, input: (v) => ({ machineId: v.machineId, limit: 100 }) },
  "actions.get": { kind: ADMIN_TARGET, input: (v) => ({ id: v.actionId }) },
  // Enrolling the victim's machine id with another org's key makes a machine in that org, never a takeover.
  "agent.enroll": {
    kind: ENROLL,
    input: (v) => ({ machineId: v.machineId, hostname: "hijack", os: "x", agentVersion: "1" }),
    last: true,
  },
  "agent.report": {
    kind: MACHINE_SCOPED,
    input: () => ({ metrics: { cpuPercent: 1, memoryPercent: 1, diskPercent: 1, uptimeSeconds: 1 } }),
  },
  "agent.actionStream": { kind: MACHINE_SCOPED },
  "agent.branding": { kind: MACHINE_SCOPED },
  "agent.pendingActions": { kind: TARGET, input: (v) => ({ machineId: v.machineId }) },
  "agent.ack": {
    kind: TARGET,
    input: (v) => ({ actionId: v.actionId, claimToken: "guessed-claim-token", machineId: v.machineId }),
  },
  "agent.progress": {
    kind: TARGET,
    input: (v) => ({
      actionId: v.actionId,
      claimToken: "guessed-claim-token",
      seq: 0,
      event: { kind: "acknowledged", at: new Date().toISOString() },
    }),
  },
  // Identity: retiring, re-enrollment approvals and one-time tokens aim at one victim machine.
  "machines.retire": { kind: TARGET, input: (v) => ({ machineId: v.machineId }) },
  "machines.approveReenroll": { kind: TARGET, input: (v) => ({ machineId: v.machineId }) },
  "machines.dismissReenroll": { kind: TARGET, input: (v) => ({ machineId: v.machineId }) },
  "machines.enrollToken": { kind: TARGET, input: (v) => ({ machineId: v.machineId }) },
  "machines.reenrollRequests": { kind: ADMIN_LIST },
  "agent.reportResult": {
    kind: TARGET,
    input: (v) => ({
      actionId: v.actionId,
      claimToken: "guessed-claim-token",
      status: "done",
      result: "pwned",
      machineId: v.machineId,
    }),
  },
};

// Flat at run time: "actions.queue" → procedure.
const procedures = appRouter._def.procedures as unknown as Record<
  string,
  { _def: { type: "query" | "mutation" | "subscription" } }
>;

let server: TestServer;
let victim: TestOrg;
let attacker: TestOrg;
let v: Victim;
const headers: Record<Cred, Record<string, string>> = {} as never;
/** Strings only the victim (or only the attacker) org's data contains. */
const markers: { victim: string[]; attacker: string[]; secrets: string[] } = { victim: [], attacker: [], secrets: [] };
let victimOwnerCookie = "";

type Answer = { status: number; body: string };

async function call(path: string, cred: Cred, input: unknown): Promise<Answer> {
  const type = procedures[path]!._def.type;
  const h = headers[cred];
  const enc = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
  if (type === "subscription") {
    const ac = new AbortController();
    const res = await fetch(`${server.url}/trpc/${path}${enc}`, {
      headers: { ...h, accept: "text/event-stream" },
      signal: ac.signal,
    });
    // Read the first event (or the error) and hang up: a stream stays open.
    const reader = res.body!.getReader();
    const first = await Promise.race([
      reader.read(),
      new Promise<{ value: undefined }>((r) => setTimeout(() => r({ value: undefined }), 1500)),
    ]);
    ac.abort();
    const body = first.value ? new TextDecoder().decode(first.value) : "";
    // tRPC answers an unauthorised subscription with an error event inside a 200 stream.
    const m = /"code":"([A-Z_]+)"/.exec(body);
    return { status: res.status === 200 && m && /error/.test(body) ? codeToStatus(m[1]!) : res.status, body };
  }
  const res =
    type === "query"
      ? await fetch(`${server.url}/trpc/${path}${enc}`, { headers: h })
      : await fetch(`${server.url}/trpc/${path}`, {
          method: "POST",
          headers: { ...h, "content-type": "application/json" },
          body: input === undefined ? undefined : JSON.stringify(input),
        });
  return { status: res.status, body: await res.text() };
}

function codeToStatus(code: string): number {
  return (
    ({ UNAUTHORIZED: 401, FORBIDDEN: 403, NOT_FOUND: 404, BAD_REQUEST: 400 } as Record<string, number>)[code] ?? 500
  );
}

/** The org whose data a credential may see (null: none). */
function orgOf(cred: Cred): "victim" | "attacker" | null {
  if (cred === "otherMachineToken" || cred === "viewerSession") return "victim";
  if (cred.startsWith("otherOrg")) return "attacker";
  return null;
}

function leaks(cred: Cred, body: string): string[] {
  const own = orgOf(cred);
  const foreign = [
    ...(own === "victim" ? [] : markers.victim),
    ...(own === "attacker" ? [] : markers.attacker),
    ...markers.secrets,
  ];
  const technical = [
    "passwordHash",
    "tokenHash",
    "keyHash",
    'claimToken":"',
    "scrypt$",
    "prisma",
    "SELECT ",
    "node_modules",
    ".ts:",
    '"stack"',
  ];
  const found = foreign.filter((m) => body.includes(m));
  // A victim's own claim tokens are never shown to admins; no answer here carries internals.
  for (const t of technical) if (body.includes(t)) found.push(t);
  return found;
}

/** The victim org's rows that none of these calls may change. */
async function victimSnapshot(): Promise<string> {
  const db = server.deps.db;
  const orgId = victim.orgId;
  const [org, users, keys, machines, actions, events] = await Promise.all([
    db.organization.findUnique({ where: { id: orgId }, select: { name: true } }),
    db.user.findMany({ where: { orgId }, select: { id: true, email: true, role: true }, orderBy: { id: "asc" } }),
    db.apiKey.findMany({
      where: { orgId },
      select: { id: true, revokedAt: true, scopes: true },
      orderBy: { id: "asc" },
    }),
    db.machine.findMany({
      where: { orgId },
      select: { machineId: true, hostname: true, tokenHash: true, orgId: true },
      orderBy: { id: "asc" },
    }),
    db.action.findMany({
      where: { orgId },
      select: { id: true, status: true, claimToken: true, result: true, deliveryCount: true },
      orderBy: { id: "asc" },
    }),
    db.actionEvent.count({ where: { action: { orgId } } }),
  ]);
  return JSON.stringify({ org, users, keys, machines, actions, events });
}

beforeAll(async () => {
  server = await startTestServer({ env: { DASHFLEET_LOGIN_PER_MINUTE: "1000" } });
  victim = await server.createOrg("Victim Corp VICTIMORG");
  attacker = await server.createOrg("Attacker Ltd ATTACKERORG");
  await server.addUser(victim.orgId, "viewer-victim@example.test", "viewer");
  const victimToken = await enroll(server, victim.agentKey, "victim-m1", "VICTIMHOST-1");
  const victimToken2 = await enroll(server, victim.agentKey, "victim-m2", "VICTIMHOST-2");
  const attackerToken = await enroll(server, attacker.agentKey, "attacker-m1", "ATTACKERHOST-1");
  const victimAdmin = server.client(victim.adminKey);
  const { id: actionId } = await victimAdmin.actions.queue.mutate({
    machineId: "victim-m1",
    type: "message",
    data: { message: "VICTIMMESSAGE secret" },
  });
  await server
    .client(attacker.adminKey)
    .actions.queue.mutate({ machineId: "attacker-m1", type: "message", data: { message: "ATTACKERMESSAGE" } });
  await server
    .client(victimToken)
    .agent.report.mutate({ metrics: { cpuPercent: 5, memoryPercent: 5, diskPercent: 5, uptimeSeconds: 5 } });

  // Revoked keys (revoked through keys.revoke by the victim's owner) and an expired session.
  const owner = await signIn(server, victim.ownerEmail, victim.password);
  victimOwnerCookie = owner.cookie;
  const revokedAdmin = await owner.client.keys.create.mutate({ name: "to revoke (admin)", scopes: ["admin"] });
  const revokedAgent = await owner.client.keys.create.mutate({ name: "to revoke (agent)", scopes: ["agent"] });
  await owner.client.keys.revoke.mutate({ id: revokedAdmin.id });
  await owner.client.keys.revoke.mutate({ id: revokedAgent.id });
  const expired = "dfs_expired_session_token_for_isolation_tests_0001";
  const db = server.deps.db;
  const ownerRow = await db.user.findUniqueOrThrow({
    where: { orgId_email: { orgId: victim.orgId, email: victim.ownerEmail } },
    select: { id: true },
  });
  await db.session.create({
    data: {
      tokenHash: hashSecret(expired),
      userId: ownerRow.id,
      createdAt: new Date(0),
      expiresAt: new Date(Date.now() - 1000),
    },
  });
  const viewer = await signIn(server, "viewer-victim@example.test", victim.password);
  const attackerOwner = await signIn(server, attacker.ownerEmail, attacker.password);
  const viewerRow = await db.user.findUniqueOrThrow({
    where: { orgId_email: { orgId: victim.orgId, email: "viewer-victim@example.test" } },
    select: { id: true },
  });
  const adminKeyRow = await db.apiKey.findFirstOrThrow({
    where: { orgId: victim.orgId, name: "admin" },
    select: { id: true },
  });

  v = {
    machineId: "victim-m1",
    actionId,
    ownerId: ownerRow.id,
    viewerId: viewerRow.id,
    adminKeyId: adminKeyRow.id,
    ownerEmail: victim.ownerEmail,
    bulkId: (
      await victimAdmin.bulk.create.mutate({
        target: { machineIds: ["victim-m1"] },
        type: "message",
        data: { message: "VICTIMBULK" },
      })
    ).bulkId,
  };
  await owner.client.views.save.mutate({ name: "VICTIMVIEW", query: { search: "VICTIMHOST" } });
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  Object.assign(headers, {
    otherOrgAdminKey: bearer(attacker.adminKey),
    otherOrgAgentKey: bearer(attacker.agentKey),
    otherOrgOwnerSession: { cookie: attackerOwner.cookie },
    otherMachineToken: bearer(victimToken2),
    otherOrgMachineToken: bearer(attackerToken),
    viewerSession: { cookie: viewer.cookie },
    revokedAdminKey: bearer(revokedAdmin.key),
    revokedAgentKey: bearer(revokedAgent.key),
    expiredSession: { cookie: `dashfleet_session=${expired}` },
    none: {},
  } satisfies Record<Cred, Record<string, string>>);
  markers.victim = [
    "VICTIMORG",
    "VICTIMHOST",
    "VICTIMMESSAGE",
    victim.ownerEmail,
    "viewer-victim@example.test",
    victim.orgId,
  ];
  markers.attacker = ["ATTACKERORG", "ATTACKERHOST", "ATTACKERMESSAGE", attacker.ownerEmail, attacker.orgId];
  markers.secrets = [
    victim.adminKey,
    victim.agentKey,
    attacker.adminKey,
    attacker.agentKey,
    victimToken,
    victimToken2,
    attackerToken,
    owner.cookie.split("=")[1]!,
  ];
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe("tenant isolation matrix (every procedure × every hostile credential)", () => {
  it("has a case for every procedure of the router", () => {
    const paths = Object.keys(procedures).sort();
    expect(paths.length).toBeGreaterThan(20);
    expect(paths.filter((p) => !(p in CASES))).toEqual([]);
    expect(Object.keys(CASES).filter((p) => !(p in procedures))).toEqual([]);
  });

  it("refuses every cross-org, cross-machine, viewer, revoked, expired and anonymous call, and leaks nothing", async () => {
    const before = await victimSnapshot();
    const paths = Object.keys(procedures).sort(
      (a, b) => Number(CASES[a]?.last ?? false) - Number(CASES[b]?.last ?? false) || a.localeCompare(b),
    );
    const failures: string[] = [];
    let cases = 0;
    let refused = 0;
    for (const path of paths) {
      const c = CASES[path]!;
      for (const cred of CREDS) {
        const expectation = c.kind[cred] ?? "refused";
        const input = c.input?.(v);
        const a = await call(path, cred, input);
        cases += 1;
        const leaked = leaks(cred, a.body);
        if (leaked.length) failures.push(`${path} as ${cred}: answer contains ${leaked.join(", ")}`);
        if (expectation === "refused") {
          if (![401, 403, 404].includes(a.status))
            failures.push(`${path} as ${cred}: expected a refusal, got HTTP ${a.status} ${a.body.slice(0, 200)}`);
          else refused += 1;
        } else if (a.status >= 500) failures.push(`${path} as ${cred}: HTTP ${a.status}`);
      }
    }
    expect(failures).toEqual([]);
    // The victim org is exactly as it was: no rename, no new or demoted users, no revoked key,
    // no machine taken over, the action still pending and never delivered.
    expect(await victimSnapshot()).toEqual(before);
    const action = await server.client(victim.adminKey).actions.get.query({ id: v.actionId });
    expect(action.status).toBe("pending");
    expect(action.deliveryCount).toBe(0);
    // The victim owner's session still works (another org's logout ended only its own).
    const me = await server.cookieClient(victimOwnerCookie).auth.me.query();
    expect(me?.email).toBe(victim.ownerEmail);
    recordFigures("isolation", {
      procedures: paths.length,
      credentials: CREDS.length,
      cases,
      refused,
      scopedAnswersChecked: cases - refused,
    });
  }, 120_000);

  it("a revoked key stops working at once, even right after it was used (no stale cache)", async () => {
    const owner = server.cookieClient(victimOwnerCookie);
    const k = await owner.keys.create.mutate({ name: "used then revoked", scopes: ["admin"] });
    expect((await server.client(k.key).fleet.list.query({})).machines.length).toBeGreaterThan(0);
    await owner.keys.revoke.mutate({ id: k.id });
    const res = await fetch(`${server.url}/trpc/fleet.list`, { headers: { authorization: `Bearer ${k.key}` } });
    expect(res.status).toBe(401);
  });

  it("re-enrolling a machine retires its old token at once, even right after it was used (no stale cache)", async () => {
    const old = await enroll(server, victim.agentKey, "victim-reenrolled");
    expect((await server.client(old).agent.pendingActions.query({})).actions).toEqual([]);
    // The agent re-enrolls itself (e.g. after a reinstall) with its current token.
    const { machineToken: fresh } = await server.client(victim.agentKey).agent.enroll.mutate({
      machineId: "victim-reenrolled",
      hostname: "victim-reenrolled",
      os: "Linux test",
      agentVersion: "0.0.0-test",
      currentToken: old,
    });
    const res = await fetch(`${server.url}/trpc/agent.pendingActions`, { headers: { authorization: `Bearer ${old}` } });
    expect(res.status).toBe(401);
    expect((await server.client(fresh).agent.pendingActions.query({})).actions).toEqual([]);
  });

  // (agent.enroll above made a "victim-m1" in the other org, so the REST checks aim at victim-m2 too.)
  it("the original design's REST endpoints refuse other orgs and other machines", async () => {
    const post = (p: string, h: Record<string, string>, body: unknown) =>
      fetch(`${server.url}${p}`, {
        method: "POST",
        headers: { ...h, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const queue = await post("/api/actions/queue", headers.otherOrgAdminKey, {
      machine_id: "victim-m2",
      action_type: "reboot",
      data: {},
    });
    expect(queue.status).toBe(404);
    const pending = await fetch(`${server.url}/api/actions/pending?machine_id=victim-m1`, {
      headers: headers.otherMachineToken,
    });
    expect(pending.status).toBe(403);
    const pendingOtherOrg = await fetch(`${server.url}/api/actions/pending?machine_id=victim-m2`, {
      headers: headers.otherOrgAgentKey,
    });
    expect([403, 404]).toContain(pendingOtherOrg.status);
    const report = await post("/api/actions/report", headers.otherOrgAgentKey, {
      action_id: v.actionId,
      claim_token: "guessed-claim-token",
      status: "done",
      result: "pwned",
    });
    // 403 outside legacy mode (an agent key may not report), 404 inside it (no such action in that org).
    expect([403, 404]).toContain(report.status);
    const reportOtherMachine = await post("/api/actions/report", headers.otherMachineToken, {
      action_id: v.actionId,
      claim_token: "guessed-claim-token",
      status: "done",
      result: "pwned",
    });
    expect([403, 404, 409]).toContain(reportOtherMachine.status);
    for (const r of [queue, pending, pendingOtherOrg, report, reportOtherMachine]) {
      const body = await r.text();
      expect(markers.victim.filter((m) => body.includes(m))).toEqual([]);
    }
    const action = await server.client(victim.adminKey).actions.get.query({ id: v.actionId });
    expect(action.status).toBe("pending");
  });
});

// Retiring machines and revoking keys against a running server (hostile review, findings 2 and 9):
// a retired machine's token stops at once, its waiting actions are cancelled and its history stays
// readable; its id enrolls again only with an admin's approval. A key revoked or a machine retired by
// the CLI, in another process, stops working on the running server within a second. Revoking the
// enrollment key never breaks enrolled machines.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../server/services/accounts.ts";
import {
  enableLegacyAgents,
  enroll,
  errorCode,
  failure,
  startTestServer,
  type TestOrg,
  type TestServer,
} from "../helpers/server.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const metrics = { cpuPercent: 1, memoryPercent: 2, diskPercent: 3, uptimeSeconds: 4 };
let server: TestServer;
let org: TestOrg;

/** The admin CLI in a child process against the server's database (its file, or its PostgreSQL URL under test:pg). */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "server/cli.ts", ...args],
      { cwd: root, env: { ...process.env, ...databaseEnv() } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

function databaseEnv(): Record<string, string> {
  const url = server.deps.config.databaseUrl;
  return url ? { DASHFLEET_DATABASE_URL: url } : { DASHFLEET_DB: server.dbFile };
}

/** Milliseconds until `check` holds (polled every 25 ms); fails after 5 s. */
async function msUntil(check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > 5000) throw new Error("condition not reached within 5 s");
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - start;
}

beforeAll(async () => {
  server = await startTestServer();
  org = await server.createOrg();
});
afterAll(() => server.stop());

describe("machines.retire", () => {
  it("stops the token at once, cancels waiting actions, keeps history readable; the id re-enrolls only after approval", async () => {
    const token = await enroll(server, org.agentKey, "retire-1");
    const admin = server.client(org.adminKey);
    const delivered = await admin.actions.queue.mutate({
      machineId: "retire-1",
      type: "message",
      data: { message: "one" },
    });
    await server.client(token).agent.pendingActions.query({});
    const waiting = await admin.actions.queue.mutate({
      machineId: "retire-1",
      type: "message",
      data: { message: "two" },
    });

    // Viewers cannot retire.
    await server.addUser(org.orgId, "viewer-retire@example.test", "viewer");
    const r = await admin.machines.retire.mutate({ machineId: "retire-1" });
    expect(r).toMatchObject({ machineId: "retire-1", cancelled: 2 });
    expect(await errorCode(server.client(token).agent.report.mutate({ metrics }))).toBe("UNAUTHORIZED");
    expect(await errorCode(server.client(token).agent.pendingActions.query({}))).toBe("UNAUTHORIZED");
    for (const id of [delivered.id, waiting.id]) {
      const a = await admin.actions.get.query({ id });
      expect(a.status).toBe("cancelled");
    }
    // History stays: the machine and its actions are still readable.
    expect(await server.deps.db.machine.count({ where: { machineId: "retire-1", retiredAt: { not: null } } })).toBe(1);
    // Retiring again changes nothing.
    expect(await admin.machines.retire.mutate({ machineId: "retire-1" })).toMatchObject({
      cancelled: 0,
      retiredAt: r.retiredAt,
    });

    // The agent key alone cannot bring the id back; an approval can.
    expect(await errorCode(enroll(server, org.agentKey, "retire-1"))).toBe("FORBIDDEN");
    await admin.machines.approveReenroll.mutate({ machineId: "retire-1" });
    const back = await enroll(server, org.agentKey, "retire-1");
    expect(await server.client(back).agent.report.mutate({ metrics })).toEqual({ nextReportInSeconds: 10 });
    expect(await server.deps.db.machine.count({ where: { machineId: "retire-1", retiredAt: null } })).toBe(1);
  });

  it("ends the retired machine's legacy identity too: agent key + machine_id answers NOT_FOUND", async () => {
    const other = await server.createOrg();
    await enableLegacyAgents(server, other.orgId);
    await enroll(server, other.agentKey, "legacy-retire");
    const agent = server.client(other.agentKey).agent;
    expect((await agent.pendingActions.query({ machineId: "legacy-retire" })).actions).toEqual([]);
    await server.client(other.adminKey).machines.retire.mutate({ machineId: "legacy-retire" });
    expect(await errorCode(agent.pendingActions.query({ machineId: "legacy-retire" }))).toBe("NOT_FOUND");
  });

  it("revoking the enrollment key never breaks enrolled machines", async () => {
    const key = await server.client(org.adminKey).keys.create.mutate({ name: "installer", scopes: ["agent"] });
    const token = await enroll(server, key.key, "survivor-1");
    await server.client(org.adminKey).keys.revoke.mutate({ id: key.id });
    expect(await errorCode(enroll(server, key.key, "survivor-2"))).toBe("UNAUTHORIZED");
    expect(await server.client(token).agent.report.mutate({ metrics })).toEqual({ nextReportInSeconds: 10 });
  });

  it("answers NOT_FOUND for another organization's machine", async () => {
    await enroll(server, org.agentKey, "mine-1");
    const other = await server.createOrg();
    const err = await failure(server.client(other.adminKey).machines.retire.mutate({ machineId: "mine-1" }));
    expect(err.data?.code).toBe("NOT_FOUND");
  });
});

describe("changes made by another process reach the running server within a second", () => {
  it("finding 2: a key revoked with the CLI stops working within 1 s", async () => {
    const admin = await createApiKey(server.deps.db, server.deps.clock, {
      orgId: org.orgId,
      name: "doomed",
      scopes: ["admin"],
      actor: "test",
    });
    const c = server.client(admin.key);
    await c.keys.list.query(); // cached now
    const r = await cli("key", "revoke", "--id", admin.id);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/within a second/);
    const ms = await msUntil(async () => (await errorCode(c.keys.list.query()).catch(() => "OK")) === "UNAUTHORIZED");
    expect(ms).toBeLessThan(1000);
  });

  it("finding 9: a machine retired with the CLI loses its token within 1 s, and the CLI turns legacy mode on and off", async () => {
    const token = await enroll(server, org.agentKey, "cli-retire-1");
    const c = server.client(token);
    await c.agent.pendingActions.query({});
    const r = await cli("machine", "retire", "--org", org.orgId, "--machine", "cli-retire-1", "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ machineId: "cli-retire-1", cancelled: 0 });
    const ms = await msUntil(
      async () => (await errorCode(c.agent.pendingActions.query({})).catch(() => "OK")) === "UNAUTHORIZED",
    );
    expect(ms).toBeLessThan(1000);

    const agent = server.client(org.agentKey).agent;
    await enroll(server, org.agentKey, "cli-legacy-1");
    expect(await errorCode(agent.pendingActions.query({ machineId: "cli-legacy-1" }))).toBe("FORBIDDEN");
    const on = await cli("org", "update", "--id", org.orgId, "--legacy-agents", "on");
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toMatch(/warning: legacy agent mode/);
    await msUntil(
      async () =>
        await agent.pendingActions.query({ machineId: "cli-legacy-1" }).then(
          () => true,
          () => false,
        ),
    );
    const off = await cli("org", "update", "--id", org.orgId, "--legacy-agents", "off");
    expect(off.code, off.stderr).toBe(0);
    await msUntil(
      async () =>
        (await errorCode(agent.pendingActions.query({ machineId: "cli-legacy-1" })).catch(() => "OK")) === "FORBIDDEN",
    );
  });

  it("sets an organization's machine quota from the CLI (and back to the default with none)", async () => {
    const other = await server.createOrg();
    await enroll(server, other.agentKey, "quota-1");
    const set = await cli("org", "update", "--id", other.orgId, "--machine-quota", "1", "--json");
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ orgId: other.orgId, machineQuota: 1 });
    expect((await failure(enroll(server, other.agentKey, "quota-2"))).message).toMatch(/quota/);
    const none = await cli("org", "update", "--id", other.orgId, "--machine-quota", "none");
    expect(none.code, none.stderr).toBe(0);
    await enroll(server, other.agentKey, "quota-2");
    const bad = await cli("org", "update", "--id", other.orgId, "--machine-quota", "lots");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--machine-quota/);
  });

  it("approves a pending re-enrollment and issues a one-time token from the CLI", async () => {
    await enroll(server, org.agentKey, "cli-approve-1");
    expect(await errorCode(enroll(server, org.agentKey, "cli-approve-1"))).toBe("FORBIDDEN");
    const ok = await cli("machine", "approve", "--org", org.orgId, "--machine", "cli-approve-1");
    expect(ok.code, ok.stderr).toBe(0);
    await enroll(server, org.agentKey, "cli-approve-1");
    const t = await cli("machine", "enroll-token", "--org", org.orgId, "--machine", "cli-approve-1", "--json");
    expect(t.code, t.stderr).toBe(0);
    const { enrollToken } = JSON.parse(t.stdout) as { enrollToken: string };
    const identity = { machineId: "cli-approve-1", hostname: "h", os: "Linux", agentVersion: "1", enrollToken };
    await server.client(org.agentKey).agent.enroll.mutate(identity);
    const bad = await cli("machine", "retire", "--org", org.orgId, "--machine", "no such machine");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--machine/);
  });

  it("creates the database and a CLI backup readable by the owner only (0600)", async () => {
    // The SQLite file is the server's own; a PostgreSQL database has no file here (its backup is a pg_dump archive).
    if (!server.deps.config.databaseUrl) expect(fs.statSync(server.dbFile).mode & 0o777).toBe(0o600);
    const target = path.join(server.dir, "backup.db");
    const r = await cli("backup", "--to", target);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.statSync(target).mode & 0o777).toBe(0o600);
  });
});

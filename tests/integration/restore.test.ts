// Backups restore into a FRESH server that shows the fleet, on both databases:
// - SQLite: `npm run cli -- backup` of a live server (machines, metrics, finished and waiting actions),
//   a new server on the copied file: fleet.list, the action history and the agents' tokens work.
// - PostgreSQL (a throwaway cluster): `npm run cli -- backup` runs pg_dump -Fc against the live database,
//   pg_restore puts it in a new database, a new server starts on it without applying any migration,
//   and shows the same fleet and history; agents' tokens still work. Without pg_dump on PATH the
//   command fails saying how to install it and the exact command to run by hand.
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PG_BIN, startPgCluster, type PgCluster } from "../helpers/pg.ts";
import { enroll, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-restore-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

type Run = { code: number; stdout: string; stderr: string };
/** `npm run cli -- …` as a separate process, as an operator runs it, with the given database variables. */
function cli(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "server/cli.ts", ...args],
      { cwd: root, env: { ...process.env, ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const metrics = { cpuPercent: 12, memoryPercent: 34, diskPercent: 56, uptimeSeconds: 789 };

/** What the live server held when the backup was taken. */
type Fleet = {
  org: TestOrg;
  tokens: Record<string, string>;
  doneId: string;
  pendingId: string;
};

/** Three machines (one reporting), a message carried to "done" and a reboot left waiting. */
async function populate(server: TestServer): Promise<Fleet> {
  const org = await server.createOrg("Restore Org");
  const tokens: Record<string, string> = {};
  for (const id of ["rs-alpha", "rs-beta", "rs-gamma"])
    tokens[id] = await enroll(server, org.agentKey, id, `${id}.lan`);
  const alpha = server.client(tokens["rs-alpha"]);
  await alpha.agent.report.mutate({ metrics });
  const admin = server.client(org.adminKey);
  const { id: doneId } = await admin.actions.queue.mutate({
    machineId: "rs-alpha",
    type: "message",
    data: { message: "Backups tonight", display: "dialog" },
  });
  const { actions } = await alpha.agent.pendingActions.query();
  const claim = actions.find((a) => a.id === doneId)!;
  await alpha.agent.ack.mutate({ actionId: doneId, claimToken: claim.claimToken });
  await alpha.agent.reportResult.mutate({
    actionId: doneId,
    claimToken: claim.claimToken,
    status: "done",
    result: "shown; user pressed OK",
  });
  const { id: pendingId } = await admin.actions.queue.mutate({ machineId: "rs-beta", type: "reboot", data: {} });
  // Reports are committed in batches: wait until the live server's own view has the metrics.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const page = await admin.fleet.list.query({ limit: 10, sort: "hostname" });
    if (page.machines.find((m) => m.machineId === "rs-alpha")?.metrics) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { org, tokens, doneId, pendingId };
}

/** A fresh server on the restored database shows the fleet, the history, and accepts the agents' tokens. */
async function expectRestored(server: TestServer, fleet: Fleet): Promise<void> {
  const admin = server.client(fleet.org.adminKey);
  const page = await admin.fleet.list.query({ limit: 10, sort: "hostname" });
  expect(page.total).toBe(3);
  expect(page.machines.map((m) => [m.machineId, m.hostname])).toEqual([
    ["rs-alpha", "rs-alpha.lan"],
    ["rs-beta", "rs-beta.lan"],
    ["rs-gamma", "rs-gamma.lan"],
  ]);
  expect(page.machines[0]!.metrics).toMatchObject({ cpuPercent: 12, memoryPercent: 34, diskPercent: 56 });
  expect(page.machines[1]!.pendingCount).toBe(1);

  const history = await admin.actions.list.query({ limit: 10 });
  expect(history.items.map((a) => [a.id, a.status]).sort()).toEqual(
    [
      [fleet.doneId, "done"],
      [fleet.pendingId, "pending"],
    ].sort(),
  );
  const done = await admin.actions.get.query({ id: fleet.doneId });
  expect(done.result).toBe("shown; user pressed OK");
  expect(done.events.map((e) => e.status)).toEqual(["pending", "delivered", "executing", "done"]);

  // The agents carry on with the tokens they hold: the waiting reboot is delivered, reports are taken.
  const beta = server.client(fleet.tokens["rs-beta"]);
  const { actions } = await beta.agent.pendingActions.query();
  expect(actions.map((a) => a.id)).toEqual([fleet.pendingId]);
  expect(await server.client(fleet.tokens["rs-gamma"]).agent.report.mutate({ metrics })).toEqual({
    nextReportInSeconds: 10,
  });
  // The owner signs in with the password they had.
  const signIn = await server.client().auth.login.mutate({ email: fleet.org.ownerEmail, password: fleet.org.password });
  expect(signIn.user.email).toBe(fleet.org.ownerEmail);
}

// Each test runs the CLI as a child process and starts two servers: over 60 s on a loaded two-core
// machine (timed out here at load 19).
describe("restore on SQLite", { timeout: 180_000 }, () => {
  it("a backup of a live server, copied into place, starts a fresh server that shows the fleet and its history", async () => {
    const live = await startTestServer({ sweep: false });
    let fleet: Fleet;
    const backup = path.join(dir, "sqlite", "fleet-backup.db");
    try {
      fleet = await populate(live);
      const r = await cli({ DASHFLEET_DB: live.dbFile }, "backup", "--to", backup, "--json");
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ file: backup, integrity: "ok" });
    } finally {
      await live.stop();
    }
    // The restore documented in docs/deploy.md: the copy becomes the database file of a new server.
    const restoredDir = fs.mkdtempSync(path.join(dir, "sqlite-restored-"));
    const restored = path.join(restoredDir, "fleet.db");
    fs.copyFileSync(backup, restored);
    const fresh = await startTestServer({ sweep: false, dbFile: restored });
    try {
      await expectRestored(fresh, fleet);
    } finally {
      await fresh.stop();
    }
  });
});

describe("restore on PostgreSQL", { timeout: 180_000 }, () => {
  let cluster: PgCluster;
  beforeAll(async () => {
    cluster = await startPgCluster();
  }, 180_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  /** Applied migrations with their times: unchanged when a start applies nothing. */
  async function appliedMigrations(url: string): Promise<{ name: string; applied_at: Date }[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const r = await client.query<{ name: string; applied_at: Date }>(
        `SELECT name, applied_at FROM "_dashfleet_migrations" ORDER BY name`,
      );
      return r.rows;
    } finally {
      await client.end();
    }
  }

  it("pg_dump of the live database, pg_restore into a new one: a fresh server shows the fleet without migrating", async () => {
    const liveUrl = await cluster.createDatabase("dashfleet_live");
    const live = await startTestServer({ sweep: false, env: { DASHFLEET_DATABASE_URL: liveUrl } });
    let fleet: Fleet;
    const dump = path.join(dir, "pg", "dashfleet.dump");
    try {
      fleet = await populate(live);
      // Online: the server keeps running while the CLI runs pg_dump -Fc.
      const r = await cli({ DASHFLEET_DATABASE_URL: liveUrl }, "backup", "--to", dump, "--json");
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        file: dump,
        format: "custom",
        tool: expect.stringMatching(/^pg_dump \(PostgreSQL\) \d+/) as unknown,
      });
      expect(fs.readFileSync(dump).subarray(0, 5).toString("latin1")).toBe("PGDMP");
      expect(fs.statSync(dump).mode & 0o777).toBe(0o600);
    } finally {
      await live.stop();
    }

    // The restore documented in docs/deploy.md: a new empty database, pg_restore --no-owner into it.
    const restoredUrl = await cluster.createDatabase("dashfleet_restored");
    execFileSync(path.join(PG_BIN, "pg_restore"), ["--no-owner", "--exit-on-error", `--dbname=${restoredUrl}`, dump], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const before = await appliedMigrations(restoredUrl);
    expect(before.length).toBeGreaterThan(0);
    const fresh = await startTestServer({ sweep: false, env: { DASHFLEET_DATABASE_URL: restoredUrl } });
    try {
      // Migrations on start were a no-op: the same migrations, applied at the same times.
      expect(await appliedMigrations(restoredUrl)).toEqual(before);
      await expectRestored(fresh, fleet);
    } finally {
      await fresh.stop();
    }
  });

  it("without pg_dump on PATH, backup fails saying how to install it and the command to run by hand", async () => {
    const url = await cluster.createDatabase("dashfleet_nodump");
    const emptyPath = fs.mkdtempSync(path.join(dir, "empty-path-"));
    const target = path.join(dir, "nodump", "x.dump");
    const r = await cli({ DASHFLEET_DATABASE_URL: url, PATH: emptyPath }, "backup", "--to", target);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pg_dump was not found on PATH/);
    expect(r.stderr).toMatch(/apt-get install postgresql-client/);
    expect(r.stderr).toContain("pg_dump -Fc --dbname=");
    expect(fs.existsSync(target)).toBe(false);
    expect(fs.existsSync(`${target}.partial`)).toBe(false);
  });
});

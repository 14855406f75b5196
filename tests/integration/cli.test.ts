// The admin CLI run as a child process (`node --import tsx server/cli.ts ...`, what `npx tsx` does
// without npx's start-up cost) against a temporary database
// that a running server also uses: created orgs, users and keys work over the API, revoked keys stop,
// every change is audited as "cli", bad input exits non-zero with a clear message, and an online
// backup is a consistent copy that passes PRAGMA integrity_check.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../../server/app.ts";
import { loadConfig } from "../../server/config.ts";
import { errorCode, trpcClient } from "../helpers/server.ts";
import { signIn } from "../helpers/session.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
let dir: string;
let dbFile: string;
let server: RunningServer;
const client = (token?: string) => trpcClient(server.url, token ? { authorization: `Bearer ${token}` } : {});

type Run = { code: number; stdout: string; stderr: string };
function cli(...args: string[]): Promise<Run> {
  return cliOn(dbFile, ...args);
}
function cliOn(file: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "server/cli.ts", ...args],
      { cwd: root, env: { ...process.env, DASHFLEET_DB: file } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

let org: { orgId: string; adminKey: string; agentKey: string };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-cli-"));
  dbFile = path.join(dir, "fleet.db");
  // The CLI creates and migrates a new database when told to (--create); the server then opens it.
  const created = await cli("org", "create", "--name", "CLI Org", "--json", "--create");
  expect(created.code).toBe(0);
  org = JSON.parse(created.stdout) as typeof org;
  const config = loadConfig({
    DASHFLEET_DB: dbFile,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    DASHFLEET_DEMO: "false",
    DASHFLEET_AGENT_PER_MINUTE: "100000",
  });
  server = await startServer({ config, log: pino({ level: "silent" }), sweep: false });
});
afterAll(async () => {
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("org create", () => {
  it("--json prints exactly {orgId, adminKey, agentKey}, and the keys work", async () => {
    expect(Object.keys(org).sort()).toEqual(["adminKey", "agentKey", "orgId"]);
    expect(org.adminKey).toMatch(/^dfk_/);
    expect((await client(org.adminKey).orgs.current.query()).name).toBe("CLI Org");
    const enrolled = await client(org.agentKey).agent.enroll.mutate({
      machineId: "cli-m1",
      hostname: "h",
      os: "Linux",
      agentVersion: "1",
    });
    expect(enrolled.machineToken).toMatch(/^dfm_/);
  });

  it("without --name exits 2 naming the option", async () => {
    const r = await cli("org", "create");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--name is required");
    expect(r.stdout).toBe("");
  });
});

describe("user create", () => {
  it("creates a user who can sign in; audited as cli", async () => {
    const r = await cli(
      "user",
      "create",
      "--org",
      org.orgId,
      "--email",
      "Boss@CLI.test",
      "--password",
      "long enough 1",
      "--role",
      "owner",
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("boss@cli.test");
    const s = await signIn(
      { url: server.url, cookieClient: (cookie) => trpcClient(server.url, { cookie }) },
      "boss@cli.test",
      "long enough 1",
    );
    expect(await s.client.auth.me.query()).toMatchObject({ role: "owner", orgId: org.orgId, orgName: "CLI Org" });
    const audit = (await s.client.orgs.audit.query()).items;
    expect(audit.filter((a) => a.actor === "cli").map((a) => a.action)).toEqual(
      expect.arrayContaining(["orgs.create", "keys.create", "users.create"]),
    );
  });

  it("refuses bad input with exit 2 and a message naming the option; a taken email exits 1", async () => {
    const [badRole, shortPw, noOrg, taken, unknownOption, unknownCommand] = await Promise.all([
      cli(
        "user",
        "create",
        "--org",
        org.orgId,
        "--email",
        "x@cli.test",
        "--password",
        "long enough 1",
        "--role",
        "god",
      ),
      cli("user", "create", "--org", org.orgId, "--email", "x@cli.test", "--password", "short", "--role", "viewer"),
      cli(
        "user",
        "create",
        "--org",
        "no-such-org",
        "--email",
        "x@cli.test",
        "--password",
        "long enough 1",
        "--role",
        "viewer",
      ),
      cli(
        "user",
        "create",
        "--org",
        org.orgId,
        "--email",
        "boss@cli.test",
        "--password",
        "long enough 1",
        "--role",
        "viewer",
      ),
      cli("user", "create", "--org", org.orgId, "--colour", "red"),
      cli("machine", "delete"),
    ]);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/--role:/);
    expect(shortPw.code).toBe(2);
    expect(shortPw.stderr).toContain("--password: password needs at least 8 characters");
    expect(noOrg.code).toBe(2);
    expect(noOrg.stderr).toContain('no organization with id "no-such-org"');
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain("already exists");
    expect(unknownOption.code).toBe(2);
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain('Unknown command "machine delete"');
  });
});

describe("key create and key revoke", () => {
  it("creates a key shown once; revoking it (by --id or by the full --key) stops it; a prefix is refused", async () => {
    const made = await cli("key", "create", "--org", org.orgId, "--scope", "admin", "--name", "ops", "--json");
    expect(made.code).toBe(0);
    const key = JSON.parse(made.stdout) as { id: string; key: string; name: string; scopes: string[] };
    expect(key).toMatchObject({ name: "ops", scopes: ["admin"] });
    const list = await client(org.adminKey).keys.list.query();
    expect(list.keys.find((k) => k.id === key.id)).toMatchObject({ createdBy: "cli", prefix: key.key.slice(0, 10) });

    const byPrefix = await cli("key", "revoke", "--key", key.key.slice(0, 10));
    expect(byPrefix.code).toBe(2);
    expect(byPrefix.stderr).toContain("give the whole key");
    expect((await client(key.key).orgs.current.query()).name).toBe("CLI Org");
    // The key is used now: the running server has it cached, and still stops it within a second.
    const byKey = await cli("key", "revoke", "--key", key.key);
    expect(byKey.code).toBe(0);
    expect(byKey.stdout).toContain(key.id);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await errorCode(client(key.key).orgs.current.query())).toBe("UNAUTHORIZED");

    const human = await cli("key", "create", "--org", org.orgId, "--scope", "agent");
    expect(human.code).toBe(0);
    const secret = /dfk_[\w-]+/.exec(human.stdout)?.[0];
    const id = /with id (\S+)\./.exec(human.stdout)?.[1];
    expect(secret).toBeTruthy();
    const revoked = await cli("key", "revoke", "--id", id!);
    expect(revoked.code).toBe(0);
    expect(
      await errorCode(
        client(secret).agent.enroll.mutate({ machineId: "cli-m2", hostname: "h", os: "Linux", agentVersion: "1" }),
      ),
    ).toBe("UNAUTHORIZED");
    const audit = (await client(org.adminKey).orgs.audit.query({ limit: 5 })).items;
    expect(audit.filter((a) => a.action === "keys.revoke").map((a) => [a.actor, a.target])).toEqual([
      ["cli", id],
      ["cli", key.id],
    ]);
  });

  it("refuses a bad scope, an unknown key and giving both --id and --key", async () => {
    const [scope, unknown, both] = await Promise.all([
      cli("key", "create", "--org", org.orgId, "--scope", "root"),
      cli("key", "revoke", "--id", "no-such-key"),
      cli("key", "revoke", "--id", "a", "--key", "dfk_abc"),
    ]);
    expect(scope.code).toBe(2);
    expect(scope.stderr).toMatch(/--scope:/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("No such key");
    expect(both.code).toBe(2);
  });
});

describe("list commands, labels and password reset", () => {
  it("org list, user list and key list print tables or --json, never a secret", async () => {
    const orgs = await cli("org", "list", "--json");
    expect(orgs.code).toBe(0);
    expect((JSON.parse(orgs.stdout) as { organizations: { id: string; name: string }[] }).organizations).toContainEqual(
      expect.objectContaining({ id: org.orgId, name: "CLI Org" }),
    );
    const users = await cli("user", "list", "--org", org.orgId, "--json");
    expect((JSON.parse(users.stdout) as { users: { email: string }[] }).users.map((u) => u.email)).toContain(
      "boss@cli.test",
    );
    const keys = await cli("key", "list", "--org", org.orgId, "--json");
    const listed = (JSON.parse(keys.stdout) as { keys: { scopes: string[]; prefix: string }[] }).keys;
    expect(listed.some((k) => k.scopes.includes("agent"))).toBe(true);
    const human = await cli("key", "list", "--org", org.orgId);
    expect(human.stdout).toMatch(/^ID\s+NAME\s+PREFIX/);
    for (const out of [keys.stdout, human.stdout]) {
      expect(out).not.toContain(org.adminKey);
      expect(out).not.toContain(org.agentKey);
    }
    const noOrg = await cli("user", "list");
    expect(noOrg.code).toBe(2);
    expect(noOrg.stderr).toContain("--org is required");
  });

  it("machine label sets labels and a display name (validated, audited); machine list filters by them", async () => {
    const labelled = await cli(
      "machine",
      "label",
      "--org",
      org.orgId,
      "--machine",
      "cli-m1",
      "--labels",
      "Web, db",
      "--display-name",
      "Build box",
      "--json",
    );
    expect(labelled.code).toBe(0);
    expect(JSON.parse(labelled.stdout)).toMatchObject({
      machineId: "cli-m1",
      name: "Build box",
      labels: ["db", "web"],
    });
    const list = await cli("machine", "list", "--org", org.orgId, "--label", "web", "--json");
    const page = JSON.parse(list.stdout) as {
      machines: { machineId: string }[];
      total: number;
      nextCursor: string | null;
    };
    expect(page).toMatchObject({ total: 1, nextCursor: null });
    expect(page.machines.map((m) => m.machineId)).toEqual(["cli-m1"]);
    const human = await cli("machine", "list", "--org", org.orgId, "--search", "build");
    expect(human.stdout).toContain("Build box · cli-m1");
    expect(human.stdout).toContain("1 machines");
    expect((await client(org.adminKey).fleet.machine.query({ machineId: "cli-m1" })).machine.labels).toEqual([
      "db",
      "web",
    ]);
    const audit = await client(org.adminKey).orgs.audit.query({ actor: "cli", action: "machines.update" });
    expect(audit.items[0]).toMatchObject({ target: "cli-m1" });

    const [bad, none, missing] = await Promise.all([
      cli("machine", "label", "--org", org.orgId, "--machine", "cli-m1", "--labels", "no spaces allowed"),
      cli("machine", "label", "--org", org.orgId, "--machine", "cli-m1"),
      cli("machine", "label", "--org", org.orgId, "--machine", "ghost", "--labels", "x"),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--labels:/);
    expect(none.code).toBe(2);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No machine "ghost"');
  });

  it("user reset-password: the new password works, the old one and existing sessions do not", async () => {
    const helper = { url: server.url, cookieClient: (cookie: string) => trpcClient(server.url, { cookie }) };
    const before = await signIn(helper, "boss@cli.test", "long enough 1");
    const r = await cli(
      "user",
      "reset-password",
      "--org",
      org.orgId,
      "--email",
      "boss@cli.test",
      "--password",
      "a new secret 2",
      "--json",
    );
    expect(r.code).toBe(0);
    const reset = JSON.parse(r.stdout) as { email: string; sessionsEnded: number };
    expect(reset.email).toBe("boss@cli.test");
    expect(reset.sessionsEnded).toBeGreaterThanOrEqual(1);
    expect(await errorCode(before.client.orgs.current.query())).toBe("UNAUTHORIZED");
    await expect(signIn(helper, "boss@cli.test", "long enough 1")).rejects.toThrow();
    const after = await signIn(helper, "boss@cli.test", "a new secret 2");
    expect((await after.client.auth.me.query())?.email).toBe("boss@cli.test");
    const unknown = await cli(
      "user",
      "reset-password",
      "--org",
      org.orgId,
      "--email",
      "nobody@cli.test",
      "--password",
      "long enough 1",
    );
    expect(unknown.code).toBe(1);
  });

  it("a DASHFLEET_DB that does not exist is an error unless --create", async () => {
    const missing = path.join(dir, "typo", "fleet.db");
    const r = await cliOn(missing, "org", "list");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("does not exist; pass --create");
    expect(fs.existsSync(missing)).toBe(false);
    const created = await cliOn(missing, "org", "list", "--create", "--json");
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toEqual({ organizations: [] });
    expect(fs.existsSync(missing)).toBe(true);
  });
});

describe("backup", () => {
  it("copies the live database consistently; the copy passes integrity_check and holds the data", async () => {
    // Keep the server writing while the backup runs.
    const token = (
      await client(org.agentKey).agent.enroll.mutate({
        machineId: "cli-busy",
        hostname: "busy",
        os: "Linux",
        agentVersion: "1",
      })
    ).machineToken;
    let writing = true;
    let reports = 0;
    const writer = (async () => {
      while (writing) {
        await client(token).agent.report.mutate({
          metrics: { cpuPercent: 1, memoryPercent: 2, diskPercent: 3, uptimeSeconds: 4 },
        });
        reports++;
      }
    })();
    const target = path.join(dir, "backups", "copy.db");
    const r = await cli("backup", "--to", target);
    writing = false;
    await writer;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("integrity_check: ok");
    expect(reports).toBeGreaterThan(0);

    const copy = new Database(target, { readonly: true });
    try {
      expect(copy.pragma("integrity_check", { simple: true })).toBe("ok");
      expect(copy.pragma("journal_mode", { simple: true })).toBe("delete");
      const orgRow = copy.prepare("SELECT name FROM Organization WHERE id = ?").get(org.orgId) as
        { name: string } | undefined;
      expect(orgRow?.name).toBe("CLI Org");
      const users = copy.prepare("SELECT email FROM User").all() as { email: string }[];
      expect(users.map((u) => u.email)).toContain("boss@cli.test");
    } finally {
      copy.close();
    }
    expect(fs.existsSync(`${target}.partial`)).toBe(false);
  });

  it("will not overwrite an existing file", async () => {
    const target = path.join(dir, "exists.db");
    fs.writeFileSync(target, "keep me");
    const r = await cli("backup", "--to", target);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("already exists");
    expect(fs.readFileSync(target, "utf8")).toBe("keep me");
  });
});

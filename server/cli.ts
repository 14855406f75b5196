// Admin command line: `npm run cli -- <command>`. Creates organizations, users and keys, revokes
// keys, and takes online backups (SQLite's backup API; on PostgreSQL, pg_dump -Fc). Uses the same
// configuration (DASHFLEET_DB or DASHFLEET_DATABASE_URL), migrations and services as the server;
// every change is audited with actor "cli".
//
//   org create  --name NAME [--legacy-agents] [--json]     → {"orgId","adminKey","agentKey"}
//   org update  --id ORG [--legacy-agents on|off] [--machine-quota N|none] [--json]
//   machine retire|approve --org ORG --machine ID [--json]
//   machine enroll-token --org ORG --machine ID [--expires SECONDS] [--json]
//   user create --org ID --email E --password P --role owner|admin|viewer [--json]
//   key create  --org ID --scope admin|agent [--scope ...] [--name N] [--json]
//   key revoke  --id ID | --key FULL_KEY [--json]
//   backup      --to FILE [--json]
//   org list; user list --org; key list --org; user reset-password; machine list; machine label
//   (server/cliFleet.ts). A DASHFLEET_DB that does not exist is an error unless --create is given.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import Database from "better-sqlite3";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { systemClock } from "./clock.ts";
import { loadConfig } from "./config.ts";
import { Email, EnrollTokenInput, KeyScope, MachineId, Password, Role } from "./contract/index.ts";
import { databaseTarget, migrate, openDb, type Db } from "./db.ts";
import { createApiKey, createOrganization, createUser } from "./services/accounts.ts";
import { hashSecret, KEY_PREFIX } from "./services/crypto.ts";
import { approveReenrollment, issueEnrollToken, retireMachine } from "./services/machineAdmin.ts";
import { revokeKey } from "./services/keys.ts";
import { setLegacyAgents, setMachineQuota } from "./services/orgs.ts";
import { parseFleetJob, runFleetJob, type FleetJob } from "./cliFleet.ts";

const ACTOR = "cli";
const LEGACY_WARNING =
  "  warning: legacy agent mode lets anyone holding the agent key poll, acknowledge and report for ANY machine id of this organization";
/** Names of organizations and keys. */
const NameSchema = z.string().trim().min(1, "name is required").max(100);

const USAGE = `Usage: npm run cli -- <command> [options]

  org create  --name NAME [--legacy-agents] [--json]
  org update  --id ORG_ID [--legacy-agents on|off] [--machine-quota N|none] [--json]
  machine retire       --org ORG_ID --machine MACHINE_ID [--json]
  machine approve      --org ORG_ID --machine MACHINE_ID [--json]
  machine enroll-token --org ORG_ID --machine MACHINE_ID [--expires SECONDS] [--json]
  user create --org ORG_ID --email EMAIL --password PASSWORD --role owner|admin|viewer [--json]
  key create  --org ORG_ID --scope admin|agent [--scope ...] [--name NAME] [--json]
  key revoke  --id KEY_ID | --key FULL_KEY [--json]
  backup      --to FILE [--json]       (SQLite: an online copy; PostgreSQL: pg_dump -Fc from PATH)
  org list [--json]
  user list   --org ORG_ID [--json]
  user reset-password --org ORG_ID --email EMAIL --password NEW_PASSWORD [--json]
  key list    --org ORG_ID [--json]
  machine list  --org ORG_ID [--search TEXT] [--label L ...] [--limit N] [--cursor C] [--json]
  machine label --org ORG_ID --machine MACHINE_ID [--labels a,b] [--display-name NAME] [--json]

The database is DASHFLEET_DATABASE_URL (PostgreSQL) when set, else DASHFLEET_DB (default data/fleet.db);
migrations run first. A database file that does not exist is an error (a mistyped path would silently
start an empty one) unless --create is given.`;

/** A mistake in the command line: printed with the usage, exit code 2. */
class UsageError extends Error {}

const options = {
  name: { type: "string" },
  json: { type: "boolean", default: false },
  org: { type: "string" },
  email: { type: "string" },
  password: { type: "string" },
  role: { type: "string" },
  scope: { type: "string", multiple: true },
  id: { type: "string" },
  key: { type: "string" },
  to: { type: "string" },
  "legacy-agents": { type: "string" },
  "machine-quota": { type: "string" },
  machine: { type: "string" },
  expires: { type: "string" },
  create: { type: "boolean", default: false },
  labels: { type: "string" },
  "display-name": { type: "string" },
  search: { type: "string" },
  label: { type: "string", multiple: true },
  limit: { type: "string" },
  cursor: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>["values"];

function required(
  values: Values,
  name: "name" | "org" | "email" | "password" | "role" | "id" | "key" | "to" | "machine" | "legacy-agents",
): string {
  const v = values[name];
  if (typeof v !== "string" || v.trim() === "") throw new UsageError(`--${name} is required`);
  return v;
}

function only(values: Values, allowed: string[]): void {
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined || k === "json" || k === "help" || k === "create" || allowed.includes(k)) continue;
    throw new UsageError(`--${k} does not apply to this command`);
  }
}

function check<T>(
  schema: {
    safeParse: (
      v: unknown,
    ) => { success: true; data: T } | { success: false; error: { issues: { message: string }[] } };
  },
  value: unknown,
  flag: string,
): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new UsageError(`--${flag}: ${r.error.issues[0]?.message ?? "invalid"}`);
  return r.data;
}

async function requireOrg(db: Db, orgId: string): Promise<void> {
  const org = await db.organization.findUnique({ where: { id: orgId }, select: { id: true } });
  if (!org) throw new UsageError(`--org: no organization with id "${orgId}"`);
}

/**
 * Finds the key a full secret names. A prefix is refused: prefixes are short and shown in lists, so
 * one could name another organization's key (use --id for a key whose secret is lost).
 */
async function keyIdOf(db: Db, key: string): Promise<string> {
  if (!key.startsWith(KEY_PREFIX)) throw new UsageError(`--key: keys start with "${KEY_PREFIX}"`);
  if (key.length < 40)
    throw new UsageError(
      "--key: give the whole key, not a prefix (a prefix could match another key); or use --id KEY_ID from `key list`",
    );
  const k = await db.apiKey.findUnique({ where: { keyHash: hashSecret(key) }, select: { id: true } });
  if (!k) throw new UsageError("--key: no such key");
  return k.id;
}

/**
 * Online, consistent copy of the database: SQLite's backup API on a separate read connection (it
 * copies a snapshot while the server keeps writing), written beside the target and renamed into place
 * only after PRAGMA integrity_check on the copy says "ok". The copy is a single file (journal DELETE).
 */
async function backupDatabase(
  dbFile: string,
  target: string,
): Promise<{ file: string; bytes: number; integrity: string }> {
  const file = path.resolve(target);
  if (fs.existsSync(file)) throw new UsageError(`--to: ${file} already exists; choose a new file`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  fs.rmSync(partial, { force: true });
  // Created 0600 before any byte is copied: a backup holds every key and token hash.
  fs.writeFileSync(partial, "", { mode: 0o600 });
  const source = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    await source.backup(partial);
  } finally {
    source.close();
  }
  const copy = new Database(partial);
  let integrity: string;
  try {
    copy.pragma("journal_mode = DELETE");
    integrity = (copy.pragma("integrity_check") as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join("; ");
  } finally {
    copy.close();
  }
  if (integrity !== "ok") {
    fs.rmSync(partial, { force: true });
    throw new Error(`The copy failed PRAGMA integrity_check: ${integrity}`);
  }
  fs.chmodSync(partial, 0o600);
  fs.renameSync(partial, file);
  return { file, bytes: fs.statSync(file).size, integrity };
}

/**
 * PostgreSQL: `pg_dump -Fc` (PostgreSQL's own online dump: one consistent snapshot while the server
 * keeps writing), run from PATH, into a 0600 file beside the target, renamed into place once pg_dump
 * succeeded and the file starts with the custom format's "PGDMP" signature. The password travels in
 * PGPASSWORD, not on pg_dump's command line (which `ps` shows to every local user).
 */
async function dumpPostgres(
  databaseUrl: string,
  target: string,
): Promise<{ file: string; bytes: number; format: "custom"; tool: string }> {
  const file = path.resolve(target);
  if (fs.existsSync(file)) throw new UsageError(`--to: ${file} already exists; choose a new file`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  fs.rmSync(partial, { force: true });
  fs.writeFileSync(partial, "", { mode: 0o600 });
  const url = new URL(databaseUrl);
  const password = decodeURIComponent(url.password);
  url.password = "";
  const env = { ...process.env, ...(password ? { PGPASSWORD: password } : {}) };
  const run = promisify(execFile);
  try {
    const { stdout: version } = await run("pg_dump", ["--version"], { env });
    await run("pg_dump", ["-Fc", "--no-password", `--dbname=${url.href}`, `--file=${partial}`], {
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
    const head = Buffer.alloc(5);
    const fd = fs.openSync(partial, "r");
    try {
      fs.readSync(fd, head, 0, 5, 0);
    } finally {
      fs.closeSync(fd);
    }
    if (head.toString("latin1") !== "PGDMP") throw new Error("pg_dump wrote no custom-format archive");
    fs.renameSync(partial, file);
    return { file, bytes: fs.statSync(file).size, format: "custom", tool: version.trim() };
  } catch (err) {
    fs.rmSync(partial, { force: true });
    if (err instanceof Error && "code" in err && err.code === "ENOENT")
      throw new Error(
        "pg_dump was not found on PATH. Install PostgreSQL's client tools (Debian: apt-get install postgresql-client, " +
          "a version at least the server's), or dump by hand: " +
          'PGPASSWORD=… pg_dump -Fc --dbname="postgres://user@host:5432/dbname" --file=FILE (docs/deploy.md, "Backups")',
      );
    const stderr = (err as { stderr?: unknown }).stderr;
    throw new Error(`pg_dump failed: ${typeof stderr === "string" && stderr.trim() ? stderr.trim() : String(err)}`);
  }
}

/** A command with its options checked: nothing touches the database before this succeeds. */
type Job =
  | { kind: "org create"; name: string; legacyAgents: boolean }
  | { kind: "org update"; orgId: string; legacyAgents: boolean | null; machineQuota: number | null | undefined }
  | { kind: "machine retire" | "machine approve"; orgId: string; machineId: string }
  | { kind: "machine enroll-token"; orgId: string; machineId: string; expiresInSeconds: number }
  | { kind: "user create"; orgId: string; email: string; password: string; role: Role }
  | { kind: "key create"; orgId: string; name: string; scopes: KeyScope[] }
  | { kind: "key revoke"; id: string | undefined; key: string | undefined }
  | { kind: "backup"; to: string }
  | FleetJob;

function parseJob(command: string, values: Values): Job {
  switch (command) {
    case "org create":
      only(values, ["name", "legacy-agents"]);
      return {
        kind: command,
        name: check(NameSchema, required(values, "name"), "name"),
        legacyAgents: onOff(values, false),
      };
    case "org update":
      only(values, ["id", "legacy-agents", "machine-quota"]);
      if (values["legacy-agents"] === undefined && values["machine-quota"] === undefined)
        throw new UsageError("give --legacy-agents on|off and/or --machine-quota N|none");
      return {
        kind: command,
        orgId: required(values, "id"),
        legacyAgents: values["legacy-agents"] === undefined ? null : onOff(values, null),
        machineQuota: quotaOf(values["machine-quota"]),
      };
    case "machine retire":
    case "machine approve":
      only(values, ["org", "machine"]);
      return {
        kind: command,
        orgId: required(values, "org"),
        machineId: check(MachineId, required(values, "machine"), "machine"),
      };
    case "machine enroll-token":
      only(values, ["org", "machine", "expires"]);
      return {
        kind: command,
        orgId: required(values, "org"),
        machineId: check(MachineId, required(values, "machine"), "machine"),
        expiresInSeconds: check(
          EnrollTokenInput.shape.expiresInSeconds,
          values.expires === undefined ? undefined : Number(values.expires),
          "expires",
        ),
      };
    case "user create":
      only(values, ["org", "email", "password", "role"]);
      return {
        kind: command,
        orgId: required(values, "org"),
        email: check(Email, required(values, "email"), "email"),
        password: check(Password, required(values, "password"), "password"),
        role: check(Role, required(values, "role"), "role"),
      };
    case "key create": {
      only(values, ["org", "scope", "name"]);
      const orgId = required(values, "org");
      if (!values.scope?.length) throw new UsageError("--scope is required (admin or agent)");
      const scopes = values.scope.map((s) => check(KeyScope, s, "scope"));
      const name =
        values.name === undefined
          ? `${[...new Set(scopes)].sort().join("+")} (cli)`
          : check(NameSchema, values.name, "name");
      return { kind: command, orgId, name, scopes };
    }
    case "key revoke":
      only(values, ["id", "key"]);
      if ((values.id === undefined) === (values.key === undefined))
        throw new UsageError("give exactly one of --id or --key");
      return { kind: command, id: values.id, key: values.key };
    case "backup":
      only(values, ["to"]);
      return { kind: command, to: required(values, "to") };
    default: {
      const fleet = parseFleetJob(command, values, {
        required: (name) => required(values, name),
        only: (allowed) => only(values, allowed),
        check: (schema, value, flag) => check(schema, value, flag),
        usage: (m) => new UsageError(m),
      });
      if (fleet) return fleet;
      throw new UsageError(`Unknown command "${command}"`);
    }
  }
}

/** --machine-quota N (machines, 0 or more) or "none" (back to DASHFLEET_MACHINE_QUOTA); undefined: not given. */
function quotaOf(v: string | undefined): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === "none") return null;
  if (!/^\d{1,9}$/.test(v)) throw new UsageError(`--machine-quota: give a number of machines or "none" (not "${v}")`);
  return Number(v);
}

/** --legacy-agents on|off (a bare --legacy-agents means on); `fallback` null: the flag is required. */
function onOff(values: Values, fallback: boolean | null): boolean {
  const v = values["legacy-agents"];
  if (v === undefined) {
    if (fallback === null) throw new UsageError("--legacy-agents is required (on or off)");
    return fallback;
  }
  if (v === "on") return true;
  if (v === "off") return false;
  throw new UsageError(`--legacy-agents: give on or off (not "${v}")`);
}

async function run(rawArgv: string[]): Promise<void> {
  // A bare `--legacy-agents` (org create) means on.
  const argv = rawArgv.map((a, i) =>
    a === "--legacy-agents" && !["on", "off"].includes(rawArgv[i + 1] ?? "") ? "--legacy-agents=on" : a,
  );
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  if (values.help || positionals.length === 0) {
    console.log(USAGE);
    return;
  }
  const job = parseJob(positionals.join(" "), values);
  const out = (human: string, data: unknown) => console.log(values.json ? JSON.stringify(data) : human);

  const config = loadConfig();
  if (!config.databaseUrl && !fs.existsSync(config.dbFile) && !values.create)
    throw new UsageError(`DASHFLEET_DB: ${config.dbFile} does not exist; pass --create to create a new database there`);
  await migrate(databaseTarget(config));

  if (job.kind === "backup" && config.databaseUrl) {
    const r = await dumpPostgres(config.databaseUrl, job.to);
    out(`Backup written to ${r.file} (${r.bytes} bytes) by ${r.tool}, pg_dump custom format (-Fc)`, r);
    return;
  }
  if (job.kind === "backup") {
    const r = await backupDatabase(config.dbFile, job.to);
    out(`Backup written to ${r.file} (${r.bytes} bytes); integrity_check: ${r.integrity}`, r);
    return;
  }

  const db = await openDb(databaseTarget(config));
  const clock = systemClock;
  try {
    switch (job.kind) {
      case "org create": {
        const org = await createOrganization(db, clock, { name: job.name, actor: ACTOR });
        if (job.legacyAgents) await setLegacyAgents(db, clock, { orgId: org.orgId, actor: ACTOR }, true);
        out(
          [
            `Organization ${org.orgId} created. Keys are shown once and stored hashed:`,
            `  admin key: ${org.adminKey}`,
            `  agent key: ${org.agentKey}`,
            ...(job.legacyAgents ? [LEGACY_WARNING] : []),
          ].join("\n"),
          {
            orgId: org.orgId,
            adminKey: org.adminKey,
            agentKey: org.agentKey,
            ...(job.legacyAgents ? { legacyAgents: true } : {}),
          },
        );
        break;
      }
      case "org update": {
        await requireOrg(db, job.orgId);
        const who = { orgId: job.orgId, actor: ACTOR };
        const lines: string[] = [];
        const data: Record<string, unknown> = { orgId: job.orgId };
        if (job.legacyAgents !== null) {
          const r = await setLegacyAgents(db, clock, who, job.legacyAgents);
          data.legacyAgents = r.legacyAgents;
          lines.push(
            `Legacy agent mode ${r.legacyAgents ? "on" : "off"} for ${r.orgId}; running servers apply it within a second.`,
          );
          if (r.legacyAgents) lines.push(LEGACY_WARNING);
        }
        if (job.machineQuota !== undefined) {
          const r = await setMachineQuota(db, clock, who, job.machineQuota);
          data.machineQuota = r.machineQuota;
          lines.push(
            `Machine quota of ${r.orgId}: ${r.machineQuota ?? "the server default (DASHFLEET_MACHINE_QUOTA)"}.`,
          );
        }
        out(lines.join("\n"), data);
        break;
      }
      case "machine retire": {
        await requireOrg(db, job.orgId);
        const r = await retireMachine(db, clock, { orgId: job.orgId, actor: ACTOR }, job.machineId);
        out(
          `Machine ${r.machineId} retired at ${r.retiredAt}: its token stops working within a second; ${r.cancelled} waiting action(s) cancelled.`,
          { machineId: r.machineId, retiredAt: r.retiredAt, cancelled: r.cancelled },
        );
        break;
      }
      case "machine approve": {
        await requireOrg(db, job.orgId);
        const r = await approveReenrollment(db, clock, { orgId: job.orgId, actor: ACTOR }, job.machineId);
        out(`Machine ${r.machineId} may re-enroll once with the agent key until ${r.approvedUntil}.`, r);
        break;
      }
      case "machine enroll-token": {
        await requireOrg(db, job.orgId);
        const r = await issueEnrollToken(db, clock, { orgId: job.orgId, actor: ACTOR }, job);
        out(
          `One-time enrollment token for ${r.machineId}, valid until ${r.expiresAt}. Shown once:\n${r.enrollToken}`,
          r,
        );
        break;
      }
      case "user create": {
        await requireOrg(db, job.orgId);
        const user = await createUser(db, clock, {
          orgId: job.orgId,
          email: job.email,
          password: job.password,
          role: job.role,
          actor: ACTOR,
        });
        out(`User ${user.email} (${user.role}) created with id ${user.id}`, {
          id: user.id,
          orgId: job.orgId,
          email: user.email,
          role: user.role,
        });
        break;
      }
      case "key create": {
        await requireOrg(db, job.orgId);
        const key = await createApiKey(db, clock, {
          orgId: job.orgId,
          name: job.name,
          scopes: job.scopes,
          actor: ACTOR,
        });
        out(`Key "${key.name}" (${key.scopes.join(", ")}) created with id ${key.id}. Shown once:\n${key.key}`, key);
        break;
      }
      case "key revoke": {
        const id = job.id ?? (await keyIdOf(db, job.key!));
        const key = await revokeKey(db, clock, { orgId: null, actor: ACTOR, role: null }, id);
        out(
          `Key ${key.id} "${key.name}" revoked at ${key.revokedAt}. Running servers stop accepting it within a second.`,
          key,
        );
        break;
      }
      default:
        await runFleetJob(
          {
            db,
            clock,
            reportIntervalSeconds: config.reportIntervalSeconds,
            requireOrg: (orgId) => requireOrg(db, orgId),
          },
          job,
          out,
        );
    }
  } finally {
    await db.$disconnect();
  }
}

try {
  await run(process.argv.slice(2));
} catch (err) {
  if (
    err instanceof UsageError ||
    (err instanceof TypeError && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS"))
  ) {
    console.error(`error: ${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else if (err instanceof TRPCError) {
    console.error(`error: ${err.message}`);
    process.exitCode = 1;
  } else {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

// Fault-injection helpers: the server as a child process (so it can be SIGKILLed and restarted on the
// same database), an organization created straight in the database, a simulated fleet of agents and
// admins that records which calls returned, and a direct SQLite reader for checks after the fact.
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { TRPCClientError } from "@trpc/client";
import { systemClock } from "../../server/clock.ts";
import type { ActionSpecInput } from "../../server/contract/index.ts";
import { migrate, openDb } from "../../server/db.ts";
import { createOrganization, createUser, type CreatedOrg } from "../../server/services/accounts.ts";
import { freePort } from "../../bench/proc.ts";
import { ROOT, spawnTsx, type NodeChild } from "./child.ts";
import { PASSWORD, trpcClient, type TRPCClient } from "./server.ts";

/** A free TCP port on loopback (bound then released): the bench's. */
export { freePort };

export type PreparedOrg = CreatedOrg & { ownerEmail: string; password: string; name: string };

/** Migrates `dbFile` and creates organizations in it (no server running), like the CLI would. */
export async function prepareDb(dbFile: string, names: string[] = ["Fault Org"]): Promise<PreparedOrg[]> {
  await migrate(dbFile);
  const db = await openDb(dbFile);
  try {
    const out: PreparedOrg[] = [];
    for (const name of names) {
      const ownerEmail = `owner-${name.toLowerCase().replace(/\W+/g, "-")}-${Date.now()}@example.test`;
      const org = await createOrganization(db, systemClock, {
        name,
        actor: "test",
        owner: { email: ownerEmail, password: PASSWORD },
      });
      out.push({ ...org, ownerEmail, password: PASSWORD, name });
    }
    return out;
  } finally {
    await db.$disconnect();
  }
}

/** Adds a user straight in the database. */
export async function addUserToDb(
  dbFile: string,
  orgId: string,
  email: string,
  role: "owner" | "admin" | "viewer",
): Promise<void> {
  const db = await openDb(dbFile);
  try {
    await createUser(db, systemClock, { orgId, email, password: PASSWORD, role, actor: "test" });
  } finally {
    await db.$disconnect();
  }
}

export type ServerProcess = Omit<NodeChild, "output"> & {
  url: string;
  port: number;
  /** Everything the process wrote to stderr (for failure messages). */
  stderr: () => string;
};

/** Default environment for child servers: no demo org, quiet logs, limits high enough for load. */
export function serverEnv(dbFile: string, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DASHFLEET_DB: dbFile,
    PORT: String(port),
    HOST: "127.0.0.1",
    DASHFLEET_DEMO: "false",
    LOG_LEVEL: "warn",
    DASHFLEET_AGENT_PER_MINUTE: "1000000",
    DASHFLEET_QUEUE_PER_MINUTE: "1000000",
    DASHFLEET_LOGIN_PER_MINUTE: "1000000",
    ...extra,
  };
}

/** Starts the server (`server/index.ts`, one process: see spawnTsx) and waits for /healthz. */
export async function spawnServer(
  dbFile: string,
  opts: { port?: number; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort());
  const { output, ...proc } = spawnTsx("server/index.ts", [], {
    env: serverEnv(dbFile, port, opts.env),
    stdout: process.env.DASHFLEET_SERVER_STDOUT ? "inherit" : "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let done = false;
  void proc.exited.then(() => (done = true));
  for (;;) {
    if (done) throw new Error(`server exited before it was ready:\n${output()}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`server did not start within the time limit:\n${output()}`);
    }
    await sleep(50);
  }
  return { ...proc, url, port, stderr: output };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `PRAGMA integrity_check` on a file no server holds open (after a kill). "ok" when sound. */
export function integrityCheck(dbFile: string): string {
  const db = new Database(dbFile);
  try {
    const rows = db.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join("; ");
  } finally {
    db.close();
  }
}

/** Reads rows straight from the SQLite file (read-only) for checks after the fact. */
export function readRows<T>(dbFile: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** True when the call failed because the server is gone (connection refused/reset), not with an answer. */
export function isTransport(err: unknown): boolean {
  if (err instanceof TRPCClientError) return err.data === undefined || err.data === null;
  return true;
}

/** The tRPC code of an answered error, or null for a transport failure. */
export function codeOf(err: unknown): string | null {
  if (err instanceof TRPCClientError && err.data) return String((err.data as { code?: string }).code ?? "UNKNOWN");
  return null;
}

/** What the simulated fleet saw return successfully: the ground truth to check the database against. */
export type Ledger = {
  /** action id → machine id, for every queue call that returned. */
  queued: Map<string, string>;
  /** action id → claim token, for every ack that returned "executing". */
  acked: Map<string, string>;
  /** action id → what was reported, for every reportResult that returned. */
  reported: Map<string, { status: "done" | "error"; result: string }>;
  /** action id → times the simulated agent "ran" it. Must never exceed 1. */
  executions: Map<string, number>;
  /** Deliveries of an action after its ack or its result had returned (must stay empty). */
  redelivered: string[];
  /** machine id → metric reports that returned. */
  metricReports: Map<string, number>;
  /** Calls that failed because the server was gone, and calls answered with an error. */
  transportErrors: number;
  answeredErrors: Map<string, number>;
};

export function newLedger(): Ledger {
  return {
    queued: new Map(),
    acked: new Map(),
    reported: new Map(),
    executions: new Map(),
    redelivered: [],
    metricReports: new Map(),
    transportErrors: 0,
    answeredErrors: new Map(),
  };
}

function noteError(ledger: Ledger, err: unknown): void {
  const code = codeOf(err);
  if (code === null) ledger.transportErrors += 1;
  else ledger.answeredErrors.set(code, (ledger.answeredErrors.get(code) ?? 0) + 1);
}

/**
 * A simulated agent with an in-memory journal that survives server restarts (as the real agent's
 * on-disk journal does): an acked action is run once, its result kept until a report returns.
 */
export class SimAgent {
  /** Actions acked and run whose result has not been confirmed yet (the journal). */
  readonly journal = new Map<string, { claimToken: string; status: "done" | "error"; result: string }>();
  /** Deliveries whose ack got no answer: retried with the same claim token (ack is idempotent). */
  readonly unsureAcks = new Map<string, string>();
  /** Cycles ended by a call that got no answer (server gone): a fleet with two servers fails over on it. */
  transportFailures = 0;

  constructor(
    readonly machineId: string,
    readonly token: string,
    private readonly ledger: Ledger,
  ) {}

  /** One cycle: report metrics, flush the journal, poll, ack, run, report. Errors end the cycle. */
  async cycle(client: TRPCClient): Promise<void> {
    const l = this.ledger;
    try {
      await client.agent.report.mutate({
        metrics: { cpuPercent: 12.5, memoryPercent: 40, diskPercent: 55, uptimeSeconds: 1000 },
      });
      l.metricReports.set(this.machineId, (l.metricReports.get(this.machineId) ?? 0) + 1);
      for (const [id, claimToken] of [...this.unsureAcks]) await this.#ackAndRun(client, id, claimToken);
      await this.#flush(client);
      const { actions } = await client.agent.pendingActions.query({});
      for (const a of actions) {
        if (l.acked.has(a.id) || l.reported.has(a.id)) l.redelivered.push(a.id);
        this.unsureAcks.set(a.id, a.claimToken);
        await this.#ackAndRun(client, a.id, a.claimToken);
      }
      await this.#flush(client);
    } catch (err) {
      noteError(l, err);
      if (codeOf(err) === null) this.transportFailures += 1;
    }
  }

  async #ackAndRun(client: TRPCClient, id: string, claimToken: string): Promise<void> {
    const l = this.ledger;
    try {
      await client.agent.ack.mutate({ actionId: id, claimToken });
    } catch (err) {
      // An answered refusal (stale token, cancelled): do not run. No answer: try the same ack again later.
      if (codeOf(err) === null) throw err;
      this.unsureAcks.delete(id);
      noteError(l, err);
      return;
    }
    this.unsureAcks.delete(id);
    if (this.journal.has(id) || l.reported.has(id)) return; // a repeated ack of something already run
    l.acked.set(id, claimToken);
    l.executions.set(id, (l.executions.get(id) ?? 0) + 1);
    const status = id.charCodeAt(0) % 5 === 0 ? "error" : "done";
    this.journal.set(id, { claimToken, status, result: `${status} on ${this.machineId} (${id.slice(0, 8)})` });
  }

  async #flush(client: TRPCClient): Promise<void> {
    for (const [id, r] of [...this.journal]) {
      await client.agent.reportResult.mutate({
        actionId: id,
        claimToken: r.claimToken,
        status: r.status,
        result: r.result,
      });
      this.journal.delete(id);
      this.ledger.reported.set(id, { status: r.status, result: r.result });
    }
  }
}

/**
 * Queues one action and records it if the call returned: mostly actions.queue, every 5th through the
 * original design's REST endpoint (when `rest` is given), every 11th as a queueBulk for two machines.
 */
export async function queueOne(
  client: TRPCClient,
  ledger: Ledger,
  machineId: string,
  n: number,
  rest?: { url: string; adminKey: string; otherMachineId: string },
): Promise<void> {
  try {
    const spec: ActionSpecInput =
      n % 7 === 0
        ? { type: "restart", data: {} }
        : { type: "message", data: { message: `message ${n} <b>&amp;</b> $(rm -rf /)` } };
    if (rest && n % 5 === 0) {
      const res = await fetch(`${rest.url}/api/actions/queue`, {
        method: "POST",
        headers: { authorization: `Bearer ${rest.adminKey}`, "content-type": "application/json" },
        body: JSON.stringify({ machine_id: machineId, action_type: spec.type, data: spec.data }),
      });
      const body = (await res.json()) as { action_id?: string };
      if (res.status === 201 && body.action_id) ledger.queued.set(body.action_id, machineId);
      else ledger.answeredErrors.set(`REST ${res.status}`, (ledger.answeredErrors.get(`REST ${res.status}`) ?? 0) + 1);
    } else if (rest && n % 11 === 0) {
      const machines = [machineId, rest.otherMachineId];
      const { ids } = await client.actions.queueBulk.mutate({ machineIds: machines, ...spec });
      ids.forEach((id, i) => ledger.queued.set(id, machines[i]!));
    } else {
      const { id } = await client.actions.queue.mutate({ machineId, ...spec });
      ledger.queued.set(id, machineId);
    }
  } catch (err) {
    noteError(ledger, err);
  }
}

/** Enrolls `count` machines through the API; returns their ids and tokens. */
export async function enrollFleet(
  url: string,
  agentKey: string,
  count: number,
  prefix = "sim",
): Promise<{ machineId: string; token: string }[]> {
  const c = trpcClient(url, { authorization: `Bearer ${agentKey}` });
  const out: { machineId: string; token: string }[] = [];
  for (let i = 0; i < count; i++) {
    const machineId = `${prefix}-${i}`;
    const r = await c.agent.enroll.mutate({
      machineId,
      hostname: `${prefix}-host-${i}`,
      os: "Linux sim",
      agentVersion: "0.0.0-sim",
    });
    out.push({ machineId, token: r.machineToken });
  }
  return out;
}

/** Runs admins and agents against `url` until `stop.stopped` is set. */
export async function runLoad(
  url: string,
  adminKey: string,
  agents: SimAgent[],
  ledger: Ledger,
  stop: { stopped: boolean },
  opts: { admins?: number; queueEvery?: number } = {},
): Promise<void> {
  const admin = trpcClient(url, { authorization: `Bearer ${adminKey}` });
  let n = ledger.queued.size;
  const adminLoop = async () => {
    while (!stop.stopped) {
      const a = agents[n % agents.length]!;
      n += 1;
      const other = agents[(n + 1) % agents.length]!;
      await queueOne(admin, ledger, a.machineId, n, { url, adminKey, otherMachineId: other.machineId });
      await sleep(opts.queueEvery ?? 5);
    }
  };
  const agentLoop = async (a: SimAgent) => {
    const client = trpcClient(url, { authorization: `Bearer ${a.token}` });
    while (!stop.stopped) {
      await a.cycle(client);
      await sleep(10 + Math.floor(Math.random() * 20));
    }
  };
  await Promise.all([...Array.from({ length: opts.admins ?? 2 }, adminLoop), ...agents.map(agentLoop)]);
}

/** Writes a figures file under tests/artifacts/ (gitignored) and prints it, for docs/reliability.md. */
export function recordFigures(name: string, figures: Record<string, unknown>): void {
  const dir = path.join(ROOT, "tests", "artifacts", "figures");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, `${name}.json`),
    JSON.stringify({ at: new Date().toISOString(), ...figures }, null, 2) + "\n",
  );
  console.log(`FIGURES ${name} ${JSON.stringify(figures)}`);
}

// Test helpers: a real DashFleet server on a free port with a temporary SQLite file, an organization
// with keys and users, and real tRPC clients.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import pino from "pino";
import { startServer, type RunningServer } from "../../server/app.ts";
import type { Clock } from "../../server/clock.ts";
import { loadConfig } from "../../server/config.ts";
import type { AppRouter } from "../../server/routers/_app.ts";
import { createOrganization, createUser, type CreatedOrg } from "../../server/services/accounts.ts";
import { pgTestDatabase } from "./pg.ts";

export type TestOrg = CreatedOrg & { ownerEmail: string; password: string };

export type TestServer = RunningServer & {
  dir: string;
  dbFile: string;
  /**
   * The environment that points another server at this one's database: {} on SQLite (pass `dbFile`),
   * the PostgreSQL URL under tests/pg.vitest.config.ts. Restart tests pass both.
   */
  databaseEnv: Record<string, string>;
  /** Creates another organization with an owner (password "correct horse 1"). */
  createOrg: (name?: string) => Promise<TestOrg>;
  /** Adds a user to an org. */
  addUser: (orgId: string, email: string, role: "owner" | "admin" | "viewer") => Promise<void>;
  /** A tRPC client sending `Authorization: Bearer token` (or nothing). */
  client: (token?: string) => TRPCClient;
  /** A tRPC client carrying a session cookie, as the dashboard does. */
  cookieClient: (cookie: string) => TRPCClient;
  stop: () => Promise<void>;
};

export type TRPCClient = ReturnType<typeof createTRPCClient<AppRouter>>;
export const PASSWORD = "correct horse 1";

let orgCounter = 0;

/** Starts a server. `env` overrides configuration variables (e.g. short leases). */
export async function startTestServer(
  opts: { env?: Record<string, string>; clock?: Clock; sweep?: boolean; /** Reuse a database (restart tests). */ dbFile?: string; /** Fixed port (restart tests). */ port?: number } = {},
): Promise<TestServer> {
  const dir = opts.dbFile ? path.dirname(opts.dbFile) : fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-test-"));
  const dbFile = opts.dbFile ?? path.join(dir, "fleet.db");
  const config = loadConfig({
    DASHFLEET_DB: dbFile,
    PORT: String(opts.port ?? 0),
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    DASHFLEET_DEMO: "false",
    // Under tests/pg.vitest.config.ts: a fresh PostgreSQL database per server instead of the file.
    ...(opts.dbFile ? {} : await pgTestDatabase()),
    ...opts.env,
  });
  const server = await startServer({ config, clock: opts.clock, log: pino({ level: "silent" }), sweep: opts.sweep });
  const { db, clock } = server.deps;
  const client = (token?: string) => trpcClient(server.url, token ? { authorization: `Bearer ${token}` } : {});
  return {
    ...server,
    dir,
    dbFile,
    databaseEnv: config.databaseUrl ? { DASHFLEET_DATABASE_URL: config.databaseUrl } : {},
    async createOrg(name?: string) {
      orgCounter += 1;
      const ownerEmail = `owner${orgCounter}-${Date.now()}@example.test`;
      const org = await createOrganization(db, clock, { name: name ?? `Org ${orgCounter}`, actor: "test", owner: { email: ownerEmail, password: PASSWORD } });
      return { ...org, ownerEmail, password: PASSWORD };
    },
    async addUser(orgId, email, role) {
      await createUser(db, clock, { orgId, email, password: PASSWORD, role, actor: "test" });
    },
    client,
    cookieClient: (cookie: string) => trpcClient(server.url, { cookie }),
    async stop() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A real tRPC client over HTTP with fixed headers. */
export function trpcClient(url: string, headers: Record<string, string>): TRPCClient {
  return createTRPCClient<AppRouter>({ links: [httpLink({ url: `${url}/trpc`, headers })] });
}

/** The tRPC error code of a failed call (e.g. "BAD_REQUEST"), or throws if it did not fail. */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TRPCClientError) return String((err.data as { code?: string } | undefined)?.code ?? "UNKNOWN");
    throw err;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** The error of a failed call, for message checks. */
export async function failure(p: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TRPCClientError) return err as TRPCClientError<AppRouter>;
    throw err;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** Enrolls a machine with an agent key; returns its machine token. */
export async function enroll(server: TestServer, agentKey: string, machineId: string, hostname = machineId): Promise<string> {
  const r = await server.client(agentKey).agent.enroll.mutate({ machineId, hostname, os: "Linux test", agentVersion: "0.0.0-test" });
  return r.machineToken;
}

/** Turns on an org's legacy agent mode (the original design's agent key + machine_id protocol). */
export async function enableLegacyAgents(server: TestServer, orgId: string): Promise<void> {
  const { setLegacyAgents } = await import("../../server/services/orgs.ts");
  await setLegacyAgents(server.deps.db, server.deps.clock, { orgId, actor: "test" }, true);
  server.deps.services.principals.apply({ kind: "org", target: orgId });
}

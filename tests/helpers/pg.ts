// Test helper: a throwaway PostgreSQL cluster (Debian's initdb + pg_ctl) in a temporary folder, on a
// free 127.0.0.1 port, owned by an unprivileged user, stopped and deleted afterwards. Nothing system-wide.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";

export const PG_BIN = process.env.DASHFLEET_PG_BIN ?? "/usr/lib/postgresql/15/bin";

export type PgCluster = {
  /** postgres://… of the cluster's default database. */
  url: string;
  port: number;
  dir: string;
  /** Creates a fresh empty database and returns its URL. */
  createDatabase: (name?: string) => Promise<string>;
  stop: () => Promise<void>;
};

/** True when Debian's PostgreSQL server binaries are installed. */
export function pgAvailable(): boolean {
  return fs.existsSync(path.join(PG_BIN, "initdb")) && fs.existsSync(path.join(PG_BIN, "pg_ctl"));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL binary; as root it runs as the `postgres` user (initdb and pg_ctl refuse root). */
function runPg(bin: string, args: string[]): string {
  const exe = path.join(PG_BIN, bin);
  const isRoot = process.getuid?.() === 0;
  const [cmd, argv] = isRoot ? ["runuser", ["-u", "postgres", "--", exe, ...args]] : [exe, args];
  return execFileSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], cwd: os.tmpdir() });
}

let dbCounter = 0;

/** initdb + pg_ctl start; fsync off (a test cluster, thrown away). */
export async function startPgCluster(): Promise<PgCluster> {
  if (!pgAvailable()) throw new Error(`PostgreSQL binaries not found in ${PG_BIN}: apt-get install -y postgresql`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-pg-"));
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    fs.chownSync(dir, uid, gid);
  }
  const data = path.join(dir, "data");
  runPg("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  runPg("pg_ctl", ["-D", data, "-o", opts, "-l", path.join(dir, "log"), "-w", "-t", "60", "start"]);
  const base = `postgres://postgres@127.0.0.1:${port}`;
  const url = `${base}/postgres`;
  let stopped = false;
  return {
    url,
    port,
    dir,
    async createDatabase(name?: string) {
      dbCounter += 1;
      const db = name ?? `t${process.pid}_${dbCounter}_${Date.now().toString(36)}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${db.replace(/"/g, "")}"`);
      } finally {
        await client.end();
      }
      return `${base}/${db}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        runPg("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Set by tests/pg.global-setup.ts: the throwaway cluster's URL that integration tests run against. */
export const PG_TEST_CLUSTER_ENV = "DASHFLEET_TEST_PG_CLUSTER";

/**
 * `{ DASHFLEET_DATABASE_URL }` of a new empty database on the suite's cluster when the suite runs on
 * PostgreSQL (tests/pg.vitest.config.ts), else nothing (SQLite, as usual).
 */
export async function pgTestDatabase(): Promise<{ DASHFLEET_DATABASE_URL?: string }> {
  const cluster = process.env[PG_TEST_CLUSTER_ENV];
  if (!cluster) return {};
  dbCounter += 1;
  const name = `t${process.pid}_${dbCounter}_${Date.now().toString(36)}`;
  const client = new pg.Client({ connectionString: cluster });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  return { DASHFLEET_DATABASE_URL: cluster.replace(/\/[^/]*$/, `/${name}`) };
}

// Database access: migrations at start, one Prisma client over better-sqlite3 (pragmas checked), or,
// when the target is a postgres:// URL (DASHFLEET_DATABASE_URL), the PostgreSQL client over
// @prisma/adapter-pg with its own migration runner (server/db/pgMigrate.ts). Both are the same `Db`.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import Database from "better-sqlite3";
import { PrismaClient } from "./generated/prisma/client.ts";
import { PrismaClient as PgPrismaClient } from "./generated/prisma-pg/client.ts";
import { dialectOf, isPostgresUrl } from "./db/dialect.ts";
import { translatingPg } from "./db/pgAdapter.ts";
import { migratePostgres } from "./db/pgMigrate.ts";
import { guardReentry, serialized } from "./serialAdapter.ts";

/**
 * The client type the services use. The PostgreSQL client is generated from the same models
 * (prisma/postgres/schema.prisma), so it has the same model API; it is typed as this one.
 */
export type Db = PrismaClient;

/** Where the database is: the PostgreSQL URL when configured, else the SQLite file. */
export function databaseTarget(config: { dbFile: string; databaseUrl?: string }): string {
  return config.databaseUrl ?? config.dbFile;
}

/** Connections per process to PostgreSQL (node-postgres pool). */
export const PG_POOL_MAX = 10;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** How long a connection waits for another process's lock (CLI backup, a second server) before failing. */
export const BUSY_TIMEOUT_MS = 5000;

const migrationsDir = path.join(root, "prisma", "migrations");

/**
 * True when every migration in prisma/migrations is applied to the file. `prisma migrate deploy`
 * cannot run while another process holds the database open (its engine fails on the busy lock), so
 * it runs only for a new or outdated database; this also saves a second at every start.
 */
export function isMigrated(dbFile: string): boolean {
  if (!fs.existsSync(dbFile)) return false;
  const wanted = fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  const db = new Database(dbFile, { readonly: true, timeout: BUSY_TIMEOUT_MS });
  try {
    const table = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'")
      .get();
    if (!table) return false;
    const rows = db
      .prepare(
        "SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
      )
      .all() as { name: string }[];
    const applied = new Set(rows.map((r) => r.name));
    return wanted.every((m) => applied.has(m));
  } finally {
    db.close();
  }
}

/** Applies prisma/migrations to the file with `prisma migrate deploy` (JS engine, offline), when needed. */
export async function migrate(dbFile: string): Promise<void> {
  if (isPostgresUrl(dbFile)) {
    await migratePostgres(dbFile);
    return;
  }
  if (isMigrated(dbFile)) return;
  fs.mkdirSync(path.dirname(dbFile), { recursive: true });
  // A new database is created 0600 (it holds every key and token hash); SQLite gives its -wal and
  // -shm files the same mode. An empty file is a valid empty database.
  if (!fs.existsSync(dbFile)) fs.writeFileSync(dbFile, "", { mode: 0o600 });
  await promisify(execFile)(process.execPath, [path.join(root, "scripts", "prisma.mjs"), "migrate", "deploy"], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: `file:${dbFile}` },
  });
}

/**
 * WAL pages after which a commit copies the log back into the database (SQLite's default is 1000,
 * ~4 MiB). With the indexes of a large fleet each commit writes several pages, so the log grows fast;
 * a smaller bound keeps it near 1 MiB, and after a full disk is freed the server needs only that much
 * room to recover (with 1000 pages, on a small disk the log filled the freed space before it was ever
 * checkpointed, and every write kept failing).
 */
export const WAL_AUTOCHECKPOINT_PAGES = 256;
/**
 * Size the WAL file is cut back to when a checkpoint restarts it: 0, so the file never keeps space it
 * no longer needs (after a retention batch, a VACUUM or a burst), and space freed on a full disk is
 * not held by an idle log. The cost is one ftruncate per restart of the log.
 */
export const WAL_SIZE_LIMIT_BYTES = 0;

/** Opens the database with WAL, synchronous=FULL, foreign keys and a busy timeout, and checks them. */
export async function openDb(dbFile: string): Promise<Db> {
  if (isPostgresUrl(dbFile)) return openPostgres(dbFile);
  const adapter = serialized(new PrismaBetterSQLite3({ url: `file:${dbFile}`, timeout: BUSY_TIMEOUT_MS }));
  const db = guardReentry(new PrismaClient({ adapter }));
  await db.$queryRawUnsafe("PRAGMA journal_mode = WAL");
  await db.$executeRawUnsafe("PRAGMA synchronous = FULL");
  await db.$executeRawUnsafe("PRAGMA foreign_keys = ON");
  await db.$queryRawUnsafe(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  await db.$queryRawUnsafe(`PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  await db.$queryRawUnsafe(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  await checkPragmas(db);
  return db;
}

/**
 * How long a PostgreSQL transaction may wait for a pooled connection, and may run. Prisma's defaults
 * (2 s, 5 s) fail a burst: 50 agents claiming at once queue for PG_POOL_MAX connections, and claims of
 * one machine wait on its row lock one after another, so on a loaded host the tail of the burst
 * waited more than 2 s and was answered 500 (seen in queue-lifecycle under the PostgreSQL run). A
 * wait that still runs out is answered 503 "busy, retry" (server/services/errors.ts).
 */
export const PG_TRANSACTION_OPTIONS = { maxWait: 15_000, timeout: 20_000 } as const;

/**
 * PostgreSQL: a pool of connections at READ COMMITTED (the server's default). No serializing wrapper:
 * PostgreSQL gives each transaction its own connection. Raw SQL written for SQLite is translated
 * (placeholders, LIKE) by server/db/pgAdapter.ts.
 */
async function openPostgres(url: string): Promise<Db> {
  const adapter = translatingPg({ connectionString: url, max: PG_POOL_MAX });
  const db = guardReentry(new PgPrismaClient({ adapter, transactionOptions: PG_TRANSACTION_OPTIONS })) as unknown as Db;
  await db.$queryRawUnsafe("SELECT 1");
  return db;
}

/** Reads the pragmas back: a connection without them must not serve. */
export async function checkPragmas(db: Db): Promise<Record<string, unknown>> {
  const read = async (name: string) => {
    const rows = await db.$queryRawUnsafe<Record<string, unknown>[]>(`PRAGMA ${name}`);
    const v = rows[0] ? Object.values(rows[0])[0] : undefined;
    return typeof v === "bigint" ? Number(v) : v;
  };
  const found = {
    journal_mode: await read("journal_mode"),
    synchronous: await read("synchronous"),
    foreign_keys: await read("foreign_keys"),
    busy_timeout: await read("busy_timeout"),
    wal_autocheckpoint: await read("wal_autocheckpoint"),
    journal_size_limit: await read("journal_size_limit"),
  };
  const ok =
    String(found.journal_mode).toLowerCase() === "wal" &&
    found.synchronous === 2 &&
    found.foreign_keys === 1 &&
    Number(found.busy_timeout) >= 1000 &&
    found.wal_autocheckpoint === WAL_AUTOCHECKPOINT_PAGES &&
    found.journal_size_limit === WAL_SIZE_LIMIT_BYTES;
  if (!ok) throw new Error(`SQLite pragmas not as required: ${JSON.stringify(found)}`);
  return found;
}

/** Largest file VACUUMed at start to switch on incremental vacuum; a bigger one is only logged (VACUUM copies the file). */
export const VACUUM_AT_START_MAX_BYTES = 256 * 1024 * 1024;

/**
 * Switches the file to auto_vacuum = INCREMENTAL, so the retention job can hand pruned pages back
 * (server/services/retention.ts). The mode only takes effect on an empty file or after a VACUUM, and
 * `prisma migrate deploy` creates the tables first, so a file not yet incremental is VACUUMed once here
 * when it is small; a larger one is left alone (freed pages are still reused) and reported.
 */
export async function ensureIncrementalVacuum(
  db: Db,
  maxBytes = VACUUM_AT_START_MAX_BYTES,
): Promise<{ mode: "incremental" | "vacuumed" | "too-large" | "busy" | "not-sqlite"; bytes: number }> {
  // PostgreSQL's autovacuum hands space back by itself.
  if (dialectOf(db) !== "sqlite") return { mode: "not-sqlite", bytes: 0 };
  const read = async (name: string) => {
    const rows = await db.$queryRawUnsafe<Record<string, unknown>[]>(`PRAGMA ${name}`);
    return Number(rows[0] ? Object.values(rows[0])[0] : 0);
  };
  // The WAL file is cut back after checkpoints instead of keeping its largest size: set in openDb
  // (journal_size_limit, WAL_SIZE_LIMIT_BYTES) with the other WAL settings.
  const bytes = (await read("page_count")) * (await read("page_size"));
  if ((await read("auto_vacuum")) === 2) return { mode: "incremental", bytes };
  if (bytes > maxBytes) return { mode: "too-large", bytes };
  await db.$executeRawUnsafe("PRAGMA auto_vacuum = INCREMENTAL");
  try {
    await db.$executeRawUnsafe("VACUUM");
  } catch {
    // Another process holds the file (a CLI backup, a second server): try again at the next start.
    return { mode: "busy", bytes };
  }
  if ((await read("auto_vacuum")) !== 2) throw new Error("PRAGMA auto_vacuum = INCREMENTAL did not take effect");
  return { mode: "vacuumed", bytes };
}

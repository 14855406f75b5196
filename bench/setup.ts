// Bench setup: a fresh database with one organization and N machines whose tokens the simulators can
// derive (bench-only: machines are bulk-inserted with known token hashes instead of 100,000 enrollments).
// SQLite: multi-row INSERTs through the server's client. PostgreSQL: 10,000 rows per INSERT … SELECT
// FROM unnest(arrays) on a plain pg connection (one parameter per column, not per value), then ANALYZE
// so the server's first queries are planned with the table's real size.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { systemClock } from "../server/clock.ts";
import { isPostgresUrl } from "../server/db/dialect.ts";
import { migrate, openDb } from "../server/db.ts";
import { createOrganization } from "../server/services/accounts.ts";
import { hashSecret, MACHINE_TOKEN_PREFIX } from "../server/services/crypto.ts";

export type BenchFleet = {
  /** The SQLite file or the postgres:// URL the server is started on. */
  dbFile: string;
  orgId: string;
  adminKey: string;
  agentKey: string;
  salt: string;
  machines: number;
  /** How long the bulk insert of the machines took (migration and organization excluded). */
  insertMs: number;
};

/** The machine token of simulated machine i (the simulators derive it the same way). */
export function machineToken(salt: string, i: number): string {
  return `${MACHINE_TOKEN_PREFIX}bench_${salt}_${i}`;
}

/** The agent-side machine id of simulated machine i. */
export function machineIdOf(i: number): string {
  return `sim-${i}`;
}

/** The columns each simulated machine is inserted with, for machines start..start+n-1. */
function machineRows(salt: string, orgId: string, start: number, n: number, now: Date): unknown[][] {
  return Array.from({ length: n }, (_, k) => {
    const i = start + k;
    return [
      `bm_${salt}_${i}`,
      orgId,
      machineIdOf(i),
      `host-${i}`,
      "Linux bench",
      "0.0.0-bench",
      hashSecret(machineToken(salt, i)),
      now,
      now,
    ];
  });
}

const COLUMNS = `"id", "orgId", "machineId", "hostname", "os", "agentVersion", "tokenHash", "firstSeenAt", "lastSeenAt"`;

/** Migrates a new database (SQLite file or postgres:// URL) and fills it with an org and `machines` machines. */
export async function prepareFleet(dbFile: string, machines: number): Promise<BenchFleet> {
  await migrate(dbFile);
  const db = await openDb(dbFile);
  try {
    const org = await createOrganization(db, systemClock, { name: "Bench", actor: "bench" });
    const salt = randomBytes(6).toString("hex");
    const now = new Date();
    const t0 = Date.now();
    if (isPostgresUrl(dbFile)) await insertPostgres(dbFile, salt, org.orgId, machines, now);
    else {
      const CHUNK = 500;
      for (let start = 0; start < machines; start += CHUNK) {
        const n = Math.min(CHUNK, machines - start);
        await db.$executeRawUnsafe(
          `INSERT INTO "Machine" (${COLUMNS}) VALUES ${Array.from({ length: n }, () => "(?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
          ...machineRows(salt, org.orgId, start, n, now).flat(),
        );
      }
    }
    const insertMs = Date.now() - t0;
    return { dbFile, orgId: org.orgId, adminKey: org.adminKey, agentKey: org.agentKey, salt, machines, insertMs };
  } finally {
    await db.$disconnect();
  }
}

/** PostgreSQL: one INSERT … SELECT FROM unnest(…) per 10,000 machines, in one transaction, then ANALYZE. */
async function insertPostgres(url: string, salt: string, orgId: string, machines: number, now: Date): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("BEGIN");
    const CHUNK = 10_000;
    for (let start = 0; start < machines; start += CHUNK) {
      const rows = machineRows(salt, orgId, start, Math.min(CHUNK, machines - start), now);
      // Column-wise arrays; the two timestamps are the same for every row.
      const column = (c: number) => rows.map((r) => r[c] as string);
      await client.query(
        `INSERT INTO "Machine" (${COLUMNS}) SELECT id, org, mid, host, os, ver, hash, $8::timestamp(3), $8::timestamp(3) ` +
          `FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS t(id, org, mid, host, os, ver, hash)`,
        [...[0, 1, 2, 3, 4, 5, 6].map(column), now],
      );
    }
    await client.query("COMMIT");
    await client.query(`ANALYZE "Machine"`);
  } finally {
    await client.end();
  }
}

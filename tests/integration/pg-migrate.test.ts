// The PostgreSQL migration runner against a real throwaway cluster: the generated migrations create
// every model's table, two runners started together apply each migration once, a changed file is
// refused, and a failing migration leaves nothing half-applied.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migratePostgres, MIGRATIONS_TABLE, PG_MIGRATIONS_DIR, readMigrations } from "../../server/db/pgMigrate.ts";
import { startPgCluster, type PgCluster } from "../helpers/pg.ts";

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

describe("PostgreSQL migration runner", () => {
  let cluster: PgCluster;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pg-migrations-"));
  beforeAll(async () => {
    cluster = await startPgCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("the PostgreSQL schema copy is up to date with prisma/schema.prisma (no drift)", () => {
    // Exits 1 naming the command to run when prisma/schema.prisma changed without `npm run pg:schema`.
    expect(() => execFileSync(process.execPath, ["scripts/pg-schema.mjs", "--check"], { stdio: "pipe" })).not.toThrow();
  });

  it("creates every model's table; a second run applies nothing", async () => {
    const url = await cluster.createDatabase();
    const applied = await migratePostgres(url);
    expect(applied).toEqual(readMigrations().map((m) => m.name));
    const models = [
      ...fs.readFileSync(path.join(PG_MIGRATIONS_DIR, "..", "schema.prisma"), "utf8").matchAll(/^model (\w+) \{/gm),
    ].map((m) => m[1]);
    const tables = (
      await query<{ t: string }>(url, "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'")
    ).map((r) => r.t);
    for (const model of models) expect(tables).toContain(model);
    expect(await migratePostgres(url)).toEqual([]);
  });

  it("two runners started together apply each migration exactly once", async () => {
    const url = await cluster.createDatabase();
    const [a, b] = await Promise.all([migratePostgres(url), migratePostgres(url)]);
    // One did the work, the other waited on the advisory lock and found it done.
    expect([...a, ...b].sort()).toEqual(readMigrations().map((m) => m.name));
    const rows = await query<{ n: string }>(url, `SELECT count(*) AS n FROM "${MIGRATIONS_TABLE}"`);
    expect(Number(rows[0]?.n)).toBe(readMigrations().length);
  });

  it("refuses to start when an applied migration's file changed", async () => {
    const dir = path.join(tmp, "changed");
    fs.mkdirSync(path.join(dir, "001_a"), { recursive: true });
    fs.writeFileSync(path.join(dir, "001_a", "migration.sql"), 'CREATE TABLE "A" (id INT);');
    const url = await cluster.createDatabase();
    expect(await migratePostgres(url, dir)).toEqual(["001_a"]);
    fs.writeFileSync(path.join(dir, "001_a", "migration.sql"), 'CREATE TABLE "A" (id BIGINT);');
    await expect(migratePostgres(url, dir)).rejects.toThrow(/001_a was changed after it was applied/);
  });

  it("a failing migration is rolled back whole and not recorded", async () => {
    const dir = path.join(tmp, "failing");
    fs.mkdirSync(path.join(dir, "001_ok"), { recursive: true });
    fs.mkdirSync(path.join(dir, "002_bad"), { recursive: true });
    fs.writeFileSync(path.join(dir, "001_ok", "migration.sql"), 'CREATE TABLE "Ok" (id INT);');
    fs.writeFileSync(
      path.join(dir, "002_bad", "migration.sql"),
      'CREATE TABLE "Half" (id INT);\nSELECT no_such_function();',
    );
    const url = await cluster.createDatabase();
    await expect(migratePostgres(url, dir)).rejects.toThrow(/002_bad failed/);
    const tables = (
      await query<{ t: string }>(url, "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'")
    ).map((r) => r.t);
    expect(tables).toContain("Ok");
    expect(tables).not.toContain("Half");
    const names = (await query<{ name: string }>(url, `SELECT name FROM "${MIGRATIONS_TABLE}"`)).map((r) => r.name);
    expect(names).toEqual(["001_ok"]);
  });
});

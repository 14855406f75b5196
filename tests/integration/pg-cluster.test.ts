// The throwaway PostgreSQL cluster helper: starts a real server, answers queries, creates databases,
// and leaves nothing behind once stopped.
import fs from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPgCluster, type PgCluster } from "../helpers/pg.ts";

describe("throwaway PostgreSQL cluster", () => {
  let cluster: PgCluster;
  beforeAll(async () => {
    cluster = await startPgCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("answers queries on its own port and creates separate databases", async () => {
    const url = await cluster.createDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ v: string; db: string }>(
        "SELECT current_setting('server_version_num') AS v, current_database() AS db",
      );
      expect(Number(rows[0]?.v)).toBeGreaterThanOrEqual(150000);
      expect(url.endsWith(`/${rows[0]?.db}`)).toBe(true);
    } finally {
      await client.end();
    }
  });

  it("stops and removes its folder", async () => {
    const other = await startPgCluster();
    expect(fs.existsSync(other.dir)).toBe(true);
    await other.stop();
    expect(fs.existsSync(other.dir)).toBe(false);
    const client = new pg.Client({ connectionString: other.url, connectionTimeoutMillis: 2000 });
    await expect(client.connect()).rejects.toThrow();
  }, 60_000);
});

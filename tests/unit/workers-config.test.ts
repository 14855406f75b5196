// DASHFLEET_WORKERS in server/config.ts: 1 by default (no cluster), a whole number up to MAX_WORKERS,
// more than 1 only with PostgreSQL (DASHFLEET_DATABASE_URL); every refusal names the variable.
import { describe, expect, it } from "vitest";
import { loadConfig, MAX_WORKERS } from "../../server/config.ts";

const PG = "postgres://dashfleet@127.0.0.1/fleet";

describe("DASHFLEET_WORKERS", () => {
  it("is 1 when unset, on SQLite and on PostgreSQL", () => {
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ DASHFLEET_DATABASE_URL: PG }).workers).toBe(1);
    expect(loadConfig({ DASHFLEET_WORKERS: "1" }).workers).toBe(1);
  });

  it("takes a number of processes with PostgreSQL", () => {
    expect(loadConfig({ DASHFLEET_WORKERS: "4", DASHFLEET_DATABASE_URL: PG }).workers).toBe(4);
    expect(loadConfig({ DASHFLEET_WORKERS: String(MAX_WORKERS), DASHFLEET_DATABASE_URL: PG }).workers).toBe(
      MAX_WORKERS,
    );
  });

  it("refuses several processes on SQLite, saying PostgreSQL is needed and how", () => {
    expect(() => loadConfig({ DASHFLEET_WORKERS: "2" })).toThrow(
      /DASHFLEET_WORKERS: 2 server processes need PostgreSQL \(set DASHFLEET_DATABASE_URL=postgres:\/\//,
    );
  });

  it.each(["0", "-1", "two", "1.5", "", "2x"])("refuses %j, naming the variable", (value) => {
    expect(() => loadConfig({ DASHFLEET_WORKERS: value, DASHFLEET_DATABASE_URL: PG })).toThrow(
      "DASHFLEET_WORKERS: must be a whole number of server processes, 1 or more",
    );
  });

  it("refuses more than MAX_WORKERS", () => {
    expect(() => loadConfig({ DASHFLEET_WORKERS: String(MAX_WORKERS + 1), DASHFLEET_DATABASE_URL: PG })).toThrow(
      `DASHFLEET_WORKERS: must be at most ${MAX_WORKERS}`,
    );
  });
});

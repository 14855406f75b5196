// Raw SQL written once for SQLite, as the PostgreSQL adapter rewrites it (server/db/pgAdapter.ts),
// and the dialect helpers' two spellings (server/db/dialect.ts).
import { describe, expect, it } from "vitest";
import { cast, jsonArrayRows, valuesRow } from "../../server/db/dialect.ts";
import { translateSql } from "../../server/db/pgAdapter.ts";

describe("translateSql", () => {
  it("numbers ? placeholders in order", () => {
    expect(translateSql(`SELECT 1 FROM "A" WHERE "x" = ? AND "y" IN (?, ?) LIMIT ?`)).toBe(
      `SELECT 1 FROM "A" WHERE "x" = $1 AND "y" IN ($2, $3) LIMIT $4`,
    );
  });

  it("leaves ? and LIKE inside string literals and quoted identifiers alone", () => {
    expect(translateSql(`SELECT '?' AS q, "LIKE?" FROM "T" WHERE "a" LIKE ? ESCAPE '\\'`)).toBe(
      `SELECT '?' AS q, "LIKE?" FROM "T" WHERE "a" ILIKE $1 ESCAPE '\\'`,
    );
  });

  it("keeps the case of camelCase aliases by quoting them; lower-case ones are untouched", () => {
    expect(translateSql(`SELECT m."hostname" AS sortKey, COUNT(*) AS n FROM "Machine" m`)).toBe(
      `SELECT m."hostname" AS "sortKey", COUNT(*) AS n FROM "Machine" m`,
    );
  });

  it("passes Prisma's own statements ($n already) unchanged", () => {
    const sql = `SELECT "public"."Action"."id" FROM "public"."Action" WHERE "name" LIKE $1 AS fooBar`;
    expect(translateSql(sql)).toBe(sql);
  });
});

describe("dialect helpers", () => {
  it("type VALUES parameters on PostgreSQL only", () => {
    expect(valuesRow("sqlite", ["text", "int"])).toBe("(?, ?)");
    expect(valuesRow("postgresql", ["text", "timestamp"])).toBe("(CAST(? AS text), CAST(? AS timestamp(3)))");
    expect(cast("postgresql", "?", "double")).toBe("CAST(? AS double precision)");
  });

  it("spell a JSON array's rows with the same key and value columns", () => {
    expect(jsonArrayRows("sqlite", "?")).toBe("json_each(?) j");
    expect(jsonArrayRows("postgresql", "?")).toMatch(/json_array_elements_text\(CAST\(\? AS json\)\) WITH ORDINALITY/);
  });
});

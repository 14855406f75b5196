// The SQL dialect of an open client: raw statements that differ between SQLite and PostgreSQL ask
// this module instead of testing the database themselves. Prisma's own query API needs none of it.
export type Dialect = "sqlite" | "postgresql";

/**
 * The dialect of a Prisma client or of a transaction's client: both carry the generated client's
 * provider (`_activeProvider`, set by Prisma from the schema the client was generated from).
 */
export function dialectOf(db: object): Dialect {
  return (db as { _activeProvider?: string })._activeProvider === "postgresql" ? "postgresql" : "sqlite";
}

/** True when a connection string selects PostgreSQL. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//.test(target);
}

/**
 * Rewrites `?` placeholders to `$1, $2, …` for PostgreSQL (SQLite takes either). Statements here
 * never hold a literal `?` inside quotes, so a plain scan is enough.
 */
export function placeholders(dialect: Dialect, sql: string): string {
  if (dialect === "sqlite") return sql;
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** Case-insensitive LIKE: SQLite's LIKE already is (for ASCII); PostgreSQL's is ILIKE. */
export function ilike(dialect: Dialect): string {
  return dialect === "postgresql" ? "ILIKE" : "LIKE";
}

/** A typed parameter inside `VALUES (…)` rows, where PostgreSQL cannot infer a type from context. */
export function cast(
  dialect: Dialect,
  placeholder: string,
  type: "text" | "int" | "bigint" | "double" | "timestamp" | "boolean",
): string {
  if (dialect === "sqlite") return placeholder;
  const pgType = {
    text: "text",
    int: "integer",
    bigint: "bigint",
    double: "double precision",
    timestamp: "timestamp(3)",
    boolean: "boolean",
  }[type];
  return `CAST(${placeholder} AS ${pgType})`;
}

/** Quotes an identifier the same way for both (Prisma's tables and columns are case-sensitive names). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A DateTime column plus a number of seconds, stored the way each database keeps DateTime: SQLite
 * (Prisma's adapter) as ISO-8601 text with milliseconds, PostgreSQL as timestamp(3).
 */
export function addSeconds(dialect: Dialect, column: string, secondsExpr: string): string {
  if (dialect === "postgresql") return `(${column} + make_interval(secs => ${secondsExpr}))`;
  return `strftime('%Y-%m-%dT%H:%M:%f+00:00', ${column}, '+' || (${secondsExpr}) || ' seconds')`;
}

type ValueType = Parameters<typeof cast>[2];

/**
 * One `(?, ?, …)` row of a `VALUES` list with each parameter typed on PostgreSQL (a bare parameter in
 * VALUES is text there, and assigning text to a timestamp or integer column fails).
 */
export function valuesRow(dialect: Dialect, types: ValueType[]): string {
  return `(${types.map((t) => cast(dialect, "?", t)).join(", ")})`;
}

/** A random version-4 UUID as text on PostgreSQL (built in since 13). */
export const PG_UUID_V4_SQL = "gen_random_uuid()::text";

/**
 * A FROM item `j` with one row per element of a JSON array of strings bound at `placeholder`:
 * j."key" is the 0-based position, j."value" the string (SQLite's json_each, PostgreSQL's
 * json_array_elements_text WITH ORDINALITY).
 */
export function jsonArrayRows(dialect: Dialect, placeholder: string): string {
  if (dialect === "sqlite") return `json_each(${placeholder}) j`;
  return `(SELECT t."value", t."ord" - 1 AS "key" FROM json_array_elements_text(CAST(${placeholder} AS json)) WITH ORDINALITY AS t("value", "ord")) j`;
}

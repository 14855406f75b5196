// The fleet query in SQL: a FleetFilter becomes one WHERE clause (shared by fleet.list, fleet.summary
// and bulk jobs by filter), and a sort becomes a keyset over (sort key, id). Hostname and health pages
// are index ranges (migration 20261125202000_fleet_paging), the same cost at 100 machines and 100,000;
// last seen and the figures change with every metric report, so they have no index (each would cost
// every report about four pages written, migration 20261126020000_report_write_indexes): their pages
// read the org's rows and keep the top 50 (bench/fleet-query.ts at 100,000 machines: figures 105–120 ms,
// last seen 280 ms, against 13–20 ms for the indexed hostname and health pages).
// On PostgreSQL, where a report that changes no indexed column is a HOT update (no index entry written),
// only hostname pages are index ranges; health, last seen, the figures and the online filter read the
// org's rows, like every page's COUNT there (prisma/postgres/migrations/20261126051500_machine_hot_updates:
// a health index would turn each report that moves the score into a non-HOT update).
import type { Clock } from "../clock.ts";
import {
  defaultSortDir,
  INT4_MAX,
  storableTime,
  type FleetFilter,
  type FleetSort,
  type SortDir,
  unstorableTextReason,
} from "../contract/index.ts";
import { invalid } from "../domain/errors.ts";

/** SQL with its bound parameters, in order. */
export type Sql = { text: string; params: unknown[] };

/**
 * Sort key of each sort, spelled exactly as in the expression indexes. Never-reported machines have
 * no figures: -1 puts them last when highest comes first; a health score of 101 puts them after
 * every real band when worst comes first.
 */
const sortKeys: { readonly [S in FleetSort]: { expr: string; kind: "text" | "number" | "date" } } = {
  hostname: { expr: `m."hostname"`, kind: "text" },
  lastSeen: { expr: `m."lastSeenAt"`, kind: "date" },
  health: { expr: `COALESCE(m."healthScore", 101)`, kind: "number" },
  cpu: { expr: `COALESCE(m."lastCpu", -1)`, kind: "number" },
  memory: { expr: `COALESCE(m."lastMemory", -1)`, kind: "number" },
  disk: { expr: `COALESCE(m."lastDisk", -1)`, kind: "number" },
};

/** Escapes LIKE wildcards so a search for "50%" finds "50%", not everything. */
function likeTerm(search: string): string {
  return `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * WHERE clause (alias m for Machine) of an org's machines matching a filter. Retired machines are
 * never part of the fleet table, its counters or a bulk target (fleet.machine still shows them).
 */
export function filterSql(orgId: string, filter: FleetFilter, clock: Clock): Sql {
  const parts = [`m."orgId" = ?`, `m."retiredAt" IS NULL`];
  const params: unknown[] = [orgId];
  const search = filter.search?.trim();
  if (search) {
    // SQLite's LIKE is case-insensitive for ASCII. A scan of the org's rows: measured 40–100 ms for a
    // page and its COUNT at 100,000 machines (bench/fleet-query.ts), against 2–15 ms for indexed filters.
    parts.push(
      `(m."hostname" LIKE ? ESCAPE '\\' OR m."machineId" LIKE ? ESCAPE '\\' OR m."displayName" LIKE ? ESCAPE '\\')`,
    );
    const t = likeTerm(search);
    params.push(t, t, t);
  }
  if (filter.online !== undefined) {
    const now = clock.now();
    // Online while now <= onlineUntil (three intervals of silence are still online; a moment more is not).
    if (filter.online) parts.push(`m."onlineUntil" >= ?`);
    else parts.push(`(m."onlineUntil" IS NULL OR m."onlineUntil" < ?)`);
    params.push(now);
  }
  if (filter.health !== undefined) {
    if (filter.health === "nodata") parts.push(`m."health" IS NULL`);
    else {
      parts.push(`m."health" = ?`);
      params.push(filter.health);
    }
  }
  if (filter.os !== undefined) {
    parts.push(`m."os" = ?`);
    params.push(filter.os);
  }
  for (const label of new Set(filter.labels ?? [])) {
    parts.push(`EXISTS (SELECT 1 FROM "MachineLabel" l WHERE l."machineRef" = m."id" AND l."label" = ?)`);
    params.push(label);
  }
  return { text: parts.join(" AND "), params };
}

/** A position in a sorted list: the sort key and id of the last row of the previous page. */
type Cursor = { s: FleetSort; d: SortDir; k: string | number; i: string };

export function encodeCursor(sort: FleetSort, dir: SortDir, key: unknown, id: string): string {
  // The driver may hand back an integer-valued key as a bigint or a string: normalise by the sort's kind.
  const kind = sortKeys[sort].kind;
  const k =
    kind === "number" ? Number(key) : kind === "date" ? new Date(key as string | Date).toISOString() : String(key);
  const c: Cursor = { s: sort, d: dir, k, i: id };
  return Buffer.from(JSON.stringify(c)).toString("base64url");
}

function decodeCursor(cursor: string, sort: FleetSort, dir: SortDir): Cursor {
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid("cursor", "not a cursor from fleet.list");
  }
  const ok =
    c !== null &&
    typeof c === "object" &&
    "s" in c &&
    "d" in c &&
    "k" in c &&
    "i" in c &&
    typeof c.i === "string" &&
    (typeof c.k === "string" || typeof c.k === "number");
  if (!ok) throw invalid("cursor", "not a cursor from fleet.list");
  const parsed = c as Cursor;
  if (parsed.s !== sort || parsed.d !== dir)
    throw invalid("cursor", "this cursor belongs to another sort; start from the first page");
  if (sortKeys[sort].kind === "number" && typeof parsed.k !== "number")
    throw invalid("cursor", "not a cursor from fleet.list");
  if (sortKeys[sort].kind !== "number" && typeof parsed.k !== "string")
    throw invalid("cursor", "not a cursor from fleet.list");
  // Values this server never writes and PostgreSQL cannot compare (each was a 500 there): a NUL or a lone
  // surrogate in the key or id (base64 hid them from the input's text check), a health key that is not
  // an integer of its int4 column (1.5, 2^31).
  const badText = (t: unknown) => typeof t === "string" && unstorableTextReason(t) !== null;
  if (badText(parsed.i) || badText(parsed.k)) throw invalid("cursor", "not a cursor from fleet.list");
  if (sort === "health" && !(Number.isInteger(parsed.k) && Math.abs(parsed.k as number) <= INT4_MAX))
    throw invalid("cursor", "not a cursor from fleet.list");
  return parsed;
}

/** ORDER BY, the keyset condition after a cursor, and the key column to select for the next cursor. */
export function pageSql(
  sort: FleetSort,
  dirIn: SortDir | undefined,
  cursor: string | null | undefined,
): {
  dir: SortDir;
  keyExpr: string;
  orderBy: string;
  after: Sql | null;
} {
  const dir = dirIn ?? defaultSortDir[sort];
  const { expr, kind } = sortKeys[sort];
  const d = dir === "asc" ? "ASC" : "DESC";
  const orderBy = `${expr} ${d}, m."id" ${d}`;
  if (!cursor) return { dir, keyExpr: expr, orderBy, after: null };
  const c = decodeCursor(cursor, sort, dir);
  const key = kind === "date" ? new Date(c.k) : c.k;
  // A date key is one this server wrote (toISOString, a four-digit year): "+275760-…" parses in JS but
  // the driver cannot bind it (it was a 500); nor year 0000, which PostgreSQL does not have.
  if (kind === "date" && (!storableTime(key as Date) || !/^\d{4}-/.test(String(c.k))))
    throw invalid("cursor", "not a cursor from fleet.list");
  // "(key, id) after the cursor", spelled so SQLite reads it as a range of the index on the key (a
  // row-value comparison over an expression is not: measured 15 ms against 0.2 ms at 100,000 rows).
  const [cmp, cmpEq] = dir === "asc" ? [">", ">="] : ["<", "<="];
  const after = {
    text: `${expr} ${cmpEq} ? AND (${expr} ${cmp} ? OR m."id" ${cmp} ?)`,
    params: [key, key, c.i],
  };
  return { dir, keyExpr: expr, orderBy, after };
}

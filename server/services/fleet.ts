// The fleet as admins see it: a paged, filtered, sorted table of machines (latest metrics, online
// state, health with its reasons, labels, waiting work), counters for the header, and one machine's
// history and recent actions. Every read is an index range or a GROUP BY: nothing loads the fleet.
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { HistoryPoint, HistoryResolution, HistoryWindow } from "../contract/history.ts";
import {
  healthBands,
  waitingStatuses,
  type FleetFilter,
  type FleetPage,
  type FleetQuery,
  type FleetSummary,
  type HealthBand,
  type MachineMetrics,
  type MachineView,
} from "../contract/index.ts";
import type { Db } from "../db.ts";
import { notFound } from "../domain/errors.ts";
import { listActions, type ActionView } from "./actions.ts";
import { encodeCursor, filterSql, pageSql } from "./fleetQuery.ts";
import { metricHistory } from "./metricHistory.ts";

export { ONLINE_INTERVALS } from "./health.ts";
/** fleet.machine returns this many metric reports. */
export const HISTORY_POINTS = 120;
/** fleet.machine returns this many recent actions. */
export const RECENT_ACTIONS = 20;
/** fleet.summary lists at most this many operating systems and labels (most common first). */
export const SUMMARY_TOP = 50;

type Deps = { db: Db; clock: Clock };

/** Explicit columns (alias m): the machine token hash is never read here. */
const MACHINE_COLUMNS = [
  "id",
  "machineId",
  "hostname",
  "displayName",
  "os",
  "agentVersion",
  "firstSeenAt",
  "lastSeenAt",
  "onlineUntil",
  "lastCpu",
  "lastMemory",
  "lastDisk",
  "lastUptime",
  "lastExtras",
  "lastReportAt",
  "health",
  "healthScore",
  "healthReasons",
  "retiredAt",
]
  .map((c) => `m."${c}"`)
  .join(", ");

/** A Machine row as the raw queries return it (DateTime columns come back as Date). */
type MachineRow = {
  id: string;
  machineId: string;
  hostname: string;
  displayName: string | null;
  os: string;
  agentVersion: string;
  firstSeenAt: Date;
  lastSeenAt: Date;
  onlineUntil: Date | null;
  lastCpu: number | null;
  lastMemory: number | null;
  lastDisk: number | null;
  lastUptime: number | bigint | null;
  lastExtras: string | null;
  lastReportAt: Date | null;
  health: string | null;
  healthScore: number | bigint | null;
  healthReasons: string | null;
  retiredAt: Date | null;
};

function parseJson<T>(text: string | null, ok: (v: unknown) => boolean): T | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return ok(v) ? (v as T) : null;
  } catch {
    return null;
  }
}

const num = (v: number | bigint | null): number | null => (v === null ? null : Number(v));

/** The view of a row, with its labels and waiting-work count looked up by the caller. */
function toView(r: MachineRow, labels: string[], pendingCount: number, now: Date): MachineView {
  const metrics: MachineMetrics | null =
    r.lastReportAt && r.lastCpu !== null && r.lastMemory !== null && r.lastDisk !== null
      ? {
          cpuPercent: r.lastCpu,
          memoryPercent: r.lastMemory,
          diskPercent: r.lastDisk,
          uptimeSeconds: num(r.lastUptime) ?? 0,
          at: new Date(r.lastReportAt).toISOString(),
          extras: parseJson(r.lastExtras, (v) => !!v && typeof v === "object" && !Array.isArray(v)),
        }
      : null;
  const health = (healthBands as readonly string[]).includes(r.health ?? "") ? (r.health as HealthBand) : "nodata";
  return {
    machineId: r.machineId,
    hostname: r.hostname,
    displayName: r.displayName,
    name: r.displayName ?? r.hostname,
    labels,
    os: r.os,
    agentVersion: r.agentVersion,
    firstSeenAt: new Date(r.firstSeenAt).toISOString(),
    lastSeenAt: new Date(r.lastSeenAt).toISOString(),
    online: r.retiredAt === null && r.onlineUntil !== null && new Date(r.onlineUntil).getTime() >= now.getTime(),
    health,
    healthScore: health === "nodata" ? null : num(r.healthScore),
    healthReasons:
      parseJson<string[]>(r.healthReasons, (v) => Array.isArray(v) && v.every((x) => typeof x === "string")) ?? [],
    metrics,
    pendingCount,
    retired: r.retiredAt !== null,
  };
}

/** Labels and waiting-work counts of a page of machines: two indexed look-ups for the whole page. */
async function pageExtras(
  db: Db,
  refs: string[],
): Promise<{ labels: Map<string, string[]>; pending: Map<string, number> }> {
  const labels = new Map<string, string[]>();
  const pending = new Map<string, number>();
  if (refs.length === 0) return { labels, pending };
  const marks = refs.map(() => "?").join(", ");
  const [labelRows, pendingRows] = await Promise.all([
    db.$queryRawUnsafe<{ machineRef: string; label: string }[]>(
      `SELECT "machineRef", "label" FROM "MachineLabel" WHERE "machineRef" IN (${marks}) ORDER BY "label"`,
      ...refs,
    ),
    db.$queryRawUnsafe<{ machineRef: string; n: number | bigint }[]>(
      `SELECT "machineRef", COUNT(*) AS n FROM "Action" WHERE "machineRef" IN (${marks}) AND "status" IN (${waitingStatuses.map(() => "?").join(", ")}) GROUP BY "machineRef"`,
      ...refs,
      ...waitingStatuses,
    ),
  ]);
  for (const r of labelRows) labels.set(r.machineRef, [...(labels.get(r.machineRef) ?? []), r.label]);
  for (const r of pendingRows) pending.set(r.machineRef, Number(r.n));
  return { labels, pending };
}

/** One page of the org's machines matching the query, the next page's cursor and the matching total. */
export async function listFleet(
  deps: Deps,
  orgId: string,
  q: FleetQuery,
  reportIntervalSeconds: number,
): Promise<FleetPage> {
  const { db, clock } = deps;
  const where = filterSql(orgId, q, clock);
  const page = pageSql(q.sort, q.dir, q.cursor);
  const conditions = page.after ? `${where.text} AND ${page.after.text}` : where.text;
  const [rows, countRows] = await Promise.all([
    db.$queryRawUnsafe<(MachineRow & { sortKey: unknown })[]>(
      `SELECT ${MACHINE_COLUMNS}, ${page.keyExpr} AS sortKey FROM "Machine" m WHERE ${conditions} ORDER BY ${page.orderBy} LIMIT ?`,
      ...where.params,
      ...(page.after?.params ?? []),
      q.limit + 1,
    ),
    db.$queryRawUnsafe<{ n: number | bigint }[]>(
      `SELECT COUNT(*) AS n FROM "Machine" m WHERE ${where.text}`,
      ...where.params,
    ),
  ]);
  const more = rows.length > q.limit;
  const shown = rows.slice(0, q.limit);
  const { labels, pending } = await pageExtras(
    db,
    shown.map((r) => r.id),
  );
  const now = clock.now();
  const last = shown.at(-1);
  return {
    machines: shown.map((r) => toView(r, labels.get(r.id) ?? [], pending.get(r.id) ?? 0, now)),
    nextCursor: more && last ? encodeCursor(q.sort, page.dir, last.sortKey, last.id) : null,
    total: Number(countRows[0]?.n ?? 0),
    reportIntervalSeconds,
  };
}

/** Counters for the header: totals, online, each health band, the commonest OSes and labels. */
export async function fleetSummary(deps: Deps, orgId: string, filter: FleetFilter): Promise<FleetSummary> {
  const { db, clock } = deps;
  const where = filterSql(orgId, filter, clock);
  const now = clock.now();
  const [state, bands, oses, labels] = await Promise.all([
    db.$queryRawUnsafe<{ total: number | bigint; online: number | bigint | null }[]>(
      `SELECT COUNT(*) AS total, SUM(CASE WHEN m."onlineUntil" >= ? THEN 1 ELSE 0 END) AS online FROM "Machine" m WHERE ${where.text}`,
      now,
      ...where.params,
    ),
    db.$queryRawUnsafe<{ health: string | null; n: number | bigint }[]>(
      `SELECT m."health" AS health, COUNT(*) AS n FROM "Machine" m WHERE ${where.text} GROUP BY m."health"`,
      ...where.params,
    ),
    db.$queryRawUnsafe<{ os: string; n: number | bigint }[]>(
      `SELECT m."os" AS os, COUNT(*) AS n FROM "Machine" m WHERE ${where.text} GROUP BY m."os" ORDER BY n DESC, os LIMIT ${SUMMARY_TOP}`,
      ...where.params,
    ),
    db.$queryRawUnsafe<{ label: string; n: number | bigint }[]>(
      `SELECT l."label" AS label, COUNT(*) AS n FROM "MachineLabel" l JOIN "Machine" m ON m."id" = l."machineRef" ` +
        `WHERE l."orgId" = ? AND ${where.text} GROUP BY l."label" ORDER BY n DESC, label LIMIT ${SUMMARY_TOP}`,
      orgId,
      ...where.params,
    ),
  ]);
  const total = Number(state[0]?.total ?? 0);
  const online = Number(state[0]?.online ?? 0);
  const health: Record<HealthBand, number> = { good: 0, degraded: 0, critical: 0, nodata: 0 };
  for (const b of bands) {
    const band =
      b.health !== null && (healthBands as readonly string[]).includes(b.health) ? (b.health as HealthBand) : "nodata";
    health[band] += Number(b.n);
  }
  return {
    total,
    online,
    offline: total - online,
    health,
    os: oses.map((o) => ({ os: o.os, count: Number(o.n) })),
    labels: labels.map((l) => ({ label: l.label, count: Number(l.n) })),
  };
}

/** One machine of the org (retired ones too) as a view. */
export async function machineView(
  deps: Deps,
  orgId: string,
  machineId: string,
): Promise<MachineView & { ref: string }> {
  const { db, clock } = deps;
  const [row] = await db.$queryRawUnsafe<MachineRow[]>(
    `SELECT ${MACHINE_COLUMNS} FROM "Machine" m WHERE m."orgId" = ? AND m."machineId" = ?`,
    orgId,
    machineId,
  );
  if (!row) throw notFound(`No machine "${machineId}" in this organization`);
  const { labels, pending } = await pageExtras(db, [row.id]);
  return { ...toView(row, labels.get(row.id) ?? [], pending.get(row.id) ?? 0, clock.now()), ref: row.id };
}

/** One machine of the org with its recent metric history (oldest first) and newest actions. */
export async function machineDetail(
  deps: Deps & { config: Pick<Config, "retention"> },
  orgId: string,
  machineId: string,
  window?: HistoryWindow,
): Promise<{
  machine: MachineView;
  history: HistoryPoint[];
  /** Where the history was read from (metricHistory.ts picks it for the window). */
  historyResolution: HistoryResolution;
  actions: ActionView[];
}> {
  const { db } = deps;
  const { ref, ...machine } = await machineView(deps, orgId, machineId);
  const [history, actions] = await Promise.all([
    metricHistory(deps, ref, window),
    listActions({ db }, orgId, { machineId, limit: RECENT_ACTIONS }),
  ]);
  return { machine, history: history.points, historyResolution: history.resolution, actions: actions.items };
}

// Machines: metric reports (enrollment and retirement: services/enrollment.ts).
import type { Clock } from "../clock.ts";
import type { MachineIdentity, MetricReport } from "../contract/index.ts";
import type { Db } from "../db.ts";
import { addSeconds, dialectOf, valuesRow } from "../db/dialect.ts";
import { GroupCommit } from "./groupCommit.ts";
import { HealthWindow, ONLINE_INTERVALS, type Health } from "./health.ts";

/** Stores one metric report and updates the machine's latest figures. Resolves once both are committed. */
export async function recordReport(
  db: Db,
  clock: Clock,
  machineRef: string,
  report: MetricReport,
  identity?: Partial<Omit<MachineIdentity, "machineId">>,
): Promise<void> {
  const health = healthWindowOf(db).observe(machineRef, report);
  return reportWriterOf(db).add({ machineRef, at: clock.now(), report, identity, health });
}

/**
 * Forgets what this process holds of a machine's reports (its health window, and on SQLite the health
 * last written): called for every retired or re-enrolled machine (services/index.ts), so a retired
 * fleet does not stay in memory and a machine enrolled again starts a fresh window.
 */
export function forgetMachineHealth(db: Db, machineRef: string): void {
  healthWindows.get(db)?.forget(machineRef);
  committedHealth.get(db)?.delete(machineRef);
}

/** Whether this process holds a health window for a machine (for tests of the forgetting above). */
export function holdsMachineHealth(db: Db, machineRef: string): boolean {
  return healthWindows.get(db)?.has(machineRef) ?? false;
}

/** Commits every report still waiting in the write-behind buffer (call before closing the database). */
export async function flushReports(db: Db): Promise<void> {
  await writers.get(db)?.flush();
}

type PendingReport = {
  machineRef: string;
  at: Date;
  report: MetricReport;
  identity: Partial<Omit<MachineIdentity, "machineId">> | undefined;
  /** The machine's health over its last reports, computed when the report arrived. */
  health: Health;
};

/** Rows per INSERT or UPDATE … FROM (VALUES …) statement: at most 11 parameters each, well under SQLite's limit. */
const UPDATE_CHUNK = 250;

/**
 * Metric reports are group-committed (one multi-row INSERT and one multi-row UPDATE of the machines'
 * latest figures per batch). A first report waits at most 10 ms for company; under load the next
 * batch gathers while one commits. An answered report is on disk, as before.
 */
const writers = new WeakMap<Db, GroupCommit<PendingReport>>();
const healthWindows = new WeakMap<Db, HealthWindow>();
function healthWindowOf(db: Db): HealthWindow {
  let w = healthWindows.get(db);
  if (!w) healthWindows.set(db, (w = new HealthWindow()));
  return w;
}
function reportWriterOf(db: Db): GroupCommit<PendingReport> {
  let w = writers.get(db);
  if (!w) writers.set(db, (w = new GroupCommit((batch) => writeBatch(db, batch), { lingerMs: 10, maxBatch: 2000 })));
  return w;
}

/**
 * The (band, score) last committed for each machine, on SQLite only: a report rewrites the health
 * columns only when they change. Each index over a column a report rewrites costs that report about
 * four pages written, and the health sort's two indexes are the last ones kept on hot columns
 * (migration 20261126020000_report_write_indexes); most machines stay "good, 100" report after report.
 * SQLite has one server process, so this memory is the database's truth; on PostgreSQL another process
 * may have written the row since, so every report writes them there.
 */
const committedHealth = new WeakMap<Db, Map<string, string>>();
const healthKey = (h: Health) => `${h.health}:${h.score}`;

/** Writes reports in one transaction: every report row, and each machine's latest figures once. */
async function writeBatch(db: Db, batch: PendingReport[]): Promise<void> {
  const latest = new Map<string, PendingReport>();
  for (const r of batch) latest.set(r.machineRef, r);
  const d = dialectOf(db);
  let committed = d === "sqlite" ? committedHealth.get(db) : undefined;
  if (d === "sqlite" && !committed) committedHealth.set(db, (committed = new Map<string, string>()));
  const rows = [...latest.values()];
  const healthChanged: PendingReport[] = [];
  const healthSame: PendingReport[] = [];
  for (const r of rows) (committed?.get(r.machineRef) === healthKey(r.health) ? healthSame : healthChanged).push(r);
  const updates = [];
  for (const [group, withBand] of [
    [healthChanged, true],
    [healthSame, false],
  ] as const) {
    for (let i = 0; i < group.length; i += UPDATE_CHUNK) {
      const chunk = group.slice(i, i + UPDATE_CHUNK);
      // One statement updates the whole chunk (SQLite names VALUES columns column1..columnN). onlineUntil
      // is lastSeenAt + ONLINE_INTERVALS report intervals, in the ISO text Prisma stores.
      const types = ["text", "timestamp", "timestamp", "double", "double", "double", "int", "text", "text"] as const;
      const row = valuesRow(d, withBand ? [...types, "text", "int"] : [...types]);
      const values = chunk.map(() => row).join(", ");
      const params = chunk.flatMap((r) => [
        r.machineRef,
        r.at,
        ...figuresOf(r),
        JSON.stringify(r.health.reasons),
        ...(withBand ? [r.health.health, r.health.score] : []),
      ]);
      updates.push(
        db.$executeRawUnsafe(
          `UPDATE "Machine" SET "lastSeenAt" = v.column2, "lastReportAt" = v.column3, "lastCpu" = v.column4, "lastMemory" = v.column5, ` +
            `"lastDisk" = v.column6, "lastUptime" = v.column7, "lastExtras" = v.column8, "healthReasons" = v.column9, ` +
            (withBand ? `"health" = v.column10, "healthScore" = v.column11, ` : "") +
            `"onlineUntil" = ${addSeconds(d, "v.column2", `${ONLINE_INTERVALS} * "Machine"."reportIntervalSec"`)} FROM (VALUES ${values}) AS v WHERE "Machine"."id" = v.column1`,
          ...params,
        ),
      );
    }
  }
  // Identity changes (a new agent version, a renamed host) are rare: plain updates.
  const identities = rows.filter((r) => r.identity && Object.keys(r.identity).length > 0);
  // Prisma's createMany compiles a plan per row count (about 0.2 ms a row here): plain multi-row INSERTs.
  const inserts = [];
  for (let i = 0; i < batch.length; i += UPDATE_CHUNK) {
    const chunk = batch.slice(i, i + UPDATE_CHUNK);
    inserts.push(
      db.$executeRawUnsafe(
        `INSERT INTO "MetricReport" ("machineRef", "at", "cpu", "memory", "disk", "uptime", "extras") VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
        ...chunk.flatMap((r) => [r.machineRef, ...figuresOf(r)]),
      ),
    );
  }
  await db.$transaction([
    ...inserts,
    ...updates,
    ...identities.map((r) =>
      // Labels are applied at first enrollment only; later identity updates carry hostname, os, version.
      db.machine.update({
        where: { id: r.machineRef },
        data: { hostname: r.identity!.hostname, os: r.identity!.os, agentVersion: r.identity!.agentVersion },
        select: { id: true },
      }),
    ),
  ]);
  for (const r of healthChanged) committed?.set(r.machineRef, healthKey(r.health));
}

/** A report's time and figures, in the column order of both statements. */
function figuresOf(r: PendingReport): unknown[] {
  return [
    r.at,
    r.report.cpuPercent,
    r.report.memoryPercent,
    r.report.diskPercent,
    r.report.uptimeSeconds,
    extrasOf(r.report),
  ];
}

function extrasOf(report: MetricReport): string | null {
  return report.extras ? JSON.stringify(report.extras) : null;
}

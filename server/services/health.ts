// Machine health, explainable: a band (good | degraded | critical), a score 0–100 for sorting worst
// first, and the reasons in words ("CPU 98 % over the last 3 reports"). Computed when a report is
// stored (so the band is an indexed column, not a rule every list re-evaluates), from the last few
// reports of the machine kept in memory. Never-reported machines have no band ("nodata"); offline is
// a separate state (Machine.onlineUntil), not a health band.
import type { HealthBand, MetricReport } from "../contract/index.ts";
import type { Db } from "../db.ts";
import { addSeconds, cast, dialectOf } from "../db/dialect.ts";

/** Reports remembered per machine: a sustained load needs this many in a row. */
export const HEALTH_WINDOW = 3;

/** Thresholds (percent). CPU and memory must hold over the window to be critical; one report is a spike. */
export const THRESHOLDS = {
  cpu: { degraded: 85, critical: 95 },
  memory: { degraded: 90, critical: 95 },
  disk: { degraded: 90, critical: 95 },
} as const;

export type Health = { health: Exclude<HealthBand, "nodata">; score: number; reasons: string[] };
type Figures = Pick<MetricReport, "cpuPercent" | "memoryPercent" | "diskPercent">;

/** Penalty rising linearly from 0 at `from` percent to `max` points at 100 percent. */
function overPenalty(value: number, from: number, max: number): number {
  return value <= from ? 0 : ((value - from) / (100 - from)) * max;
}

const rank: Record<Health["health"], number> = { good: 0, degraded: 1, critical: 2 };
const worse = (a: Health["health"], b: Health["health"]) => (rank[a] >= rank[b] ? a : b);
const pct = (v: number) => `${Math.round(v)} %`;

/**
 * Health of a machine from its recent reports, newest first (at least one).
 * - CPU or memory at or above its threshold in every report of a full window (3): critical or
 *   degraded, "CPU 98 % over the last 3 reports"; above it in the latest report only: degraded, "CPU
 *   98 % in the latest report" (a spike is worth a look, not an alarm).
 * - Disk (slow to change): the latest report decides, "Disk 97 % full".
 * - Score: 100 minus penalties (CPU above 70 %: up to 30; memory above 75 %: up to 30; disk above
 *   80 %: up to 40), then kept inside its band (good ≥ 70, degraded 40–69, critical < 40), so sorting
 *   by score is sorting by band first. Several moderate figures together can make a machine degraded.
 */
export function assessHealth(recent: readonly Figures[]): Health {
  const latest = recent[0];
  if (!latest) throw new Error("assessHealth needs at least one report");
  const window = recent.slice(0, HEALTH_WINDOW);
  const full = window.length >= HEALTH_WINDOW;
  let band: Health["health"] = "good";
  const reasons: string[] = [];

  const sustained = (name: string, pick: (f: Figures) => number, t: { degraded: number; critical: number }) => {
    const now = pick(latest);
    if (now < t.degraded) return;
    const floor = Math.min(...window.map(pick));
    if (full && floor >= t.degraded) {
      band = worse(band, floor >= t.critical ? "critical" : "degraded");
      reasons.push(`${name} ${pct(now)} over the last ${window.length} reports`);
    } else {
      band = worse(band, "degraded");
      reasons.push(`${name} ${pct(now)} in the latest report`);
    }
  };
  sustained("CPU", (f) => f.cpuPercent, THRESHOLDS.cpu);
  sustained("Memory", (f) => f.memoryPercent, THRESHOLDS.memory);
  if (latest.diskPercent >= THRESHOLDS.disk.degraded) {
    band = worse(band, latest.diskPercent >= THRESHOLDS.disk.critical ? "critical" : "degraded");
    reasons.push(`Disk ${pct(latest.diskPercent)} full`);
  }

  const raw = Math.round(
    100 -
      overPenalty(latest.cpuPercent, 70, 30) -
      overPenalty(latest.memoryPercent, 75, 30) -
      overPenalty(latest.diskPercent, 80, 40),
  );
  const byScore: Health["health"] = raw >= 70 ? "good" : raw >= 40 ? "degraded" : "critical";
  if (rank[byScore] > rank[band] && reasons.length === 0) {
    // No single figure crossed a threshold: name the ones that add up.
    const parts = [
      latest.cpuPercent > 70 ? `CPU ${pct(latest.cpuPercent)}` : null,
      latest.memoryPercent > 75 ? `memory ${pct(latest.memoryPercent)}` : null,
      latest.diskPercent > 80 ? `disk ${pct(latest.diskPercent)}` : null,
    ].filter((p): p is string => p !== null);
    reasons.push(`High load together: ${parts.join(", ")}`);
  }
  band = worse(band, byScore);
  const score =
    band === "critical" ? Math.min(raw, 39) : band === "degraded" ? Math.min(Math.max(raw, 40), 69) : Math.max(raw, 70);
  return { health: band, score: Math.max(0, Math.min(100, score)), reasons };
}

/**
 * The last few reports of each machine, in memory (6 numbers per machine: about 10 MB at 100,000
 * machines). After a restart a machine's window refills within three reports; until then a high
 * figure counts as "in the latest report" (degraded at most), never as a false alarm.
 */
export class HealthWindow {
  readonly #recent = new Map<string, Float32Array>();

  /** Adds a report of a machine and returns its health over the window. */
  observe(machineRef: string, report: Figures): Health {
    // Layout: [n, cpu0, mem0, cpu1, mem1, cpu2, mem2], newest first.
    let w = this.#recent.get(machineRef);
    if (!w) this.#recent.set(machineRef, (w = new Float32Array(1 + 2 * HEALTH_WINDOW)));
    w.copyWithin(3, 1, 1 + 2 * (HEALTH_WINDOW - 1));
    w[1] = report.cpuPercent;
    w[2] = report.memoryPercent;
    w[0] = Math.min(HEALTH_WINDOW, w[0]! + 1);
    const recent: Figures[] = [];
    for (let i = 0; i < w[0]; i++)
      recent.push({ cpuPercent: w[1 + 2 * i]!, memoryPercent: w[2 + 2 * i]!, diskPercent: report.diskPercent });
    return assessHealth(recent);
  }

  /** Forgets a machine (retired or re-enrolled: its next report starts a fresh window). */
  forget(machineRef: string): void {
    this.#recent.delete(machineRef);
  }

  /** Whether a machine's recent reports are held (memory-boundedness is tested by this, not by timing). */
  has(machineRef: string): boolean {
    return this.#recent.has(machineRef);
  }
}

/** A machine is online until this many report intervals after its last contact. */
export const ONLINE_INTERVALS = 3;

/** When a machine seen at `seenAt` stops counting as online (stored in Machine.onlineUntil, indexed). */
export function onlineUntilOf(seenAt: Date, reportIntervalSec: number): Date {
  return new Date(seenAt.getTime() + ONLINE_INTERVALS * reportIntervalSec * 1000);
}

/** Rows per backfill statement: bounded, so a start with 100,000 old rows never holds one huge write. */
const BACKFILL_BATCH = 2000;

/**
 * Fills onlineUntil and health for rows written before these columns existed (or bulk-inserted
 * without them): onlineUntil from lastSeenAt, health from the latest stored figures (one report, so
 * a high CPU counts as "in the latest report"). Runs at start in bounded batches; returns the rows changed.
 */
export async function backfillFleetState(db: Db): Promise<{ onlineUntil: number; health: number }> {
  let onlineUntil = 0;
  for (;;) {
    const n = await db.$executeRawUnsafe(
      `UPDATE "Machine" SET "onlineUntil" = ${addSeconds(dialectOf(db), '"lastSeenAt"', `${ONLINE_INTERVALS} * "reportIntervalSec"`)} ` +
        `WHERE "id" IN (SELECT "id" FROM "Machine" WHERE "onlineUntil" IS NULL LIMIT ${BACKFILL_BATCH})`,
    );
    onlineUntil += n;
    if (n < BACKFILL_BATCH) break;
  }
  let health = 0;
  for (;;) {
    const rows = await db.$queryRawUnsafe<{ id: string; cpu: number; memory: number; disk: number }[]>(
      `SELECT "id", "lastCpu" AS cpu, "lastMemory" AS memory, "lastDisk" AS disk FROM "Machine" ` +
        `WHERE "health" IS NULL AND "lastCpu" IS NOT NULL AND "lastMemory" IS NOT NULL AND "lastDisk" IS NOT NULL LIMIT ${BACKFILL_BATCH}`,
    );
    if (rows.length === 0) break;
    const d = dialectOf(db);
    const values = rows.map(() => `(?, ?, ${cast(d, "?", "int")}, ?)`).join(", ");
    const params = rows.flatMap((r) => {
      const h = assessHealth([{ cpuPercent: r.cpu, memoryPercent: r.memory, diskPercent: r.disk }]);
      return [r.id, h.health, h.score, JSON.stringify(h.reasons)];
    });
    await db.$executeRawUnsafe(
      `UPDATE "Machine" SET "health" = v.column2, "healthScore" = v.column3, "healthReasons" = v.column4 FROM (VALUES ${values}) AS v WHERE "Machine"."id" = v.column1`,
      ...params,
    );
    health += rows.length;
    if (rows.length < BACKFILL_BATCH) break;
  }
  return { onlineUntil, health };
}

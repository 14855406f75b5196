// A machine's metric history for a chart window, read from the resolution that suits it: raw reports
// while a chart point spans less than 5 minutes (and the window is within the raw retention), 5-minute
// rollups while it spans less than an hour (within their retention), hourly rollups beyond. Points are
// grouped in SQL into buckets of the chart's step, so a chart gets at most ~TARGET_POINTS + 1 of them
// whatever the window or the report interval.
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import {
  historyWindowSeconds,
  type HistoryPoint,
  type HistoryResolution,
  type HistoryWindow,
} from "../contract/history.ts";
import type { Db } from "../db.ts";
import { dialectOf } from "../db/dialect.ts";
import { epochSecondsSql, rollupResolutions } from "./metricRollup.ts";

/** Without a window: this many newest raw reports (what fleet.machine always returned). */
export const NEWEST_POINTS = 120;
/** A chart of a window gets about this many points (one per step). */
export const TARGET_POINTS = 288;

/** Where a window's history is read from and how wide each point is. */
export function historyPlan(
  windowSeconds: number,
  retention: Pick<Config["retention"], "rawHours" | "fiveMinuteDays">,
): { source: HistoryResolution; stepSeconds: number } {
  const wanted = Math.ceil(windowSeconds / TARGET_POINTS);
  const roundUp = (step: number) => Math.max(step, Math.ceil(wanted / step) * step);
  if (wanted < rollupResolutions["5m"] && windowSeconds <= retention.rawHours * 3600)
    return { source: "raw", stepSeconds: wanted };
  if (wanted < rollupResolutions["1h"] && windowSeconds <= retention.fiveMinuteDays * 24 * 3600)
    return { source: "5m", stepSeconds: roundUp(rollupResolutions["5m"]) };
  return { source: "1h", stepSeconds: roundUp(rollupResolutions["1h"]) };
}

type PointRow = { b: number | bigint; cpu: number; memory: number; disk: number };

/** A machine's history (oldest first): the newest raw reports, or a window at its resolution. */
export async function metricHistory(
  deps: { db: Db; clock: Clock; config: Pick<Config, "retention"> },
  machineRef: string,
  window?: HistoryWindow,
): Promise<{ resolution: HistoryResolution; stepSeconds: number | null; points: HistoryPoint[] }> {
  const { db, clock, config } = deps;
  if (!window) {
    const reports = await db.metricReport.findMany({
      where: { machineRef },
      orderBy: [{ at: "desc" }, { id: "desc" }],
      take: NEWEST_POINTS,
      select: { at: true, cpu: true, memory: true, disk: true },
    });
    const points = reports
      .reverse()
      .map((r) => ({ at: r.at.toISOString(), cpuPercent: r.cpu, memoryPercent: r.memory, diskPercent: r.disk }));
    return { resolution: "raw", stepSeconds: null, points };
  }
  const seconds = historyWindowSeconds[window];
  const { source, stepSeconds: step } = historyPlan(seconds, config.retention);
  const now = clock.now();
  // Whole steps from the epoch, so the same bucket reads the same whatever the request time.
  const from = new Date(Math.floor((now.getTime() / 1000 - seconds) / step) * step * 1000);
  const bucket = `(${epochSecondsSql('"at"', dialectOf(db))} / ${step}) * ${step}`;
  const rows =
    source === "raw"
      ? await db.$queryRawUnsafe<PointRow[]>(
          `SELECT ${bucket} AS b, AVG("cpu") AS cpu, AVG("memory") AS memory, AVG("disk") AS disk FROM "MetricReport" ` +
            `WHERE "machineRef" = ? AND "at" >= ? AND "at" <= ? GROUP BY b ORDER BY b`,
          machineRef,
          from,
          now,
        )
      : await db.$queryRawUnsafe<PointRow[]>(
          // An average of averages is weighted by each bucket's samples.
          `SELECT ${bucket} AS b, SUM("cpuAvg" * "samples") / SUM("samples") AS cpu, SUM("memoryAvg" * "samples") / SUM("samples") AS memory, ` +
            `SUM("diskAvg" * "samples") / SUM("samples") AS disk FROM "MetricRollup" ` +
            `WHERE "machineRef" = ? AND "resolution" = ? AND "at" >= ? AND "at" <= ? GROUP BY b ORDER BY b`,
          machineRef,
          source,
          from,
          now,
        );
  const points = rows.map((r) => ({
    at: new Date(Number(r.b) * 1000).toISOString(),
    cpuPercent: r.cpu,
    memoryPercent: r.memory,
    diskPercent: r.disk,
  }));
  return { resolution: source, stepSeconds: step, points };
}

// Metric history windows a chart may ask fleet.machine for, and the points it gets back.
import { z } from "zod";

/** Seconds of each window a machine's metric chart can show. */
export const historyWindowSeconds = {
  "1h": 3600,
  "24h": 24 * 3600,
  "7d": 7 * 24 * 3600,
  "30d": 30 * 24 * 3600,
  "1y": 365 * 24 * 3600,
} as const;
/** fleet.machine's optional `window`: without it the history is the newest raw reports, as before. */
export const HistoryWindow = z.enum(
  Object.keys(historyWindowSeconds) as [keyof typeof historyWindowSeconds, ...(keyof typeof historyWindowSeconds)[]],
);
export type HistoryWindow = z.infer<typeof HistoryWindow>;

/** Which stored resolution a history was read from: raw reports, or 5-minute / hourly rollups. */
export type HistoryResolution = "raw" | "5m" | "1h";

/** One point of a chart: averages over the point's bucket (or one raw report), oldest first. */
export type HistoryPoint = { at: string; cpuPercent: number; memoryPercent: number; diskPercent: number };

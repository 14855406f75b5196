// Metric rollups: raw MetricReport rows merged into 5-minute and hourly aggregates (min/avg/max of
// cpu, memory and disk, and the sample count) in MetricRollup. The rollup reads raw rows in id order
// from a high-water mark (RetentionState "rollup") and merges each batch into its buckets in the same
// transaction that moves the mark: a row is counted exactly once however often the job runs or
// crashes, a bucket may be filled over several batches (late rows merge in), and pruning never
// deletes a raw row above the mark, so nothing is lost between resolutions.
import type { Db } from "../db.ts";
import { dialectOf, type Dialect } from "../db/dialect.ts";

const rowId = (db: Db) => (dialectOf(db) === "postgresql" ? "ctid" : "rowid");

/** The two rollup resolutions and their bucket length in seconds. */
export const rollupResolutions = { "5m": 300, "1h": 3600 } as const;
export type RollupResolution = keyof typeof rollupResolutions;

/** RetentionState key of the rollup's high-water mark on MetricReport.id. */
export const ROLLUP_MARK = "rollup";

/** Unix seconds of a stored DateTime (Prisma stores ISO text such as 2026-01-01T00:00:07.123+00:00). */
export const epochSecondsSql = (column: string, dialect: Dialect = "sqlite") =>
  dialect === "postgresql"
    ? `CAST(FLOOR(EXTRACT(EPOCH FROM ${column})) AS BIGINT)`
    : `CAST(strftime('%s', ${column}) AS INTEGER)`;
/** A unix-seconds expression back to the ISO text Prisma stores and reads. */
export const isoOfEpochSql = (seconds: string, dialect: Dialect = "sqlite") =>
  dialect === "postgresql"
    ? `(to_timestamp(${seconds}) AT TIME ZONE 'UTC')`
    : `strftime('%Y-%m-%dT%H:%M:%f+00:00', ${seconds}, 'unixepoch')`;

/**
 * Merges raw rows with id in (from, to] into buckets of one resolution. The new aggregate of a bucket
 * is computed from the old one and the batch: samples add up, min/max combine, the average is weighted
 * by samples (SET expressions read the row's old values, as in any SQLite UPDATE).
 */
function mergeSql(resolution: RollupResolution, dialect: Dialect): string {
  const step = rollupResolutions[resolution];
  // Two-argument min/max are LEAST/GREATEST on PostgreSQL; the old row is named by its table on both.
  const [least, greatest] = dialect === "postgresql" ? ["LEAST", "GREATEST"] : ["min", "max"];
  const t = `"MetricRollup"`;
  const merged = (m: "cpu" | "memory" | "disk") =>
    `"${m}Min" = ${least}(${t}."${m}Min", excluded."${m}Min"), "${m}Max" = ${greatest}(${t}."${m}Max", excluded."${m}Max"), ` +
    `"${m}Avg" = (${t}."${m}Avg" * ${t}."samples" + excluded."${m}Avg" * excluded."samples") / (${t}."samples" + excluded."samples")`;
  return (
    `INSERT INTO "MetricRollup" ("machineRef", "resolution", "at", "samples", "cpuMin", "cpuAvg", "cpuMax", ` +
    `"memoryMin", "memoryAvg", "memoryMax", "diskMin", "diskAvg", "diskMax") ` +
    `SELECT "machineRef", '${resolution}', ${isoOfEpochSql(`(${epochSecondsSql('"at"', dialect)} / ${step}) * ${step}`, dialect)} AS bucket, COUNT(*), ` +
    `MIN("cpu"), AVG("cpu"), MAX("cpu"), MIN("memory"), AVG("memory"), MAX("memory"), MIN("disk"), AVG("disk"), MAX("disk") ` +
    `FROM "MetricReport" WHERE "id" > ? AND "id" <= ? GROUP BY "machineRef", bucket ` +
    `ON CONFLICT ("machineRef", "resolution", "at") DO UPDATE SET ${merged("cpu")}, ${merged("memory")}, ${merged("disk")}, ` +
    `"samples" = ${t}."samples" + excluded."samples"`
  );
}
const mergeStatements = {
  sqlite: { "5m": mergeSql("5m", "sqlite"), "1h": mergeSql("1h", "sqlite") },
  postgresql: { "5m": mergeSql("5m", "postgresql"), "1h": mergeSql("1h", "postgresql") },
} as const;

/** The rollup's high-water mark: every raw row with an id at or below it is in the rollups. */
export async function rollupMark(db: Db): Promise<number> {
  const row = await db.retentionState.findUnique({ where: { name: ROLLUP_MARK }, select: { value: true } });
  return row?.value ?? 0;
}

/**
 * Rolls up the next batch of at most `batchRows` raw rows past the mark. Returns how many raw rows it
 * merged (0: caught up). The mark moves only if it still holds the value read at the start, so two
 * processes running the job at once cannot merge the same rows twice: the loser rolls back.
 */
export async function rollupBatch(db: Db, batchRows: number): Promise<number> {
  return db.$transaction(async (tx) => {
    const found = await tx.retentionState.findUnique({ where: { name: ROLLUP_MARK }, select: { value: true } });
    const from = found?.value ?? 0;
    // PostgreSQL hands out ids from a sequence when a row is inserted, and concurrent writers (several
    // processes, or one process's report batch and the bench's) commit in any order: id 7 may become
    // visible after id 8. Moving the mark past 8 would then skip 7 forever (never rolled up, later
    // pruned). SHARE mode waits for every transaction that is inserting reports to end and keeps new
    // ones out until this batch commits (a few ms), so every id at or below the range's top is final.
    // SQLite has one writer: ids become visible in order.
    if (dialectOf(tx) === "postgresql") await tx.$executeRawUnsafe(`LOCK TABLE "MetricReport" IN SHARE MODE`);
    const [range] = await tx.$queryRawUnsafe<{ hi: number | bigint | null; n: number | bigint }[]>(
      `SELECT MAX("id") AS hi, COUNT(*) AS n FROM (SELECT "id" FROM "MetricReport" WHERE "id" > ? ORDER BY "id" LIMIT ?) AS batch`,
      from,
      batchRows,
    );
    const n = Number(range?.n ?? 0);
    if (!range || range.hi === null || n === 0) return 0;
    const to = Number(range.hi);
    const moved = found
      ? await tx.retentionState.updateMany({ where: { name: ROLLUP_MARK, value: from }, data: { value: to } })
      : await tx.retentionState.createMany({ data: [{ name: ROLLUP_MARK, value: to }] });
    if (moved.count !== 1)
      throw new Error("rollup mark moved under this batch (another process rolls up): retried next round");
    const merge = mergeStatements[dialectOf(tx)];
    await tx.$executeRawUnsafe(merge["5m"], from, to);
    await tx.$executeRawUnsafe(merge["1h"], from, to);
    return n;
  });
}

/**
 * Deletes at most `batchRows` raw rows older than `before` that are already rolled up (id ≤ mark).
 * Returns how many it deleted.
 */
export async function pruneRawBatch(db: Db, before: Date, batchRows: number): Promise<number> {
  const mark = await rollupMark(db);
  return db.$executeRawUnsafe(
    `DELETE FROM "MetricReport" WHERE "id" IN (SELECT "id" FROM "MetricReport" WHERE "at" < ? AND "id" <= ? ORDER BY "at" LIMIT ?)`,
    before,
    mark,
    batchRows,
  );
}

/** Deletes at most `batchRows` rollup rows of one resolution whose bucket starts before `before`. */
export async function pruneRollupBatch(
  db: Db,
  resolution: RollupResolution,
  before: Date,
  batchRows: number,
): Promise<number> {
  return db.$executeRawUnsafe(
    // PostgreSQL has no rowid: its physical row id is ctid.
    `DELETE FROM "MetricRollup" WHERE ${rowId(db)} IN (SELECT ${rowId(db)} FROM "MetricRollup" WHERE "resolution" = ? AND "at" < ? ORDER BY "at" LIMIT ?)`,
    resolution,
    before,
    batchRows,
  );
}

-- Bounded storage: how far the metric rollup has read the raw reports (a high-water mark on
-- MetricReport.id), committed in the same transaction as the rollup rows, so a bucket is never
-- counted twice and no raw row is pruned before it has been rolled up.
CREATE TABLE "RetentionState" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "value" INTEGER NOT NULL
);

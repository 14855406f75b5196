-- Cache invalidations that every server process must hear within a second (a revoked key, a retired
-- or re-enrolled machine, an organization's legacy-agent switch), whichever process or CLI made them.
-- Each process polls rows newer than the last id it saw; old rows are pruned.
CREATE TABLE "Invalidation" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "kind" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "at" DATETIME NOT NULL
);

CREATE INDEX "Invalidation_at_idx" ON "Invalidation"("at");

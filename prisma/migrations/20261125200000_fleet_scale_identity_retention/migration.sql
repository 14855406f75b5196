-- Fleet at scale (labels, display names, indexed health and online state, bulk jobs, saved views),
-- one identity per machine (retire, re-enrollment approval, one-time enrollment tokens, legacy mode),
-- bounded storage (metric rollups, pruning indexes) and the end-user progress channel.
-- AlterTable
ALTER TABLE "Machine" ADD COLUMN "displayName" TEXT;
ALTER TABLE "Machine" ADD COLUMN "enrollTokenExpiresAt" DATETIME;
ALTER TABLE "Machine" ADD COLUMN "enrollTokenHash" TEXT;
ALTER TABLE "Machine" ADD COLUMN "health" TEXT;
ALTER TABLE "Machine" ADD COLUMN "healthReasons" TEXT;
ALTER TABLE "Machine" ADD COLUMN "healthScore" INTEGER;
ALTER TABLE "Machine" ADD COLUMN "onlineUntil" DATETIME;
ALTER TABLE "Machine" ADD COLUMN "reenrollApprovedUntil" DATETIME;
ALTER TABLE "Machine" ADD COLUMN "reenrollRequest" TEXT;
ALTER TABLE "Machine" ADD COLUMN "reenrollRequestedAt" DATETIME;
ALTER TABLE "Machine" ADD COLUMN "retiredAt" DATETIME;

-- AlterTable
ALTER TABLE "ActionEvent" ADD COLUMN "kind" TEXT;

-- CreateTable
CREATE TABLE "MachineLabel" (
    "machineRef" TEXT NOT NULL,
    "orgId" TEXT NOT NULL,
    "label" TEXT NOT NULL,

    PRIMARY KEY ("machineRef", "label"),
    CONSTRAINT "MachineLabel_machineRef_fkey" FOREIGN KEY ("machineRef") REFERENCES "Machine" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "MetricRollup" (
    "machineRef" TEXT NOT NULL,
    "resolution" TEXT NOT NULL,
    "at" DATETIME NOT NULL,
    "samples" INTEGER NOT NULL,
    "cpuMin" REAL NOT NULL,
    "cpuAvg" REAL NOT NULL,
    "cpuMax" REAL NOT NULL,
    "memoryMin" REAL NOT NULL,
    "memoryAvg" REAL NOT NULL,
    "memoryMax" REAL NOT NULL,
    "diskMin" REAL NOT NULL,
    "diskAvg" REAL NOT NULL,
    "diskMax" REAL NOT NULL,

    PRIMARY KEY ("machineRef", "resolution", "at"),
    CONSTRAINT "MetricRollup_machineRef_fkey" FOREIGN KEY ("machineRef") REFERENCES "Machine" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "BulkJob" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "orgId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "count" INTEGER NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "cancelledAt" DATETIME,
    CONSTRAINT "BulkJob_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "SavedView" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "query" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "SavedView_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Organization" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "legacyAgents" BOOLEAN NOT NULL DEFAULT false,
    "machineQuota" INTEGER,
    "rebootPolicy" TEXT,
    "brandName" TEXT,
    "supportText" TEXT,
    "logo" BLOB,
    "logoType" TEXT
);
INSERT INTO "new_Organization" ("createdAt", "id", "name") SELECT "createdAt", "id", "name" FROM "Organization";
DROP TABLE "Organization";
ALTER TABLE "new_Organization" RENAME TO "Organization";
CREATE TABLE "new_Action" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "seq" INTEGER NOT NULL,
    "orgId" TEXT NOT NULL,
    "machineRef" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "result" TEXT,
    "outcome" TEXT,
    "createdBy" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "deliveryCount" INTEGER NOT NULL DEFAULT 0,
    "claimToken" TEXT,
    "leaseUntil" DATETIME,
    "deliveredAt" DATETIME,
    "ackedAt" DATETIME,
    "executeDeadline" DATETIME,
    "finishedAt" DATETIME,
    "bulkId" TEXT,
    "progress" TEXT,
    CONSTRAINT "Action_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Action_machineRef_fkey" FOREIGN KEY ("machineRef") REFERENCES "Machine" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Action_bulkId_fkey" FOREIGN KEY ("bulkId") REFERENCES "BulkJob" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_Action" ("ackedAt", "claimToken", "createdAt", "createdBy", "deliveredAt", "deliveryCount", "executeDeadline", "expiresAt", "finishedAt", "id", "leaseUntil", "machineRef", "orgId", "outcome", "payload", "result", "seq", "status", "type") SELECT "ackedAt", "claimToken", "createdAt", "createdBy", "deliveredAt", "deliveryCount", "executeDeadline", "expiresAt", "finishedAt", "id", "leaseUntil", "machineRef", "orgId", "outcome", "payload", "result", "seq", "status", "type" FROM "Action";
DROP TABLE "Action";
ALTER TABLE "new_Action" RENAME TO "Action";
CREATE UNIQUE INDEX "Action_seq_key" ON "Action"("seq");
CREATE INDEX "Action_machineRef_status_seq_idx" ON "Action"("machineRef", "status", "seq");
CREATE INDEX "Action_orgId_createdAt_idx" ON "Action"("orgId", "createdAt");
CREATE INDEX "Action_orgId_seq_idx" ON "Action"("orgId", "seq");
CREATE INDEX "Action_orgId_status_seq_idx" ON "Action"("orgId", "status", "seq");
CREATE INDEX "Action_orgId_type_seq_idx" ON "Action"("orgId", "type", "seq");
CREATE INDEX "Action_orgId_createdBy_seq_idx" ON "Action"("orgId", "createdBy", "seq");
CREATE INDEX "Action_bulkId_status_idx" ON "Action"("bulkId", "status");
CREATE INDEX "Action_status_leaseUntil_idx" ON "Action"("status", "leaseUntil");
CREATE INDEX "Action_status_expiresAt_idx" ON "Action"("status", "expiresAt");
CREATE INDEX "Action_status_executeDeadline_idx" ON "Action"("status", "executeDeadline");
CREATE INDEX "Action_finishedAt_idx" ON "Action"("finishedAt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "MachineLabel_orgId_label_idx" ON "MachineLabel"("orgId", "label");

-- CreateIndex
CREATE INDEX "MetricRollup_resolution_at_idx" ON "MetricRollup"("resolution", "at");

-- CreateIndex
CREATE INDEX "BulkJob_orgId_createdAt_idx" ON "BulkJob"("orgId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "SavedView_userId_name_key" ON "SavedView"("userId", "name");

-- CreateIndex
CREATE INDEX "Session_expiresAt_idx" ON "Session"("expiresAt");

-- CreateIndex
CREATE UNIQUE INDEX "Machine_enrollTokenHash_key" ON "Machine"("enrollTokenHash");

-- CreateIndex
CREATE INDEX "Machine_orgId_hostname_idx" ON "Machine"("orgId", "hostname");

-- CreateIndex
CREATE INDEX "Machine_orgId_onlineUntil_idx" ON "Machine"("orgId", "onlineUntil");

-- CreateIndex
CREATE INDEX "Machine_orgId_health_healthScore_idx" ON "Machine"("orgId", "health", "healthScore");

-- CreateIndex
CREATE INDEX "Machine_orgId_healthScore_idx" ON "Machine"("orgId", "healthScore");

-- CreateIndex
CREATE INDEX "Machine_orgId_lastSeenAt_idx" ON "Machine"("orgId", "lastSeenAt");

-- CreateIndex
CREATE INDEX "Machine_orgId_lastCpu_idx" ON "Machine"("orgId", "lastCpu");

-- CreateIndex
CREATE INDEX "Machine_orgId_lastMemory_idx" ON "Machine"("orgId", "lastMemory");

-- CreateIndex
CREATE INDEX "Machine_orgId_lastDisk_idx" ON "Machine"("orgId", "lastDisk");

-- CreateIndex
CREATE INDEX "Machine_orgId_os_idx" ON "Machine"("orgId", "os");

-- CreateIndex
CREATE INDEX "MetricReport_at_idx" ON "MetricReport"("at");

-- CreateIndex
CREATE INDEX "AuditLog_orgId_actor_at_idx" ON "AuditLog"("orgId", "actor", "at");

-- CreateIndex
CREATE INDEX "AuditLog_orgId_action_at_idx" ON "AuditLog"("orgId", "action", "at");

-- CreateIndex
CREATE INDEX "AuditLog_at_idx" ON "AuditLog"("at");


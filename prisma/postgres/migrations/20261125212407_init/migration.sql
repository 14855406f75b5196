-- CreateTable
CREATE TABLE "Organization" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "legacyAgents" BOOLEAN NOT NULL DEFAULT false,
    "machineQuota" INTEGER,
    "rebootPolicy" TEXT,
    "brandName" TEXT,
    "supportText" TEXT,
    "logo" BYTEA,
    "logoType" TEXT,

    CONSTRAINT "Organization_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "orgId" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "passwordHash" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Session" (
    "id" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL,
    "orgId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "keyHash" TEXT NOT NULL,
    "scopes" TEXT NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Machine" (
    "id" TEXT NOT NULL,
    "orgId" TEXT NOT NULL,
    "machineId" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "displayName" TEXT,
    "os" TEXT NOT NULL,
    "agentVersion" TEXT NOT NULL,
    "tokenHash" TEXT,
    "reportIntervalSec" INTEGER NOT NULL DEFAULT 10,
    "firstSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastCpu" DOUBLE PRECISION,
    "lastMemory" DOUBLE PRECISION,
    "lastDisk" DOUBLE PRECISION,
    "lastUptime" INTEGER,
    "lastExtras" TEXT,
    "lastReportAt" TIMESTAMP(3),
    "onlineUntil" TIMESTAMP(3),
    "health" TEXT,
    "healthScore" INTEGER,
    "healthReasons" TEXT,
    "retiredAt" TIMESTAMP(3),
    "reenrollRequest" TEXT,
    "reenrollRequestedAt" TIMESTAMP(3),
    "reenrollApprovedUntil" TIMESTAMP(3),
    "enrollTokenHash" TEXT,
    "enrollTokenExpiresAt" TIMESTAMP(3),

    CONSTRAINT "Machine_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MachineLabel" (
    "machineRef" TEXT NOT NULL,
    "orgId" TEXT NOT NULL,
    "label" TEXT NOT NULL,

    CONSTRAINT "MachineLabel_pkey" PRIMARY KEY ("machineRef","label")
);

-- CreateTable
CREATE TABLE "MetricReport" (
    "id" SERIAL NOT NULL,
    "machineRef" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "cpu" DOUBLE PRECISION NOT NULL,
    "memory" DOUBLE PRECISION NOT NULL,
    "disk" DOUBLE PRECISION NOT NULL,
    "uptime" INTEGER NOT NULL,
    "extras" TEXT,

    CONSTRAINT "MetricReport_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MetricRollup" (
    "machineRef" TEXT NOT NULL,
    "resolution" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "samples" INTEGER NOT NULL,
    "cpuMin" DOUBLE PRECISION NOT NULL,
    "cpuAvg" DOUBLE PRECISION NOT NULL,
    "cpuMax" DOUBLE PRECISION NOT NULL,
    "memoryMin" DOUBLE PRECISION NOT NULL,
    "memoryAvg" DOUBLE PRECISION NOT NULL,
    "memoryMax" DOUBLE PRECISION NOT NULL,
    "diskMin" DOUBLE PRECISION NOT NULL,
    "diskAvg" DOUBLE PRECISION NOT NULL,
    "diskMax" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "MetricRollup_pkey" PRIMARY KEY ("machineRef","resolution","at")
);

-- CreateTable
CREATE TABLE "Action" (
    "id" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "orgId" TEXT NOT NULL,
    "machineRef" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "result" TEXT,
    "outcome" TEXT,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "deliveryCount" INTEGER NOT NULL DEFAULT 0,
    "claimToken" TEXT,
    "leaseUntil" TIMESTAMP(3),
    "deliveredAt" TIMESTAMP(3),
    "ackedAt" TIMESTAMP(3),
    "executeDeadline" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "bulkId" TEXT,
    "progress" TEXT,

    CONSTRAINT "Action_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BulkJob" (
    "id" TEXT NOT NULL,
    "orgId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "count" INTEGER NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "cancelledAt" TIMESTAMP(3),

    CONSTRAINT "BulkJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SavedView" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "query" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SavedView_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ActionEvent" (
    "id" SERIAL NOT NULL,
    "actionId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "detail" TEXT,
    "kind" TEXT,

    CONSTRAINT "ActionEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditLog" (
    "id" SERIAL NOT NULL,
    "orgId" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT,
    "detail" TEXT,
    "at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Invalidation" (
    "id" SERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Invalidation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RetentionState" (
    "name" TEXT NOT NULL,
    "value" INTEGER NOT NULL,

    CONSTRAINT "RetentionState_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE INDEX "User_orgId_idx" ON "User"("orgId");

-- CreateIndex
CREATE INDEX "User_email_idx" ON "User"("email");

-- CreateIndex
CREATE UNIQUE INDEX "User_orgId_email_key" ON "User"("orgId", "email");

-- CreateIndex
CREATE UNIQUE INDEX "Session_tokenHash_key" ON "Session"("tokenHash");

-- CreateIndex
CREATE INDEX "Session_userId_idx" ON "Session"("userId");

-- CreateIndex
CREATE INDEX "Session_expiresAt_idx" ON "Session"("expiresAt");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_keyHash_key" ON "ApiKey"("keyHash");

-- CreateIndex
CREATE INDEX "ApiKey_orgId_idx" ON "ApiKey"("orgId");

-- CreateIndex
CREATE UNIQUE INDEX "Machine_tokenHash_key" ON "Machine"("tokenHash");

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
CREATE INDEX "Machine_page_hostname_idx" ON "Machine"("orgId", "retiredAt", "hostname", "id");

-- CreateIndex
CREATE INDEX "Machine_page_lastSeen_idx" ON "Machine"("orgId", "retiredAt", "lastSeenAt", "id");

-- CreateIndex
CREATE INDEX "Machine_live_online_idx" ON "Machine"("orgId", "retiredAt", "onlineUntil");

-- CreateIndex
CREATE INDEX "Machine_live_os_idx" ON "Machine"("orgId", "retiredAt", "os", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Machine_orgId_machineId_key" ON "Machine"("orgId", "machineId");

-- CreateIndex
CREATE INDEX "MachineLabel_orgId_label_idx" ON "MachineLabel"("orgId", "label");

-- CreateIndex
CREATE INDEX "MachineLabel_orgId_label_machineRef_idx" ON "MachineLabel"("orgId", "label", "machineRef");

-- CreateIndex
CREATE INDEX "MetricReport_machineRef_at_idx" ON "MetricReport"("machineRef", "at");

-- CreateIndex
CREATE INDEX "MetricReport_at_idx" ON "MetricReport"("at");

-- CreateIndex
CREATE INDEX "MetricRollup_resolution_at_idx" ON "MetricRollup"("resolution", "at");

-- CreateIndex
CREATE UNIQUE INDEX "Action_seq_key" ON "Action"("seq");

-- CreateIndex
CREATE INDEX "Action_machineRef_status_seq_idx" ON "Action"("machineRef", "status", "seq");

-- CreateIndex
CREATE INDEX "Action_orgId_createdAt_idx" ON "Action"("orgId", "createdAt");

-- CreateIndex
CREATE INDEX "Action_orgId_seq_idx" ON "Action"("orgId", "seq");

-- CreateIndex
CREATE INDEX "Action_orgId_status_seq_idx" ON "Action"("orgId", "status", "seq");

-- CreateIndex
CREATE INDEX "Action_orgId_type_seq_idx" ON "Action"("orgId", "type", "seq");

-- CreateIndex
CREATE INDEX "Action_orgId_createdBy_seq_idx" ON "Action"("orgId", "createdBy", "seq");

-- CreateIndex
CREATE INDEX "Action_bulkId_status_idx" ON "Action"("bulkId", "status");

-- CreateIndex
CREATE INDEX "Action_status_leaseUntil_idx" ON "Action"("status", "leaseUntil");

-- CreateIndex
CREATE INDEX "Action_status_expiresAt_idx" ON "Action"("status", "expiresAt");

-- CreateIndex
CREATE INDEX "Action_status_executeDeadline_idx" ON "Action"("status", "executeDeadline");

-- CreateIndex
CREATE INDEX "Action_finishedAt_idx" ON "Action"("finishedAt");

-- CreateIndex
CREATE INDEX "BulkJob_orgId_createdAt_idx" ON "BulkJob"("orgId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "SavedView_userId_name_key" ON "SavedView"("userId", "name");

-- CreateIndex
CREATE INDEX "ActionEvent_actionId_at_idx" ON "ActionEvent"("actionId", "at");

-- CreateIndex
CREATE INDEX "AuditLog_orgId_at_idx" ON "AuditLog"("orgId", "at");

-- CreateIndex
CREATE INDEX "AuditLog_orgId_actor_at_idx" ON "AuditLog"("orgId", "actor", "at");

-- CreateIndex
CREATE INDEX "AuditLog_orgId_action_at_idx" ON "AuditLog"("orgId", "action", "at");

-- CreateIndex
CREATE INDEX "AuditLog_at_idx" ON "AuditLog"("at");

-- CreateIndex
CREATE INDEX "Invalidation_at_idx" ON "Invalidation"("at");

-- AddForeignKey
ALTER TABLE "User" ADD CONSTRAINT "User_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Session" ADD CONSTRAINT "Session_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Machine" ADD CONSTRAINT "Machine_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MachineLabel" ADD CONSTRAINT "MachineLabel_machineRef_fkey" FOREIGN KEY ("machineRef") REFERENCES "Machine"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MetricReport" ADD CONSTRAINT "MetricReport_machineRef_fkey" FOREIGN KEY ("machineRef") REFERENCES "Machine"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MetricRollup" ADD CONSTRAINT "MetricRollup_machineRef_fkey" FOREIGN KEY ("machineRef") REFERENCES "Machine"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Action" ADD CONSTRAINT "Action_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Action" ADD CONSTRAINT "Action_machineRef_fkey" FOREIGN KEY ("machineRef") REFERENCES "Machine"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Action" ADD CONSTRAINT "Action_bulkId_fkey" FOREIGN KEY ("bulkId") REFERENCES "BulkJob"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BulkJob" ADD CONSTRAINT "BulkJob_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SavedView" ADD CONSTRAINT "SavedView_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ActionEvent" ADD CONSTRAINT "ActionEvent_actionId_fkey" FOREIGN KEY ("actionId") REFERENCES "Action"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AuditLog" ADD CONSTRAINT "AuditLog_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;


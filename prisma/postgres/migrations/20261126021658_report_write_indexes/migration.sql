-- DropIndex
DROP INDEX "Machine_orgId_onlineUntil_idx";

-- DropIndex
DROP INDEX "Machine_orgId_health_healthScore_idx";

-- DropIndex
DROP INDEX "Machine_orgId_healthScore_idx";

-- DropIndex
DROP INDEX "Machine_orgId_lastSeenAt_idx";

-- DropIndex
DROP INDEX "Machine_orgId_lastCpu_idx";

-- DropIndex
DROP INDEX "Machine_orgId_lastMemory_idx";

-- DropIndex
DROP INDEX "Machine_orgId_lastDisk_idx";

-- DropIndex
DROP INDEX "Machine_page_lastSeen_idx";


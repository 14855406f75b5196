-- Keyset paging of the fleet table and its counters. Every fleet query has "orgId" = ? AND "retiredAt"
-- IS NULL (retired machines are never in the table, its counters or a bulk target), so each index
-- starts with both; then the sort key and the row id as the tie-breaker. A page is an index range
-- (no sort of the fleet, no OFFSET) and a COUNT or GROUP BY reads one index alone (covering).
-- Sorts over nullable figures use COALESCE expressions (never-reported machines sort last), which
-- Prisma's schema cannot describe: those live only here, and server/services/fleetQuery.ts spells the
-- same expressions.
CREATE INDEX "Machine_page_hostname_idx" ON "Machine"("orgId", "retiredAt", "hostname", "id");
CREATE INDEX "Machine_page_lastSeen_idx" ON "Machine"("orgId", "retiredAt", "lastSeenAt", "id");
CREATE INDEX "Machine_page_health_idx" ON "Machine"("orgId", "retiredAt", COALESCE("healthScore", 101), "id");
CREATE INDEX "Machine_page_cpu_idx" ON "Machine"("orgId", "retiredAt", COALESCE("lastCpu", -1), "id");
CREATE INDEX "Machine_page_memory_idx" ON "Machine"("orgId", "retiredAt", COALESCE("lastMemory", -1), "id");
CREATE INDEX "Machine_page_disk_idx" ON "Machine"("orgId", "retiredAt", COALESCE("lastDisk", -1), "id");
-- Filters and the summary's counts: online state, band (paged by score within it), operating system.
CREATE INDEX "Machine_live_online_idx" ON "Machine"("orgId", "retiredAt", "onlineUntil");
CREATE INDEX "Machine_live_band_idx" ON "Machine"("orgId", "retiredAt", "health", COALESCE("healthScore", 101), "id");
CREATE INDEX "Machine_live_os_idx" ON "Machine"("orgId", "retiredAt", "os", "id");
-- Label filters and the label counts of the summary.
CREATE INDEX "MachineLabel_orgId_label_machineRef_idx" ON "MachineLabel"("orgId", "label", "machineRef");

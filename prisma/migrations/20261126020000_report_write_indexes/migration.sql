-- Fewer indexes over the columns every metric report rewrites. Each such index costs a report about
-- four pages written (the old entry's page, the new one's, each again at the checkpoint): with 14 of
-- them a 100,000-machine fleet wrote ~300 KB per report and fell behind (bench/report-writes.ts,
-- docs/benchmarks.md). Kept: the online filter and its counts (Machine_live_online_idx) and the health
-- sort and band filter (Machine_page_health_idx, Machine_live_band_idx), whose columns a report now
-- rewrites only when the health changed. Sorting by last seen or by a figure reads the org's rows and
-- keeps the top of the page (measured 30–90 ms at 100,000 machines, bench/fleet-query.ts).
-- Superseded by the paging indexes (every fleet query has "retiredAt" IS NULL):
DROP INDEX "Machine_orgId_onlineUntil_idx";
DROP INDEX "Machine_orgId_health_healthScore_idx";
DROP INDEX "Machine_orgId_healthScore_idx";
DROP INDEX "Machine_orgId_lastSeenAt_idx";
DROP INDEX "Machine_orgId_lastCpu_idx";
DROP INDEX "Machine_orgId_lastMemory_idx";
DROP INDEX "Machine_orgId_lastDisk_idx";
-- Sorts over what every report changes:
DROP INDEX "Machine_page_lastSeen_idx";
DROP INDEX "Machine_page_cpu_idx";
DROP INDEX "Machine_page_memory_idx";
DROP INDEX "Machine_page_disk_idx";

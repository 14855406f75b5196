// fleet.*: the machines of the caller's org, paged and filtered, with counters and one machine's detail.
import { z } from "zod";
import { HistoryWindow } from "../contract/history.ts";
import { FleetFilter, FleetQuery, MachineId } from "../contract/index.ts";
import { fleetSummary, listFleet, machineDetail } from "../services/fleet.ts";
import { adminProcedure, router } from "../trpc.ts";

export const fleetRouter = router({
  /** FleetQuery → {machines: MachineView[], nextCursor, total, reportIntervalSeconds}; keyset paging. */
  list: adminProcedure
    .input(FleetQuery.default({ limit: 50, sort: "hostname" }))
    .query(({ ctx, input }) => listFleet(ctx, ctx.admin.orgId, input, ctx.config.reportIntervalSeconds)),

  /** FleetFilter? → {total, online, offline, health: {good, degraded, critical, nodata}, os[], labels[]} */
  summary: adminProcedure
    .input(FleetFilter.default({}))
    .query(({ ctx, input }) => fleetSummary(ctx, ctx.admin.orgId, input)),

  /**
   * {machineId, window?: 1h|24h|7d|30d|1y} → {machine, history (oldest first: the newest 120 reports, or ≤ ~290
   * points of the window at its resolution), historyResolution, actions (newest 20)}; unknown → NOT_FOUND.
   */
  machine: adminProcedure
    .input(z.object({ machineId: MachineId, window: HistoryWindow.optional() }).strict())
    .query(({ ctx, input }) => machineDetail(ctx, ctx.admin.orgId, input.machineId, input.window)),
});

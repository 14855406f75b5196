// fleet.*: the machines of the caller's org with latest metrics, online state and health.
import { z } from "zod";
import { MachineId } from "../contract/index.ts";
import { listFleet, machineDetail } from "../services/fleet.ts";
import { adminProcedure, router } from "../trpc.ts";

export const FleetListInput = z
  .object({
    search: z.string().trim().max(128).optional(),
    online: z.boolean().optional(),
    sort: z.enum(["hostname", "machineId", "lastSeen", "health"]).optional(),
  })
  .strict()
  .default({});

export const fleetRouter = router({
  /** {search?, online?, sort?} → {machines: MachineView[], reportIntervalSeconds} */
  list: adminProcedure.input(FleetListInput).query(async ({ ctx, input }) => ({
    machines: await listFleet(ctx, ctx.admin.orgId, input),
    reportIntervalSeconds: ctx.config.reportIntervalSeconds,
  })),

  /** {machineId} → {machine, history (oldest first, ≤120), actions (newest 20)}; unknown → NOT_FOUND. */
  machine: adminProcedure
    .input(z.object({ machineId: MachineId }).strict())
    .query(({ ctx, input }) => machineDetail(ctx, ctx.admin.orgId, input.machineId)),
});

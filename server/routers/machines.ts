// machines.*: changes to one machine. Identity: retire (its token stops at once, waiting actions are
// cancelled, history kept), re-enrollment approvals and one-time enrollment tokens. Operators change;
// any admin reads.
import { EnrollTokenInput, MachineRefInput, MachineUpdate } from "../contract/index.ts";
import {
  approveReenrollment,
  dismissReenrollment,
  issueEnrollToken,
  listReenrollRequests,
  retireMachine,
} from "../services/machineAdmin.ts";
import { updateMachine } from "../services/machineEdit.ts";
import { adminProcedure, operatorProcedure, router } from "../trpc.ts";

export const machinesRouter = router({
  /** {machineId, displayName? (null or "" clears), labels? (replaces; ≤ 20 lowercase tags)} → MachineView; audited. */
  update: operatorProcedure.input(MachineUpdate).mutation(({ ctx, input }) => updateMachine(ctx, ctx.admin, input)),

  /** {machineId} → {machineId, retiredAt, cancelled}; retiring a retired machine changes nothing. */
  retire: operatorProcedure.input(MachineRefInput).mutation(async ({ ctx, input }) => {
    const r = await retireMachine(ctx.db, ctx.clock, ctx.admin, input.machineId);
    // This process at once (token, legacy directory, push streams); the others within a second.
    ctx.services.principals.apply({ kind: "machine", target: r.machineRef });
    return { machineId: r.machineId, retiredAt: r.retiredAt, cancelled: r.cancelled };
  }),

  /** → {items: ReenrollRequestView[]}: re-enrollments waiting for an admin, and approvals not used yet. */
  reenrollRequests: adminProcedure.query(async ({ ctx }) => ({
    items: await listReenrollRequests(ctx.db, ctx.admin.orgId),
  })),

  /** {machineId} → {machineId, approvedUntil}: the agent key may re-enroll this id once within 24 h. */
  approveReenroll: operatorProcedure
    .input(MachineRefInput)
    .mutation(({ ctx, input }) => approveReenrollment(ctx.db, ctx.clock, ctx.admin, input.machineId)),

  /** {machineId} → {machineId}: drops the pending request (and an unused approval). */
  dismissReenroll: operatorProcedure
    .input(MachineRefInput)
    .mutation(({ ctx, input }) => dismissReenrollment(ctx.db, ctx.clock, ctx.admin, input.machineId)),

  /** {machineId, expiresInSeconds?} → {machineId, enrollToken, expiresAt}: a one-time token, shown once. */
  enrollToken: operatorProcedure
    .input(EnrollTokenInput)
    .mutation(({ ctx, input }) => issueEnrollToken(ctx.db, ctx.clock, ctx.admin, input)),
});

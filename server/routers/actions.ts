// actions.*: admins queue, cancel and inspect actions.
import { z } from "zod";
import {
  ActionStatus,
  actionStatuses,
  ActionType,
  ExpiresInSeconds,
  MachineId,
  QueueSpec,
  StoredTime,
} from "../contract/index.ts";
import { cancelAction, getAction, listActions, queueActions } from "../services/actions.ts";
import { queueBudgetKey } from "../services/rateLimit.ts";
import { resolveActionData } from "../services/settings.ts";
import { adminProcedure, operatorProcedure, router } from "../trpc.ts";

const expiry = z.object({ expiresInSeconds: ExpiresInSeconds.optional() });
/** actions.queue input: a machine, an action spec ({type, data}) and an optional expiry. */
export const QueueInput = z.intersection(z.object({ machineId: MachineId }).extend(expiry.shape), QueueSpec);
/** actions.queueBulk input: up to 500 machines. */
export const QueueBulkInput = z.intersection(
  z.object({ machineIds: z.array(MachineId).min(1).max(500) }).extend(expiry.shape),
  QueueSpec,
);

/** actions.list input: filters (all optional, combined with AND), a page size and the previous page's cursor. */
export const ActionListInput = z.object({
  machineId: MachineId.optional(),
  status: z
    .union([ActionStatus, z.array(ActionStatus).max(8)], {
      error: (iss) =>
        iss.code === "invalid_union" ? `must be a status or a list of them: ${actionStatuses.join(", ")}` : undefined,
    })
    .optional(),
  type: ActionType.optional(),
  /** Who queued it, as shown in the list ("user:ann@example.com", "key:ci"). */
  createdBy: z.string().min(1).max(200).optional(),
  bulkId: z.string().min(1).max(64).optional(),
  /** Queued at or after `from`, before `to` (ISO times). */
  from: StoredTime.optional(),
  to: StoredTime.optional(),
  limit: z.number().int().min(1).max(100).default(50),
  cursor: z.string().max(32).nullish(),
});

export const actionsRouter = router({
  queue: operatorProcedure.input(QueueInput).mutation(async ({ ctx, input }) => {
    ctx.services.limiter.spend(queueBudgetKey(ctx.admin), 1, ctx.config.limits.queuePerMinute, "queued actions");
    const [id] = await queueActions(ctx, ctx.admin, {
      machineIds: [input.machineId],
      spec: await resolveActionData(ctx, ctx.admin.orgId, input),
      expiresInSeconds: input.expiresInSeconds,
      via: "actions.queue",
    });
    return { id: id! };
  }),

  queueBulk: operatorProcedure.input(QueueBulkInput).mutation(async ({ ctx, input }) => {
    // The budget counts actions, not calls (finding 8: 20 calls of 500 were 10,000 actions).
    const count = new Set(input.machineIds).size;
    ctx.services.limiter.spend(queueBudgetKey(ctx.admin), count, ctx.config.limits.queuePerMinute, "queued actions");
    const ids = await queueActions(ctx, ctx.admin, {
      machineIds: input.machineIds,
      spec: await resolveActionData(ctx, ctx.admin.orgId, input),
      expiresInSeconds: input.expiresInSeconds,
      via: "actions.queueBulk",
    });
    return { ids };
  }),

  cancel: operatorProcedure
    .input(z.object({ id: z.string().uuid() }))
    .mutation(({ ctx, input }) => cancelAction(ctx, ctx.admin, input.id)),

  list: adminProcedure.input(ActionListInput.default({ limit: 50 })).query(({ ctx, input }) =>
    listActions(ctx, ctx.admin.orgId, {
      ...input,
      status: input.status === undefined ? undefined : Array.isArray(input.status) ? input.status : [input.status],
      from: input.from === undefined ? undefined : new Date(input.from),
      to: input.to === undefined ? undefined : new Date(input.to),
    }),
  ),

  get: adminProcedure
    .input(z.object({ id: z.string().uuid() }))
    .query(({ ctx, input }) => getAction(ctx, ctx.admin.orgId, input.id)),
});

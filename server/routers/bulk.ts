// bulk.*: one action sent to many machines (by ids or by a fleet filter), followed and cancelled as one.
import { z } from "zod";
import { ActionStatus, BulkTarget, ExpiresInSeconds, QueueSpec } from "../contract/index.ts";
import { cancelBulk, createBulk, getBulk, listBulk } from "../services/bulk.ts";
import { resolveActionData } from "../services/settings.ts";
import { adminProcedure, operatorProcedure, router } from "../trpc.ts";

const BulkId = z.string().uuid();
/** bulk.create input: a target, an action spec ({type, data}) and an optional expiry. */
export const BulkCreateInput = z.intersection(
  z.object({ target: BulkTarget, expiresInSeconds: ExpiresInSeconds.optional() }),
  QueueSpec,
);

export const bulkRouter = router({
  /** {target: {machineIds} | {filter}, type, data, expiresInSeconds?} → {bulkId, count}; audited. */
  create: operatorProcedure.input(BulkCreateInput).mutation(async ({ ctx, input }) =>
    createBulk(ctx, ctx.admin, {
      target: input.target,
      spec: await resolveActionData(ctx, ctx.admin.orgId, input),
      expiresInSeconds: input.expiresInSeconds,
    }),
  ),

  /** {bulkId, status?, limit?, cursor?} → {job, counts by status, actions: {items, nextCursor}} */
  get: adminProcedure
    .input(
      z
        .object({
          bulkId: BulkId,
          status: ActionStatus.optional(),
          limit: z.number().int().min(1).max(100).default(50),
          cursor: z.string().max(32).nullish(),
        })
        .strict(),
    )
    .query(({ ctx, input }) => getBulk(ctx, ctx.admin.orgId, input)),

  /** {bulkId} → {cancelled}: every action still pending or delivered is cancelled. */
  cancel: operatorProcedure
    .input(z.object({ bulkId: BulkId }).strict())
    .mutation(({ ctx, input }) => cancelBulk(ctx, ctx.admin, input.bulkId)),

  /** {limit?, cursor?} → {items: BulkJobView[], nextCursor}, newest first. */
  list: adminProcedure
    .input(
      z
        .object({ limit: z.number().int().min(1).max(100).default(20), cursor: BulkId.nullish() })
        .strict()
        .default({ limit: 20 }),
    )
    .query(({ ctx, input }) => listBulk(ctx, ctx.admin.orgId, input)),
});

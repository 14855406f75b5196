// views.*: the signed-in user's saved fleet views. API keys have no user, so no views (FORBIDDEN).
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { SaveViewInput, ViewName } from "../contract/index.ts";
import { deleteView, listViews, saveView } from "../services/views.ts";
import { adminProcedure, router } from "../trpc.ts";

/** Any signed-in user (viewers too: a view only reads); never a key. */
const userProcedure = adminProcedure.use(function requireUser({ ctx, next }) {
  const userId = ctx.admin.userId;
  if (userId === null)
    throw new TRPCError({ code: "FORBIDDEN", message: "Saved views belong to signed-in users, not API keys" });
  return next({ ctx: { ...ctx, userId } });
});

export const viewsRouter = router({
  /** → {items: [{name, query, createdAt}]}, by name. */
  list: userProcedure.query(async ({ ctx }) => ({ items: await listViews(ctx.db, ctx.userId) })),
  /** {name, query: FleetQuery without cursor (+ columns?)} → the view; the same name replaces it. */
  save: userProcedure.input(SaveViewInput).mutation(({ ctx, input }) => saveView(ctx, ctx.userId, input)),
  /** {name} → {name}; unknown → NOT_FOUND. */
  delete: userProcedure
    .input(z.object({ name: ViewName }).strict())
    .mutation(({ ctx, input }) => deleteView(ctx.db, ctx.userId, input.name)),
});

// keys.*: API keys of the caller's org. Secrets are shown once, at creation; lists never carry them.
// Owners manage any key; admins only agent-scoped keys (see mayManageKey); viewers none.
import { z } from "zod";
import { KeyScope, safeText } from "../contract/index.ts";
import { createKeyAs, listKeys, revokeKey } from "../services/keys.ts";
import { adminProcedure, operatorProcedure, router } from "../trpc.ts";

export const CreateKeyInput = z
  .object({
    name: safeText(100, { required: "name is required" }),
    scopes: z.array(KeyScope).min(1, "give at least one scope").max(2),
  })
  .strict();

export const keysRouter = router({
  /** → {keys: KeyView[]} newest first, revoked ones included. */
  list: adminProcedure.query(async ({ ctx }) => ({ keys: await listKeys(ctx.db, ctx.admin.orgId) })),

  /** {name, scopes} → {id, name, key, scopes}: the key is shown this once. */
  create: operatorProcedure
    .input(CreateKeyInput)
    .mutation(({ ctx, input }) => createKeyAs(ctx.db, ctx.clock, ctx.admin, input)),

  /** {id} → KeyView with revokedAt set; the key stops working at once. */
  revoke: operatorProcedure
    .input(z.object({ id: z.string().min(1).max(64) }).strict())
    .mutation(async ({ ctx, input }) => {
      const key = await revokeKey(ctx.db, ctx.clock, ctx.admin, input.id);
      ctx.services.principals.forgetKeys();
      return key;
    }),
});

// orgs.*: the caller's organization, its users and its audit log. Changes are owner-only and audited.
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { Email, INT4_MAX, Password, Role, safeText, StoredTime } from "../contract/index.ts";
import { listAudit } from "../services/audit.ts";
import { addUser, currentOrg, listUsers, removeUser, renameOrg, setUserRole } from "../services/orgs.ts";
import { adminProcedure, ownerProcedure, router } from "../trpc.ts";

const OrgName = safeText(100, { required: "name is required" });
const UserId = z.string().min(1).max(64);

export const AddUserInput = z.object({ email: Email, password: Password, role: Role }).strict();
export const SetRoleInput = z.object({ userId: UserId, role: Role }).strict();
/** orgs.audit input: exact actor and action, a time range (ISO), a page size and the last id seen. */
export const AuditInput = z
  .object({
    actor: z.string().trim().min(1).max(300).optional(),
    action: z.string().trim().min(1).max(100).optional(),
    from: StoredTime.optional(),
    to: StoredTime.optional(),
    limit: z.number().int().min(1).max(200).default(50),
    // At most PostgreSQL's integer (AuditLog.id): a larger cursor was a 500 there (out of range), not a 400.
    cursor: z.number().int().positive().max(INT4_MAX).nullish(),
  })
  .strict()
  .default({ limit: 50 });

/** Owners and admins (and admin keys). A read, so not operatorProcedure's "Viewers cannot change anything". */
const auditReaderProcedure = adminProcedure.use(function requireAuditReader({ ctx, next }) {
  if (ctx.admin.role === "viewer")
    throw new TRPCError({ code: "FORBIDDEN", message: "The audit log is for owners and admins, not viewers" });
  return next({ ctx });
});

export const orgsRouter = router({
  /** → {id, name, createdAt, counts: {users, machines, activeKeys}} */
  current: adminProcedure.query(({ ctx }) => currentOrg(ctx.db, ctx.admin.orgId)),

  /** {name} → {id, name} */
  rename: ownerProcedure
    .input(z.object({ name: OrgName }).strict())
    .mutation(({ ctx, input }) => renameOrg(ctx.db, ctx.clock, ctx.admin, input.name)),

  users: router({
    /** → {users: [{id, email, role, createdAt}]} */
    list: adminProcedure.query(async ({ ctx }) => ({ users: await listUsers(ctx.db, ctx.admin.orgId) })),
    /** {email, password (8+), role} → {id, email, role, createdAt}; email taken → CONFLICT. */
    create: ownerProcedure
      .input(AddUserInput)
      .mutation(({ ctx, input }) => addUser(ctx.db, ctx.clock, ctx.admin, input)),
    /** {userId, role} → the user; demoting the last owner → CONFLICT. */
    setRole: ownerProcedure
      .input(SetRoleInput)
      .mutation(({ ctx, input }) => setUserRole(ctx.db, ctx.clock, ctx.admin, input)),
    /** {userId} → {id}; removing the last owner → CONFLICT. */
    remove: ownerProcedure
      .input(z.object({ userId: UserId }).strict())
      .mutation(({ ctx, input }) => removeUser(ctx.db, ctx.clock, ctx.admin, input.userId)),
  }),

  /**
   * {actor?, action?, from?, to?, limit?, cursor?} → {items: [{id, at, actor, action, target, detail}],
   * nextCursor}, newest first. Owners and admins (and admin keys); viewers may not read it.
   */
  audit: auditReaderProcedure.input(AuditInput).query(({ ctx, input }) =>
    listAudit(ctx.db, ctx.admin.orgId, {
      ...input,
      from: input.from === undefined ? undefined : new Date(input.from),
      to: input.to === undefined ? undefined : new Date(input.to),
    }),
  ),
});

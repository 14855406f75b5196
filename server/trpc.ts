// The one place tRPC is initialised: building blocks for every router.
import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError, z } from "zod";
import type { Context, Principal } from "./context.ts";
import type { Role } from "./contract/index.ts";
import { DomainError, toTRPCError } from "./domain/errors.ts";
import { assertWellFormedText, storageError } from "./services/errors.ts";

const t = initTRPC.context<Context>().create({
  // Subscriptions (agent.actionStream) run over server-sent events. A ping comment every 15 s keeps
  // proxies from closing an idle stream; a client that hears nothing for 40 s reconnects.
  sse: { ping: { enabled: true, intervalMs: 15_000 }, client: { reconnectAfterInactivityMs: 40_000 } },
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    const zodError = cause instanceof ZodError ? z.flattenError(cause) : null;
    // Name each bad field in the message itself: "data.message: message is required".
    const fieldIssues =
      cause instanceof ZodError ? cause.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })) : null;
    const retryAfterSeconds =
      cause && typeof cause === "object" && "retryAfterSeconds" in cause ? Number(cause.retryAfterSeconds) : undefined;
    return {
      ...shape,
      // Never leak a stack trace or internal message to clients.
      message:
        error.code === "INTERNAL_SERVER_ERROR"
          ? "Internal server error"
          : fieldIssues
            ? fieldIssues.map((i) => `${i.path || "input"}: ${i.message}`).join("; ")
            : shape.message,
      data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path, zodError, fieldIssues, retryAfterSeconds },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;

/** Every procedure starts here: input text that is not valid Unicode is refused before anything else. */
const base = t.procedure.use(async function wellFormedInput({ getRawInput, next }) {
  assertWellFormedText(await getRawInput());
  const result = await next();
  // Services throw domain errors; this is where they become tRPC codes (once, for every procedure).
  if (!result.ok && result.error.cause instanceof DomainError) throw toTRPCError(result.error.cause);
  // A database that cannot write (disk full, read-only) answers with a clear 503, not an opaque 500.
  const storage = !result.ok && result.error.code === "INTERNAL_SERVER_ERROR" ? storageError(result.error.cause) : null;
  if (storage) throw storage;
  return result;
});

/** Open to anyone (login, health). */
export const publicProcedure = base;

/** The admin side of a principal: an organisation, an acting name for the audit log, a role. */
export type AdminPrincipal = {
  orgId: string;
  actor: string;
  role: Role;
  userId: string | null;
  keyId: string | null;
};

export function asAdmin(p: Principal | null): AdminPrincipal | null {
  if (!p) return null;
  if (p.kind === "user") return { orgId: p.orgId, actor: `user:${p.email}`, role: p.role, userId: p.userId, keyId: null };
  // An admin-scoped key acts as an admin (never owner: keys cannot manage users).
  if (p.kind === "key" && p.scopes.includes("admin"))
    return { orgId: p.orgId, actor: `key:${p.name}`, role: "admin", userId: null, keyId: p.keyId };
  return null;
}

/** A dashboard session (any role) or an admin-scoped key. Read access. */
export const adminProcedure = base.use(function requireAdmin({ ctx, next }) {
  if (!ctx.principal) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in or send an admin key" });
  const admin = asAdmin(ctx.principal);
  if (!admin) throw new TRPCError({ code: "FORBIDDEN", message: "This needs an admin session or an admin-scoped key" });
  return next({ ctx: { ...ctx, admin } });
});

/** Owners and admins (and admin keys): may queue actions and change things. Viewers may not. */
export const operatorProcedure = adminProcedure.use(function requireOperator({ ctx, next }) {
  if (ctx.admin.role === "viewer") throw new TRPCError({ code: "FORBIDDEN", message: "Viewers cannot change anything" });
  return next({ ctx });
});

/** Owners only (user and key management through the dashboard). */
export const ownerProcedure = adminProcedure.use(function requireOwner({ ctx, next }) {
  if (ctx.admin.role !== "owner") throw new TRPCError({ code: "FORBIDDEN", message: "Only owners can do this" });
  return next({ ctx });
});

/** The agent side of a principal: an org, and the machine when the caller is a machine token. */
export type AgentPrincipal =
  | { orgId: string; kind: "machine"; machineRef: string; machineId: string }
  | { orgId: string; kind: "key"; keyId: string; name: string };

/** The agent side of a principal: a machine token, or an agent-scoped key; null for anything else. */
export function asAgent(p: Principal): AgentPrincipal | null {
  if (p.kind === "machine") return { orgId: p.orgId, kind: "machine", machineRef: p.machineRef, machineId: p.machineId };
  if (p.kind === "key" && p.scopes.includes("agent")) return { orgId: p.orgId, kind: "key", keyId: p.keyId, name: p.name };
  return null;
}

/** An agent-scoped key (enrollment, the original design's flow) or a per-machine token. */
export const agentProcedure = base.use(function requireAgent({ ctx, next }) {
  const p = ctx.principal;
  if (!p) throw new TRPCError({ code: "UNAUTHORIZED", message: "Send an agent key or a machine token" });
  const agent = asAgent(p);
  if (!agent) throw new TRPCError({ code: "FORBIDDEN", message: "This needs an agent key or a machine token" });
  return next({ ctx: { ...ctx, agent } });
});

/** A per-machine token only: the caller is one machine and sees only its own actions. */
export const machineProcedure = agentProcedure.use(function requireMachine({ ctx, next }) {
  const a = ctx.agent;
  if (a.kind !== "machine") throw new TRPCError({ code: "FORBIDDEN", message: "This needs a machine token (enroll first)" });
  return next({ ctx: { ...ctx, machine: a } });
});

// API key management for the dashboard and the CLI: list (never a secret), create within the
// creator's rights, revoke (audited; effective within a second in every server process). Revoking an
// enrollment key never breaks enrolled machines: they hold their own tokens.
import { TRPCError } from "@trpc/server";
import type { Clock } from "../clock.ts";
import type { KeyScope, Role } from "../contract/index.ts";
import { KeyScope as KeyScopeSchema } from "../contract/index.ts";
import type { Db } from "../db.ts";
import { createApiKey, keySelect, type CreatedKey } from "./accounts.ts";
import { writeAudit } from "./audit.ts";
import { recordInvalidation } from "./invalidations.ts";

/** A key as lists show it. Times are ISO strings. */
export type KeyView = {
  id: string;
  name: string;
  prefix: string;
  scopes: KeyScope[];
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
};

type Actor = { orgId: string; actor: string; role: Role };

/**
 * Whether a caller of `role` may create or revoke a key with `scopes`. A key never carries more
 * rights than the one who made it: owners manage any key; admins (users or admin-scoped keys) only
 * agent-only keys, since an admin key could otherwise mint more admin keys that outlive its
 * revocation; viewers none.
 */
export function mayManageKey(role: Role, scopes: readonly KeyScope[]): boolean {
  if (role === "owner") return true;
  if (role === "admin") return scopes.length > 0 && scopes.every((s) => s === "agent");
  return false;
}

function parseScopes(text: string): KeyScope[] {
  return text.split(",").flatMap((s) => (KeyScopeSchema.safeParse(s).success ? [s as KeyScope] : []));
}

function toView(k: {
  id: string;
  name: string;
  prefix: string;
  scopes: string;
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}): KeyView {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: parseScopes(k.scopes),
    createdBy: k.createdBy,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}

/** An org's keys, newest first, revoked ones included (marked). */
export async function listKeys(db: Db, orgId: string): Promise<KeyView[]> {
  const rows = await db.apiKey.findMany({
    where: { orgId },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    select: keySelect,
  });
  return rows.map(toView);
}

/** Creates a key if the caller's role allows its scopes; the secret is in the answer only. */
export async function createKeyAs(
  db: Db,
  clock: Clock,
  who: Actor,
  args: { name: string; scopes: KeyScope[] },
): Promise<CreatedKey> {
  if (!mayManageKey(who.role, args.scopes))
    throw new TRPCError({
      code: "FORBIDDEN",
      message: "Admins may create agent-scoped keys only; admin keys need an owner",
    });
  return createApiKey(db, clock, { orgId: who.orgId, name: args.name, scopes: args.scopes, actor: who.actor });
}

/**
 * Revokes a key of the caller's org (idempotent: revoking a revoked key changes nothing). Another
 * org's key is NOT_FOUND. `role` null means the CLI, which may revoke anything.
 */
export async function revokeKey(
  db: Db,
  clock: Clock,
  who: { orgId: string | null; actor: string; role: Role | null },
  id: string,
): Promise<KeyView> {
  const now = clock.now();
  return db.$transaction(async (tx) => {
    const key = await tx.apiKey.findFirst({
      where: { id, ...(who.orgId ? { orgId: who.orgId } : {}) },
      select: { ...keySelect, orgId: true },
    });
    if (!key) throw new TRPCError({ code: "NOT_FOUND", message: "No such key" });
    if (who.role && !mayManageKey(who.role, parseScopes(key.scopes)))
      throw new TRPCError({
        code: "FORBIDDEN",
        message: "Admins may revoke agent-scoped keys only; admin keys need an owner",
      });
    if (key.revokedAt) return toView(key);
    const updated = await tx.apiKey.update({ where: { id: key.id }, data: { revokedAt: now }, select: keySelect });
    // Every server process (this one, others, whichever made the change) drops cached keys within a second.
    await recordInvalidation(tx, { kind: "key", target: key.id }, now);
    await writeAudit(tx, {
      orgId: key.orgId,
      actor: who.actor,
      action: "keys.revoke",
      target: key.id,
      detail: { name: key.name, prefix: key.prefix },
      at: now,
    });
    return toView(updated);
  });
}

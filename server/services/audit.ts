// Audit log: one row per admin mutation, written inside the transaction of the change it records;
// and the paged, filtered read of it (orgs.audit).
import type { Db } from "../db.ts";
import { invalid } from "../domain/errors.ts";
import type { Prisma } from "../generated/prisma/client.ts";

type Tx = Pick<Prisma.TransactionClient, "auditLog">;

export type AuditEntry = {
  orgId: string;
  actor: string;
  action: string;
  target?: string | null;
  detail?: unknown;
  at: Date;
};

export function auditData(e: AuditEntry) {
  return {
    orgId: e.orgId,
    actor: e.actor,
    action: e.action,
    target: e.target ?? null,
    detail: e.detail === undefined ? null : JSON.stringify(e.detail),
    at: e.at,
  };
}

/** Writes one audit row with the given transaction client. */
export async function writeAudit(tx: Tx, e: AuditEntry): Promise<void> {
  await tx.auditLog.create({ data: auditData(e) });
}

/** One audit row as owners and admins read it. */
export type AuditView = {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail: unknown;
};

/** audit filters: exact actor ("user:ann@example.com", "key:ci", "cli") and action ("bulk.create"), a time range. */
export type AuditFilter = {
  actor?: string | undefined;
  action?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
};

function parseDetail(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * The org's audit log, newest first, keyset-paged over (at, id): the cursor is the last id of the
 * previous page. Each filter reads its index ((orgId, actor, at), (orgId, action, at) or (orgId, at)).
 * A walk lists every row committed before it began exactly once; `at` is the change's time and `id`
 * is drawn before the commit, so a row committed during the walk (another process's, a long bulk's)
 * can land behind its cursor and shows at the next fresh read instead (see actionViews.ts's cursor).
 */
export async function listAudit(
  db: Db,
  orgId: string,
  args: AuditFilter & { limit: number; cursor?: number | null | undefined },
): Promise<{ items: AuditView[]; nextCursor: number | null }> {
  let after: { id: number; at: Date } | null = null;
  if (args.cursor !== undefined && args.cursor !== null) {
    after = await db.auditLog.findFirst({ where: { id: args.cursor, orgId }, select: { id: true, at: true } });
    if (!after) throw invalid("cursor", "not a cursor from orgs.audit");
  }
  const at: Prisma.DateTimeFilter = {};
  if (args.from) at.gte = args.from;
  if (args.to) at.lt = args.to;
  if (after) at.lte = after.at;
  const rows = await db.auditLog.findMany({
    where: {
      orgId,
      ...(args.actor !== undefined ? { actor: args.actor } : {}),
      ...(args.action !== undefined ? { action: args.action } : {}),
      ...(Object.keys(at).length > 0 ? { at } : {}),
      ...(after ? { OR: [{ at: { lt: after.at } }, { id: { lt: after.id } }] } : {}),
    },
    orderBy: [{ at: "desc" }, { id: "desc" }],
    take: args.limit + 1,
    select: { id: true, at: true, actor: true, action: true, target: true, detail: true },
  });
  const items = rows.slice(0, args.limit).map((r) => ({
    id: r.id,
    at: r.at.toISOString(),
    actor: r.actor,
    action: r.action,
    target: r.target,
    detail: parseDetail(r.detail),
  }));
  return { items, nextCursor: rows.length > args.limit ? (items.at(-1)?.id ?? null) : null };
}

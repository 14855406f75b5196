// Audit log: one row per admin mutation, written inside the transaction of the change it records.
import type { Prisma } from "../generated/prisma/client.ts";

type Tx = Pick<Prisma.TransactionClient, "auditLog">;

export type AuditEntry = { orgId: string; actor: string; action: string; target?: string | null; detail?: unknown; at: Date };

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

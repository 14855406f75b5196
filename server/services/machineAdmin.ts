// The admin side of machine identity (hostile review, findings 1, 5 and 9): retire a machine (its token
// stops at once in every process, its waiting actions are cancelled, its history stays), approve or
// dismiss a pending re-enrollment, issue a one-time enrollment token, list what is pending.
import type { Clock } from "../clock.ts";
import { cancellableStatuses, type ReenrollRequestView } from "../contract/index.ts";
import type { Db } from "../db.ts";
import { notFound } from "../domain/errors.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { writeAudit } from "./audit.ts";
import { hashSecret, newSecret } from "./crypto.ts";
import { recordInvalidation } from "./invalidations.ts";

/** Prefix of one-time enrollment tokens (recognisable when leaked; never a bearer credential). */
export const ENROLL_TOKEN_PREFIX = "dfe_";
/** How long an admin's approval lets the agent key re-enroll the machine (once). */
export const APPROVAL_TTL_MS = 24 * 3600_000;

type Tx = Prisma.TransactionClient;
type Actor = { orgId: string; actor: string };

async function machineOf(tx: Tx | Db, orgId: string, machineId: string) {
  const m = await tx.machine.findUnique({
    where: { orgId_machineId: { orgId, machineId } },
    select: { id: true, retiredAt: true, reenrollRequestedAt: true },
  });
  if (!m) throw notFound(`No machine "${machineId}" in this organization`);
  return m;
}

/**
 * Retires a machine: its token stops working at once (in every process), its waiting and running
 * actions are cancelled, its history stays readable. The id can enroll again only with an admin's
 * approval or a one-time enrollment token. Retiring a retired machine changes nothing.
 */
export async function retireMachine(
  db: Db,
  clock: Clock,
  who: Actor,
  machineId: string,
): Promise<{ machineId: string; machineRef: string; retiredAt: string; cancelled: number }> {
  const now = clock.now();
  return db.$transaction(async (tx) => {
    const m = await machineOf(tx, who.orgId, machineId);
    if (m.retiredAt) return { machineId, machineRef: m.id, retiredAt: m.retiredAt.toISOString(), cancelled: 0 };
    const open = await tx.action.findMany({
      where: { machineRef: m.id, status: { in: [...cancellableStatuses] } },
      select: { id: true },
    });
    const ids = open.map((a) => a.id);
    if (ids.length > 0) {
      await tx.action.updateMany({
        where: { id: { in: ids } },
        data: { status: "cancelled", finishedAt: now, claimToken: null, leaseUntil: null, result: "machine retired" },
      });
      await tx.actionEvent.createMany({
        data: ids.map((id) => ({ actionId: id, status: "cancelled", at: now, detail: "machine retired" })),
      });
    }
    await tx.machine.update({
      where: { id: m.id },
      data: {
        retiredAt: now,
        tokenHash: null,
        onlineUntil: null,
        reenrollRequest: null,
        reenrollRequestedAt: null,
        reenrollApprovedUntil: null,
        enrollTokenHash: null,
        enrollTokenExpiresAt: null,
      },
      select: { id: true },
    });
    await recordInvalidation(tx, { kind: "machine", target: m.id }, now);
    await writeAudit(tx, {
      orgId: who.orgId,
      actor: who.actor,
      action: "machines.retire",
      target: machineId,
      detail: { cancelled: ids.length },
      at: now,
    });
    return { machineId, machineRef: m.id, retiredAt: now.toISOString(), cancelled: ids.length };
  });
}

/** Lets the agent key re-enroll this machine id once within 24 h (a pending request, or ahead of one). */
export async function approveReenrollment(
  db: Db,
  clock: Clock,
  who: Actor,
  machineId: string,
): Promise<{ machineId: string; approvedUntil: string }> {
  const now = clock.now();
  const until = new Date(now.getTime() + APPROVAL_TTL_MS);
  return db.$transaction(async (tx) => {
    const m = await machineOf(tx, who.orgId, machineId);
    await tx.machine.update({ where: { id: m.id }, data: { reenrollApprovedUntil: until }, select: { id: true } });
    await writeAudit(tx, {
      orgId: who.orgId,
      actor: who.actor,
      action: "machines.approveReenroll",
      target: machineId,
      detail: { until: until.toISOString() },
      at: now,
    });
    return { machineId, approvedUntil: until.toISOString() };
  });
}

/** Drops a pending re-enrollment request (and any approval not used yet). */
export async function dismissReenrollment(
  db: Db,
  clock: Clock,
  who: Actor,
  machineId: string,
): Promise<{ machineId: string }> {
  const now = clock.now();
  return db.$transaction(async (tx) => {
    const m = await machineOf(tx, who.orgId, machineId);
    await tx.machine.update({
      where: { id: m.id },
      data: { reenrollRequest: null, reenrollRequestedAt: null, reenrollApprovedUntil: null },
      select: { id: true },
    });
    await writeAudit(tx, {
      orgId: who.orgId,
      actor: who.actor,
      action: "machines.dismissReenroll",
      target: machineId,
      at: now,
    });
    return { machineId };
  });
}

/** Issues a one-time enrollment token for an existing machine id; shown once, stored hashed. */
export async function issueEnrollToken(
  db: Db,
  clock: Clock,
  who: Actor,
  args: { machineId: string; expiresInSeconds: number },
): Promise<{ machineId: string; enrollToken: string; expiresAt: string }> {
  const now = clock.now();
  const token = newSecret(ENROLL_TOKEN_PREFIX);
  const expiresAt = new Date(now.getTime() + args.expiresInSeconds * 1000);
  return db.$transaction(async (tx) => {
    const m = await machineOf(tx, who.orgId, args.machineId);
    await tx.machine.update({
      where: { id: m.id },
      data: { enrollTokenHash: hashSecret(token), enrollTokenExpiresAt: expiresAt },
      select: { id: true },
    });
    await writeAudit(tx, {
      orgId: who.orgId,
      actor: who.actor,
      action: "machines.enrollToken",
      target: args.machineId,
      detail: { expiresAt: expiresAt.toISOString() },
      at: now,
    });
    return { machineId: args.machineId, enrollToken: token, expiresAt: expiresAt.toISOString() };
  });
}

/** Re-enrollments waiting for an admin (and approvals not used yet), newest first. */
export async function listReenrollRequests(db: Db, orgId: string): Promise<ReenrollRequestView[]> {
  const rows = await db.machine.findMany({
    where: { orgId, OR: [{ reenrollRequestedAt: { not: null } }, { reenrollApprovedUntil: { not: null } }] },
    // Approvals given ahead of any request (no request time) last: NULL sorts first in PostgreSQL's
    // DESC and last in SQLite's, so the list's order depended on the database.
    orderBy: [{ reenrollRequestedAt: { sort: "desc", nulls: "last" } }, { machineId: "asc" }],
    take: 200,
    select: {
      machineId: true,
      hostname: true,
      displayName: true,
      retiredAt: true,
      reenrollRequest: true,
      reenrollRequestedAt: true,
      reenrollApprovedUntil: true,
    },
  });
  return rows.map((r) => {
    const req = parseRequest(r.reenrollRequest);
    return {
      machineId: r.machineId,
      name: r.displayName ?? r.hostname,
      requestedAt: (r.reenrollRequestedAt ?? r.reenrollApprovedUntil)!.toISOString(),
      hostname: req.hostname,
      os: req.os,
      agentVersion: req.agentVersion,
      address: req.address,
      approvedUntil: r.reenrollApprovedUntil?.toISOString() ?? null,
      retired: r.retiredAt !== null,
    };
  });
}

function parseRequest(text: string | null): {
  hostname: string | null;
  os: string | null;
  agentVersion: string | null;
  address: string | null;
} {
  const empty = { hostname: null, os: null, agentVersion: null, address: null };
  if (!text) return empty;
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    const s = (v: unknown) => (typeof v === "string" ? v : null);
    return { hostname: s(o.hostname), os: s(o.os), agentVersion: s(o.agentVersion), address: s(o.address) };
  } catch {
    return empty;
  }
}

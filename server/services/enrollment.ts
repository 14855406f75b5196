// One machine, one identity (hostile review, findings 1, 5 and 9). The agent (enrollment) key enrolls
// NEW machine ids only; an existing id is re-enrolled with its own current token, after an admin's
// approval of the pending request, or with an admin-issued one-time enrollment token. Retiring a
// machine stops its token at once and cancels its waiting actions; its history stays.
import type { Clock } from "../clock.ts";
import { cancellableStatuses, type EnrollInput, type ReenrollRequestView } from "../contract/index.ts";
import type { Db } from "../db.ts";
import { forbidden, notFound } from "../domain/errors.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { writeAudit } from "./audit.ts";
import { onlineUntilOf } from "./health.ts";
import { hashSecret, MACHINE_TOKEN_PREFIX, newSecret, sameDigest } from "./crypto.ts";
import { recordInvalidation } from "./invalidations.ts";

/** Prefix of one-time enrollment tokens (recognisable when leaked; never a bearer credential). */
export const ENROLL_TOKEN_PREFIX = "dfe_";
/** How long an admin's approval lets the agent key re-enroll the machine (once). */
export const APPROVAL_TTL_MS = 24 * 3600_000;

type Tx = Prisma.TransactionClient;
/** Who enrolls: an agent key, or a machine token re-enrolling its own machine. */
export type EnrollCaller =
  | { kind: "key"; orgId: string; keyId: string; name: string }
  | { kind: "machine"; orgId: string; machineRef: string; machineId: string };
export type EnrollOptions = { reportIntervalSec: number; defaultQuota: number | null; address: string };
export type Enrolled = {
  machineToken: string;
  machineRef: string;
  how: "new" | "own-token" | "approval" | "enroll-token";
};
type Actor = { orgId: string; actor: string };

const existingSelect = {
  id: true,
  tokenHash: true,
  retiredAt: true,
  reenrollApprovedUntil: true,
  enrollTokenHash: true,
  enrollTokenExpiresAt: true,
} as const;

/**
 * Enrolls a new machine id, or re-enrolls an existing one when the caller proves it may (see the file
 * header). Otherwise the attempt is recorded as a pending re-enrollment and refused (FORBIDDEN).
 */
export async function enroll(
  db: Db,
  clock: Clock,
  caller: EnrollCaller,
  input: EnrollInput,
  opts: EnrollOptions,
): Promise<Enrolled> {
  const now = clock.now();
  const token = newSecret(MACHINE_TOKEN_PREFIX);
  const decision = await db.$transaction(async (tx) => {
    const m = await tx.machine.findUnique({
      where: { orgId_machineId: { orgId: caller.orgId, machineId: input.machineId } },
      select: existingSelect,
    });
    if (caller.kind === "machine" && (!m || m.id !== caller.machineRef))
      throw forbidden("A machine token can only re-enroll its own machine");
    if (!m) {
      await assertQuota(tx, caller.orgId, opts.defaultQuota);
      const created = await tx.machine.create({
        data: {
          orgId: caller.orgId,
          machineId: input.machineId,
          firstSeenAt: now,
          ...identityFields(input, token, now, opts.reportIntervalSec),
          labels: { create: (input.labels ?? []).map((label) => ({ label, orgId: caller.orgId })) },
        },
        select: { id: true },
      });
      return { ok: true as const, machineRef: created.id, how: "new" as const };
    }
    const how = proof(m, caller, input, now);
    if (!how) return { ok: false as const, machineRef: m.id };
    if (m.retiredAt) await assertQuota(tx, caller.orgId, opts.defaultQuota);
    await tx.machine.update({
      where: { id: m.id },
      data: {
        ...identityFields(input, token, now, opts.reportIntervalSec),
        retiredAt: null,
        reenrollRequest: null,
        reenrollRequestedAt: null,
        reenrollApprovedUntil: null,
        enrollTokenHash: null,
        enrollTokenExpiresAt: null,
      },
      select: { id: true },
    });
    // The old token stops working in every process.
    await recordInvalidation(tx, { kind: "machine", target: m.id }, now);
    if (how !== "own-token")
      await writeAudit(tx, {
        orgId: caller.orgId,
        actor: caller.kind === "key" ? `key:${caller.name}` : `machine:${caller.machineId}`,
        action: "machines.reenroll",
        target: input.machineId,
        detail: { how, address: opts.address },
        at: now,
      });
    return { ok: true as const, machineRef: m.id, how };
  });
  if (decision.ok) return { machineToken: token, machineRef: decision.machineRef, how: decision.how };
  // Recorded outside the refused transaction: the admin sees who asked, from where, and when.
  const request = { hostname: input.hostname, os: input.os, agentVersion: input.agentVersion, address: opts.address };
  await db.machine.update({
    where: { id: decision.machineRef },
    data: { reenrollRequest: JSON.stringify(request), reenrollRequestedAt: now },
    select: { id: true },
  });
  throw forbidden(
    `Machine "${input.machineId}" is already enrolled: re-enrollment pending until an admin approves it ` +
      `(console, or npm run cli -- machine approve --org ORG --machine ${input.machineId}), ` +
      "or enroll with the machine's current token or a one-time enrollment token",
  );
}

/** How the caller proves it may re-enroll this existing machine, or null. */
function proof(
  m: {
    id: string;
    tokenHash: string | null;
    retiredAt: Date | null;
    reenrollApprovedUntil: Date | null;
    enrollTokenHash: string | null;
    enrollTokenExpiresAt: Date | null;
  },
  caller: EnrollCaller,
  input: EnrollInput,
  now: Date,
): Enrolled["how"] | null {
  if (caller.kind === "machine" && !m.retiredAt) return "own-token";
  if (input.currentToken && m.tokenHash && !m.retiredAt && sameDigest(m.tokenHash, hashSecret(input.currentToken)))
    return "own-token";
  if (m.reenrollApprovedUntil && m.reenrollApprovedUntil > now) return "approval";
  if (
    input.enrollToken &&
    m.enrollTokenHash &&
    m.enrollTokenExpiresAt &&
    m.enrollTokenExpiresAt > now &&
    sameDigest(m.enrollTokenHash, hashSecret(input.enrollToken))
  )
    return "enroll-token";
  return null;
}

function identityFields(input: EnrollInput, token: string, now: Date, reportIntervalSec: number) {
  return {
    hostname: input.hostname,
    os: input.os,
    agentVersion: input.agentVersion,
    tokenHash: hashSecret(token),
    lastSeenAt: now,
    onlineUntil: onlineUntilOf(now, reportIntervalSec),
    reportIntervalSec,
  };
}

/** Refuses a new (or revived) machine beyond the org's quota: Organization.machineQuota, else the default. */
async function assertQuota(tx: Tx, orgId: string, defaultQuota: number | null): Promise<void> {
  const org = await tx.organization.findUnique({ where: { id: orgId }, select: { machineQuota: true } });
  const quota = org?.machineQuota ?? defaultQuota;
  if (quota === null) return;
  const active = await tx.machine.count({ where: { orgId, retiredAt: null } });
  if (active >= quota)
    throw forbidden(
      `Machine quota reached: this organization may enroll ${quota} machines; retire one or raise the quota`,
    );
}

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
    orderBy: [{ reenrollRequestedAt: "desc" }, { machineId: "asc" }],
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

/** Turns an org's legacy-agent mode on or off (audited; every process hears it within a second). */
export async function setLegacyAgents(
  db: Db,
  clock: Clock,
  who: Actor,
  on: boolean,
): Promise<{ orgId: string; legacyAgents: boolean }> {
  const now = clock.now();
  return db.$transaction(async (tx) => {
    const org = await tx.organization.findUnique({ where: { id: who.orgId }, select: { legacyAgents: true } });
    if (!org) throw notFound("No such organization");
    if (org.legacyAgents !== on) {
      await tx.organization.update({ where: { id: who.orgId }, data: { legacyAgents: on }, select: { id: true } });
      await recordInvalidation(tx, { kind: "org", target: who.orgId }, now);
      await writeAudit(tx, {
        orgId: who.orgId,
        actor: who.actor,
        action: "orgs.legacyAgents",
        target: who.orgId,
        detail: { on },
        at: now,
      });
    }
    return { orgId: who.orgId, legacyAgents: on };
  });
}

/** Sets (or clears: null, back to DASHFLEET_MACHINE_QUOTA) an organization's machine quota (audited). */
export async function setMachineQuota(
  db: Db,
  clock: Clock,
  who: Actor,
  quota: number | null,
): Promise<{ orgId: string; machineQuota: number | null }> {
  const now = clock.now();
  return db.$transaction(async (tx) => {
    const org = await tx.organization.findUnique({ where: { id: who.orgId }, select: { machineQuota: true } });
    if (!org) throw notFound("No such organization");
    await tx.organization.update({ where: { id: who.orgId }, data: { machineQuota: quota }, select: { id: true } });
    await writeAudit(tx, {
      orgId: who.orgId,
      actor: who.actor,
      action: "orgs.machineQuota",
      target: who.orgId,
      detail: { from: org.machineQuota, to: quota },
      at: now,
    });
    return { orgId: who.orgId, machineQuota: quota };
  });
}

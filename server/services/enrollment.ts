// One machine, one identity (hostile review, findings 1 and 5): enrollment. The agent (enrollment) key
// enrolls NEW machine ids only; an existing id is re-enrolled with its own current token, after an
// admin's approval of the pending request, or with an admin-issued one-time enrollment token (the
// admin side: services/machineAdmin.ts). Otherwise the attempt is recorded as pending and refused.
import type { Clock } from "../clock.ts";
import type { EnrollInput } from "../contract/index.ts";
import type { Db } from "../db.ts";
import { forbidden } from "../domain/errors.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { writeAudit } from "./audit.ts";
import { hashSecret, MACHINE_TOKEN_PREFIX, newSecret, sameDigest } from "./crypto.ts";
import { onlineUntilOf } from "./health.ts";
import { recordInvalidation } from "./invalidations.ts";

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

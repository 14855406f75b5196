// Organization management: the current org, rename, users (with at least one owner always left),
// the identity settings (legacy agent mode, machine quota) and the audit log. Every change writes its
// audit row in the transaction that makes it.
import { TRPCError } from "@trpc/server";
import type { Clock } from "../clock.ts";
import type { Role } from "../contract/index.ts";
import type { Db } from "../db.ts";
import { lockOrganizationRow } from "../db/locks.ts";
import { notFound } from "../domain/errors.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { createUser } from "./accounts.ts";
import { writeAudit } from "./audit.ts";
import { recordInvalidation } from "./invalidations.ts";

type Actor = { orgId: string; actor: string };
type Tx = Prisma.TransactionClient;

/** A user as the dashboard lists them: never the password hash. */
export type UserView = { id: string; email: string; role: Role; createdAt: string };

const userSelect = { id: true, email: true, role: true, createdAt: true } as const;

function toUser(u: { id: string; email: string; role: string; createdAt: Date }): UserView {
  return { id: u.id, email: u.email, role: u.role as Role, createdAt: u.createdAt.toISOString() };
}

/** The caller's organization with a few counts for the header and the settings page. */
export async function currentOrg(db: Db, orgId: string) {
  const org = await db.organization.findUnique({
    where: { id: orgId },
    select: { id: true, name: true, createdAt: true, legacyAgents: true, machineQuota: true },
  });
  if (!org) throw new TRPCError({ code: "NOT_FOUND", message: "No such organization" });
  const [users, machines, activeKeys] = await Promise.all([
    db.user.count({ where: { orgId } }),
    db.machine.count({ where: { orgId } }),
    db.apiKey.count({ where: { orgId, revokedAt: null } }),
  ]);
  return {
    id: org.id,
    name: org.name,
    createdAt: org.createdAt.toISOString(),
    /** The original design's agent key + machine_id protocol is accepted (the dashboard warns while on). */
    legacyAgents: org.legacyAgents,
    machineQuota: org.machineQuota,
    counts: { users, machines, activeKeys },
  };
}

/** Renames the caller's organization. */
export async function renameOrg(db: Db, clock: Clock, who: Actor, name: string): Promise<{ id: string; name: string }> {
  const now = clock.now();
  return db.$transaction(async (tx) => {
    const before = await tx.organization.findUnique({ where: { id: who.orgId }, select: { name: true } });
    if (!before) throw new TRPCError({ code: "NOT_FOUND", message: "No such organization" });
    const org = await tx.organization.update({
      where: { id: who.orgId },
      data: { name },
      select: { id: true, name: true },
    });
    await writeAudit(tx, {
      orgId: who.orgId,
      actor: who.actor,
      action: "orgs.rename",
      target: who.orgId,
      detail: { from: before.name, to: name },
      at: now,
    });
    return org;
  });
}

/** The org's users, oldest first. */
export async function listUsers(db: Db, orgId: string): Promise<UserView[]> {
  const rows = await db.user.findMany({
    where: { orgId },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    select: userSelect,
  });
  return rows.map(toUser);
}

/** Adds a user to the caller's org (an email already in this org is CONFLICT; other orgs are never consulted). */
export async function addUser(
  db: Db,
  clock: Clock,
  who: Actor,
  args: { email: string; password: string; role: Role },
): Promise<UserView> {
  const u = await createUser(db, clock, {
    orgId: who.orgId,
    email: args.email,
    password: args.password,
    role: args.role,
    actor: who.actor,
  });
  const row = await db.user.findUniqueOrThrow({ where: { id: u.id }, select: userSelect });
  return toUser(row);
}

async function userOfOrg(tx: Tx, orgId: string, userId: string) {
  const u = await tx.user.findFirst({ where: { id: userId, orgId }, select: userSelect });
  if (!u) throw new TRPCError({ code: "NOT_FOUND", message: "No such user" });
  return u;
}

async function assertAnotherOwner(tx: Tx, orgId: string, userId: string, doing: string): Promise<void> {
  // PostgreSQL: owner changes of one org take turns, so the count below sees the other's commit.
  await lockOrganizationRow(tx, orgId);
  const others = await tx.user.count({ where: { orgId, role: "owner", id: { not: userId } } });
  if (others === 0)
    throw new TRPCError({
      code: "CONFLICT",
      message: `Cannot ${doing} the last owner: make someone else an owner first`,
    });
}

/** Changes a user's role; the last owner cannot be demoted. Takes effect on their next request. */
export async function setUserRole(
  db: Db,
  clock: Clock,
  who: Actor,
  args: { userId: string; role: Role },
): Promise<UserView> {
  const now = clock.now();
  return db.$transaction(async (tx) => {
    const u = await userOfOrg(tx, who.orgId, args.userId);
    if (u.role === args.role) return toUser(u);
    if (u.role === "owner") await assertAnotherOwner(tx, who.orgId, u.id, "demote");
    const updated = await tx.user.update({ where: { id: u.id }, data: { role: args.role }, select: userSelect });
    await writeAudit(tx, {
      orgId: who.orgId,
      actor: who.actor,
      action: "users.setRole",
      target: u.id,
      detail: { email: u.email, from: u.role, to: args.role },
      at: now,
    });
    return toUser(updated);
  });
}

/** Removes a user (their sessions go with them); the last owner cannot be removed. */
export async function removeUser(db: Db, clock: Clock, who: Actor, userId: string): Promise<{ id: string }> {
  const now = clock.now();
  return db.$transaction(async (tx) => {
    const u = await userOfOrg(tx, who.orgId, userId);
    if (u.role === "owner") await assertAnotherOwner(tx, who.orgId, u.id, "remove");
    await tx.user.delete({ where: { id: u.id }, select: { id: true } });
    await writeAudit(tx, {
      orgId: who.orgId,
      actor: who.actor,
      action: "users.remove",
      target: u.id,
      detail: { email: u.email, role: u.role },
      at: now,
    });
    return { id: u.id };
  });
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

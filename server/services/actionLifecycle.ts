// The action state machine: queue, claim with a lease, acknowledge, report, cancel, expire, sweep.
// Reads for admins are in actionViews.ts. Every move is one allowed by contract/statuses.ts.
// Every transition is one conditional UPDATE (status and claim token in the WHERE clause), recorded
// with its time in ActionEvent, inside the transaction that makes it.
import { randomBytes, randomUUID } from "node:crypto";
import { conflict, invalid, notFound } from "../domain/errors.ts";
import { cancellableStatuses } from "../contract/statuses.ts";
import type { Deps } from "../context.ts";
import {
  actionDataSchemas,
  DEFAULT_EXPIRES_IN_SECONDS,
  type ActionOutcome,
  type ActionSpec,
  type ActionStatus,
  type ActionType,
  type DeliveredAction,
  type ResultStatus,
} from "../contract/index.ts";
import type { Db } from "../db.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { parseJson } from "./actionViews.ts";
import { auditData } from "./audit.ts";

/** At most this many actions are handed out per poll. */
export const MAX_PER_POLL = 10;
/** An action delivered this many times without an ack is given up ("never acknowledged"). */
export const MAX_DELIVERIES = 3;

type Tx = Prisma.TransactionClient;

function event(actionId: string, status: ActionStatus, at: Date, detail?: string) {
  return { actionId, status, at, detail: detail ?? null };
}

type Actor = { orgId: string; actor: string };

/** Queues one action for each machine (same type and data) in one transaction, audited. */
export async function queueActions(
  deps: Deps,
  who: Actor,
  args: { machineIds: string[]; spec: ActionSpec; expiresInSeconds?: number | undefined; via: string },
): Promise<string[]> {
  const { clock } = deps;
  const { dispatch, queue } = deps.services;
  const wanted = [...new Set(args.machineIds)];
  const byId = await queue.resolveMachines(who.orgId, wanted);
  const missing = wanted.filter((id) => !byId.has(id));
  if (missing.length > 0) {
    throw notFound(
      `No machine ${missing
        .slice(0, 5)
        .map((m) => `"${m}"`)
        .join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""} in this organization`,
    );
  }
  const now = clock.now();
  const expiresAt = new Date(now.getTime() + (args.expiresInSeconds ?? DEFAULT_EXPIRES_IN_SECONDS) * 1000);
  const payload = JSON.stringify(args.spec.data);
  const actions = wanted.map((machineId) => ({
    id: randomUUID(),
    seq: dispatch.nextSeq(),
    orgId: who.orgId,
    machineRef: byId.get(machineId)!,
    type: args.spec.type,
    payload,
    createdBy: who.actor,
    createdAt: now,
    expiresAt,
  }));
  await queue.write({
    actions,
    events: actions.map((r) => event(r.id, "pending", now, `queued by ${who.actor}`)),
    audit: auditData({
      orgId: who.orgId,
      actor: who.actor,
      action: args.via,
      target: actions.length === 1 ? actions[0]!.id : `${actions.length} actions`,
      detail: {
        type: args.spec.type,
        machineIds: wanted.slice(0, 100),
        actionIds: actions.map((r) => r.id).slice(0, 100),
      },
      at: now,
    }),
  });
  for (const r of actions) dispatch.workAvailable(r.machineRef);
  return actions.map((r) => r.id);
}

/** Cancels a pending or delivered action of the caller's org. */
export async function cancelAction(deps: Deps, who: Actor, id: string): Promise<{ id: string; status: ActionStatus }> {
  const { db, clock } = deps;
  const now = clock.now();
  const changed = await db.$transaction(async (tx) => {
    const { count } = await tx.action.updateMany({
      where: { id, orgId: who.orgId, status: { in: [...cancellableStatuses] } },
      data: { status: "cancelled", finishedAt: now, leaseUntil: null },
    });
    if (count === 1) {
      await tx.actionEvent.create({
        data: event(id, "cancelled", now, `cancelled by ${who.actor}`),
        select: { id: true },
      });
      await tx.auditLog.create({
        data: auditData({ orgId: who.orgId, actor: who.actor, action: "actions.cancel", target: id, at: now }),
        select: { id: true },
      });
    }
    return count === 1;
  });
  if (changed) return { id, status: "cancelled" };
  const found = await db.action.findFirst({ where: { id, orgId: who.orgId }, select: { status: true } });
  if (!found) throw notFound("No such action");
  throw conflict(`Only ${cancellableStatuses.join(" or ")} actions can be cancelled; this one is ${found.status}`);
}

/** Returns expired leases to pending (or gives up after MAX_DELIVERIES) and expires old pending actions. */
async function releaseStale(tx: Tx, now: Date, where: Prisma.ActionWhereInput): Promise<Set<string>> {
  const touched = new Set<string>();
  const stale = await tx.action.findMany({
    where: {
      ...where,
      OR: [
        { status: "delivered", leaseUntil: { lte: now } },
        { status: "pending", expiresAt: { lte: now } },
      ],
    },
    select: { id: true, status: true, deliveryCount: true, machineRef: true, claimToken: true },
  });
  for (const a of stale) {
    if (a.status === "pending") {
      const { count } = await tx.action.updateMany({
        where: { id: a.id, status: "pending" },
        data: { status: "expired", finishedAt: now },
      });
      if (count)
        await tx.actionEvent.create({
          data: event(a.id, "expired", now, "expired before delivery"),
          select: { id: true },
        });
    } else if (a.deliveryCount >= MAX_DELIVERIES) {
      const { count } = await tx.action.updateMany({
        where: { id: a.id, status: "delivered", claimToken: a.claimToken },
        data: {
          status: "error",
          result: `never acknowledged (delivered ${a.deliveryCount} times)`,
          finishedAt: now,
          leaseUntil: null,
        },
      });
      if (count)
        await tx.actionEvent.create({ data: event(a.id, "error", now, "never acknowledged"), select: { id: true } });
    } else {
      const { count } = await tx.action.updateMany({
        where: { id: a.id, status: "delivered", claimToken: a.claimToken },
        data: { status: "pending", claimToken: null, leaseUntil: null },
      });
      if (count)
        await tx.actionEvent.create({
          data: event(a.id, "pending", now, "lease expired; offered again"),
          select: { id: true },
        });
    }
    touched.add(a.machineRef);
  }
  return touched;
}

/** Periodic sweep across all machines. Returns the machines that may now have deliverable work. */
export async function sweepActions({ db, clock, config }: Pick<Deps, "db" | "clock" | "config">): Promise<Set<string>> {
  const now = clock.now();
  return db.$transaction(async (tx) => {
    const touched = await releaseStale(tx, now, {});
    // Executing past its deadline: the outcome is unknown and it is never offered again.
    const overdue = await tx.action.findMany({
      where: { status: "executing", executeDeadline: { lte: now } },
      select: { id: true, machineRef: true },
    });
    for (const a of overdue) {
      const { count } = await tx.action.updateMany({
        where: { id: a.id, status: "executing" },
        data: { status: "unknown", result: `no result within ${config.executeLimitSeconds} s`, finishedAt: now },
      });
      if (count)
        await tx.actionEvent.create({ data: event(a.id, "unknown", now, "no result in time"), select: { id: true } });
      touched.add(a.machineRef);
    }
    return touched;
  });
}

/**
 * Claims the deliverable actions of one machine: oldest first, at most MAX_PER_POLL, nothing behind an
 * unresolved reboot. Each claim is a conditional UPDATE (status still pending), so of concurrent
 * claimers exactly one gets each action. The in-memory index answers empty polls without a query.
 */
export async function claimActions(deps: Deps, machineRef: string): Promise<DeliveredAction[]> {
  const { db, clock, config } = deps;
  const { dispatch } = deps.services;
  if (!dispatch.mayHaveWork(machineRef)) return [];
  const now = clock.now();
  const leaseUntil = new Date(now.getTime() + config.leaseSeconds * 1000);
  const { delivered, next } = await db.$transaction(async (tx) => {
    await releaseStale(tx, now, { machineRef });
    const out: DeliveredAction[] = [];
    const blocking = await tx.action.count({
      where: { machineRef, type: "reboot", status: { in: ["delivered", "executing"] } },
    });
    if (blocking === 0) {
      const candidates = await tx.action.findMany({
        where: { machineRef, status: "pending" },
        orderBy: { seq: "asc" },
        take: MAX_PER_POLL,
        select: { id: true, type: true, payload: true, createdAt: true, expiresAt: true },
      });
      for (const c of candidates) {
        const claimToken = randomBytes(18).toString("base64url");
        const { count } = await tx.action.updateMany({
          where: { id: c.id, status: "pending" },
          data: { status: "delivered", claimToken, leaseUntil, deliveredAt: now, deliveryCount: { increment: 1 } },
        });
        if (count !== 1) continue;
        await tx.actionEvent.create({ data: event(c.id, "delivered", now), select: { id: true } });
        out.push({
          id: c.id,
          type: c.type as ActionType,
          data: parseJson(c.payload),
          claimToken,
          createdAt: c.createdAt.toISOString(),
          expiresAt: c.expiresAt.toISOString(),
        });
        // Nothing is delivered behind a reboot: the machine may be gone before it runs.
        if (c.type === "reboot") break;
      }
    }
    return { delivered: out, next: await nextDue(tx, machineRef, now) };
  });
  dispatch.setNext(machineRef, next);
  return delivered;
}

/** When this machine next needs a look: now if anything is pending, else the earliest lease end. */
async function nextDue(tx: Tx, machineRef: string, now: Date): Promise<number | null> {
  const leased = await tx.action.findFirst({
    where: { machineRef, status: "delivered" },
    orderBy: { leaseUntil: "asc" },
    select: { leaseUntil: true },
  });
  const reboot = await tx.action.count({
    where: { machineRef, type: "reboot", status: { in: ["delivered", "executing"] } },
  });
  const pending = await tx.action.count({ where: { machineRef, status: "pending" } });
  if (pending > 0 && reboot === 0) return now.getTime();
  if (leased?.leaseUntil) return leased.leaseUntil.getTime();
  // Pending work behind an executing reboot: its result (or the sweep) marks the machine again.
  return null;
}

type AgentRef = { orgId: string; machineRef: string };

async function actionForAgent(db: Db, agent: AgentRef, id: string) {
  const a = await db.action.findFirst({
    where: { id, orgId: agent.orgId, machineRef: agent.machineRef },
    select: { id: true, status: true, claimToken: true, type: true },
  });
  if (!a) throw notFound("No such action for this machine");
  return a;
}

/** The agent is about to run the action: delivered → executing. Repeating the same ack is harmless. */
export async function ackAction(
  deps: Deps,
  agent: AgentRef,
  args: { actionId: string; claimToken: string },
): Promise<{ status: ActionStatus }> {
  const { db, clock, config } = deps;
  const now = clock.now();
  const deadline = new Date(now.getTime() + config.executeLimitSeconds * 1000);
  const ok = await db.$transaction(async (tx) => {
    const { count } = await tx.action.updateMany({
      where: {
        id: args.actionId,
        orgId: agent.orgId,
        machineRef: agent.machineRef,
        status: "delivered",
        claimToken: args.claimToken,
      },
      data: { status: "executing", ackedAt: now, executeDeadline: deadline, leaseUntil: null },
    });
    if (count === 1)
      await tx.actionEvent.create({ data: event(args.actionId, "executing", now), select: { id: true } });
    return count === 1;
  });
  if (ok) return { status: "executing" };
  const a = await actionForAgent(db, agent, args.actionId);
  if (a.claimToken !== args.claimToken)
    throw conflict("Stale claim token: this delivery is no longer yours; do not run it");
  if (a.status === "executing") return { status: "executing" };
  throw conflict(`The action is ${a.status}; do not run it`);
}

/**
 * Records an agent's result. With a claim token (tRPC agents) the token must match; the original
 * design's REST flow has none and is accepted while the action is delivered or executing on that machine.
 * A duplicate report of a finished action changes nothing.
 */
export async function reportResult(
  deps: Deps,
  agent: AgentRef,
  args: {
    actionId: string;
    claimToken: string | null;
    status: ResultStatus;
    result: string;
    outcome?: ActionOutcome | undefined;
  },
): Promise<{ status: ActionStatus; duplicate: boolean }> {
  const { db, clock } = deps;
  const { dispatch } = deps.services;
  const now = clock.now();
  const tokenWhere = args.claimToken === null ? {} : { claimToken: args.claimToken };
  const res = await db.$transaction(async (tx) => {
    const { count } = await tx.action.updateMany({
      where: {
        id: args.actionId,
        orgId: agent.orgId,
        machineRef: agent.machineRef,
        status: { in: ["delivered", "executing", "unknown"] },
        ...tokenWhere,
      },
      data: {
        status: args.status,
        result: args.result,
        outcome: args.outcome ? JSON.stringify(args.outcome) : null,
        finishedAt: now,
        leaseUntil: null,
      },
    });
    if (count === 1)
      await tx.actionEvent.create({
        data: event(args.actionId, args.status, now, args.result.slice(0, 200)),
        select: { id: true },
      });
    return count === 1;
  });
  if (res) {
    // A finished reboot unblocks what was queued behind it.
    dispatch.workAvailable(agent.machineRef);
    return { status: args.status, duplicate: false };
  }
  const a = await actionForAgent(db, agent, args.actionId);
  if (args.claimToken !== null && a.claimToken !== args.claimToken)
    throw conflict("Stale claim token: this delivery is no longer yours");
  if (a.status === "done" || a.status === "error") return { status: a.status, duplicate: true };
  throw conflict(`The action is ${a.status}; a result cannot be recorded`);
}

/** Validates raw data for a type (used where type and data arrive separately, e.g. REST). */
export function parseSpec(type: unknown, data: unknown): ActionSpec {
  if (typeof type !== "string" || !(type in actionDataSchemas)) {
    throw invalid("action_type", `must be one of ${Object.keys(actionDataSchemas).join(", ")}`);
  }
  const schema = actionDataSchemas[type as ActionType];
  const parsed = schema.safeParse(data ?? {});
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw invalid(`data.${i?.path.join(".") || "(root)"}`, i?.message ?? "invalid", parsed.error);
  }
  return { type, data: parsed.data } as ActionSpec;
}

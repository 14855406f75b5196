// The action state machine: queue, claim with a lease, acknowledge, report, cancel. The clock's moves
// (lease, expiry, execute deadline) and the sweep are in actionMoves.ts, the agent's progress in
// progress.ts, the admins' reads in actionViews.ts. Every move is one conditional UPDATE whose source
// status comes from the one transition table (contract/statuses.ts, through `moving`), with the claim
// token in the WHERE clause, recorded with its time in ActionEvent inside the transaction that makes it.
import { randomBytes, randomUUID } from "node:crypto";
import type { Config } from "../config.ts";
import type { Deps } from "../context.ts";
import {
  actionDataSchemas,
  DEFAULT_EXPIRES_IN_SECONDS,
  MessageData,
  policyExecuteLimitSeconds,
  RebootPolicy,
  cutText,
  REBOOT_MARGIN_SECONDS,
  type ActionOutcome,
  type ActionSpec,
  type ActionStatus,
  type ActionType,
  type DeliveredAction,
  type ResultStatus,
} from "../contract/index.ts";
import { cancellableStatuses } from "../contract/statuses.ts";
import { lockMachineRow } from "../db/locks.ts";
import { conflict, invalid, notFound } from "../domain/errors.ts";
import { eventRow, expireIds, moving, releaseLeaseRows, SWEEP_BATCH, type Tx } from "./actionMoves.ts";
import { parseJson } from "./actionViews.ts";
import { auditData } from "./audit.ts";

export { MAX_DELIVERIES, sweepActions } from "./actionMoves.ts";

/** At most this many actions are handed out per poll. */
export const MAX_PER_POLL = 10;
/** A message waiting for "I have read this" without an expiry may wait this long for its reader. */
const ACKNOWLEDGEMENT_WAIT_SECONDS = 24 * 3600;

type Actor = { orgId: string; actor: string };

/** Queues one action for each machine (same type and data) in one transaction, audited. */
export async function queueActions(
  deps: Deps,
  who: Actor,
  args: {
    machineIds: string[];
    spec: ActionSpec;
    expiresInSeconds?: number | undefined;
    via: string;
    /** The bulk job these actions belong to (bulk.create). */
    bulkId?: string | undefined;
  },
): Promise<string[]> {
  const { clock } = deps;
  const { dispatch, queue } = deps.services;
  const wanted = [...new Set(args.machineIds)];
  const byId = await queue.resolveMachines(who.orgId, wanted);
  const missing = wanted.filter((id) => !byId.has(id));
  if (missing.length > 0) {
    const named = missing.slice(0, 5).map((m) => `"${m}"`);
    throw notFound(
      `No machine ${named.join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""} in this organization (or retired)`,
    );
  }
  const now = clock.now();
  const expiresAt = new Date(now.getTime() + (args.expiresInSeconds ?? DEFAULT_EXPIRES_IN_SECONDS) * 1000);
  const payload = JSON.stringify(args.spec.data);
  // SQLite: numbered here. PostgreSQL (several processes): null, numbered from the database sequence
  // by the commit's own statement, in this order (services/dispatch.ts queueSeqs).
  const seqs = dispatch.queueSeqs(wanted.length);
  const actions = wanted.map((machineId, i) => ({
    id: randomUUID(),
    seq: seqs ? seqs[i]! : null,
    orgId: who.orgId,
    machineRef: byId.get(machineId)!,
    type: args.spec.type,
    payload,
    createdBy: who.actor,
    createdAt: now,
    expiresAt,
    bulkId: args.bulkId ?? null,
  }));
  await queue.write({
    actions,
    events: actions.map((r) => eventRow(r.id, "pending", now, `queued by ${who.actor}`)),
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
  // The other processes were told inside the commit (queue.write): wake this one's streams.
  dispatch.workQueued(actions.map((r) => r.machineRef));
  return actions.map((r) => r.id);
}

/** Cancels an action of the caller's org that its agent has not acknowledged yet. */
export async function cancelAction(deps: Deps, who: Actor, id: string): Promise<{ id: string; status: ActionStatus }> {
  const { db, clock } = deps;
  const now = clock.now();
  const sources = cancellableStatuses.map((s) => moving(s, "cancelled"));
  const changed = await db.$transaction(async (tx) => {
    const { count } = await tx.action.updateMany({
      where: { id, orgId: who.orgId, status: { in: sources } },
      data: { status: "cancelled", finishedAt: now, leaseUntil: null },
    });
    if (count === 1) {
      await tx.actionEvent.create({
        data: eventRow(id, "cancelled", now, `cancelled by ${who.actor}`),
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

/**
 * Claims the deliverable actions of one machine: oldest first, at most MAX_PER_POLL, nothing behind an
 * unresolved reboot. Each claim is a conditional UPDATE (status still pending), so of concurrent
 * claimers exactly one gets each action. The in-memory index answers empty polls without a query; it
 * is updated inside the claim's transaction, before its commit, so a queue call that commits after
 * this claim always marks the machine after this update, never before it (its mark cannot be lost);
 * one that commits while the claim runs, after its reads, is kept by the claim's watch (dispatch.ts).
 *
 * Cost: all SQLite work shares one serialized connection, and a statement through Prisma costs about
 * a millisecond of CPU, so the claim reads the machine's open actions in two queries (in flight;
 * the first pending ones; more pages only behind expired ones) and decides the rest in code: a one-action claim is 4 statements plus
 * BEGIN/COMMIT (it was 10: separate reads for expiry, leases, reboots in flight, candidates, and
 * three more for the index's next look).
 */
export async function claimActions(deps: Deps, machineRef: string): Promise<DeliveredAction[]> {
  const { db, clock, config } = deps;
  const { dispatch } = deps.services;
  if (!dispatch.mayHaveWork(machineRef)) return [];
  const now = clock.now();
  const leaseUntil = new Date(now.getTime() + config.leaseSeconds * 1000);
  // Before any read: work queued (and heard) while this claim runs keeps the machine marked.
  const watch = dispatch.beginClaim(machineRef);
  try {
    return await db.$transaction(async (tx) => {
      // PostgreSQL: claims of one machine take turns (server/db/locks.ts); SQLite is serialized already.
      await lockMachineRow(tx, machineRef);
      // In flight: a reboot among them blocks delivery; a delivered one past its lease is offered again.
      const inFlight = await tx.action.findMany({
        where: { machineRef, status: { in: ["delivered", "executing"] } },
        select: { id: true, machineRef: true, type: true, status: true, leaseUntil: true, deliveryCount: true },
      });
      const stale = inFlight.filter((a) => a.status === "delivered" && a.leaseUntil && a.leaseUntil <= now);
      if (stale.length > 0) await releaseLeaseRows(tx, now, stale, new Set());
      const held = inFlight.filter((a) => !stale.includes(a));
      let rebootHeld = held.some((a) => a.type === "reboot");
      // Pending in order, a page of one more than a poll takes (whether work remains: the index's next
      // look); expired ones are expired here, and another page read only while they leave too few.
      const candidates: PendingRow[] = [];
      const expired: string[] = [];
      let more = false;
      for (let after: number | undefined; ;) {
        const page = await tx.action.findMany({
          where: { machineRef, status: "pending", ...(after === undefined ? {} : { seq: { gt: after } }) },
          orderBy: { seq: "asc" },
          take: MAX_PER_POLL + 1,
          select: { id: true, seq: true, type: true, payload: true, createdAt: true, expiresAt: true },
        });
        for (const c of page) {
          if (c.expiresAt <= now) expired.push(c.id);
          else candidates.push(c);
        }
        more = page.length > MAX_PER_POLL;
        // Bounded like a sweep batch: a backlog of expired actions never makes this transaction long.
        if (!more || candidates.length > MAX_PER_POLL || expired.length >= SWEEP_BATCH) break;
        after = page[page.length - 1]!.seq;
      }
      if (expired.length > 0) await expireIds(tx, now, expired);
      const out: DeliveredAction[] = [];
      for (const c of rebootHeld ? [] : candidates.slice(0, MAX_PER_POLL)) {
        const claimToken = randomBytes(18).toString("base64url");
        const { count } = await tx.action.updateMany({
          where: { id: c.id, status: moving("pending", "delivered") },
          data: { status: "delivered", claimToken, leaseUntil, deliveredAt: now, deliveryCount: { increment: 1 } },
        });
        if (count !== 1) continue;
        out.push({
          id: c.id,
          type: c.type as ActionType,
          data: parseJson(c.payload),
          claimToken,
          createdAt: c.createdAt.toISOString(),
          expiresAt: c.expiresAt.toISOString(),
        });
        // Nothing is delivered behind a reboot: the machine may be gone before it runs.
        if (c.type === "reboot") {
          rebootHeld = true;
          break;
        }
      }
      if (out.length > 0) await tx.actionEvent.createMany({ data: out.map((a) => eventRow(a.id, "delivered", now)) });
      // Work left: one not taken now, or maybe some past the rows read (another look finds out).
      const pendingLeft = more || candidates.length > out.length;
      const leases = [
        ...held.flatMap((a) => (a.status === "delivered" && a.leaseUntil ? [a.leaseUntil.getTime()] : [])),
        ...(out.length > 0 ? [leaseUntil.getTime()] : []),
      ];
      dispatch.setNext(machineRef, nextDue(now, pendingLeft && !rebootHeld, leases), watch);
      return out;
    });
  } catch (err) {
    // The claim did not commit: whatever the index was told inside it, look again next poll.
    dispatch.recheck(machineRef, watch);
    throw err;
  }
}

type PendingRow = { id: string; type: string; payload: string; createdAt: Date; expiresAt: Date };

/** When this machine next needs a look: now if anything is deliverable, else the earliest lease end. */
function nextDue(now: Date, deliverable: boolean, leaseEnds: number[]): number | null {
  if (deliverable) return now.getTime();
  if (leaseEnds.length > 0) return Math.min(...leaseEnds);
  // Pending work behind an executing reboot: its end (result, came-back, or the sweep) marks the machine.
  return null;
}

/**
 * How long an acknowledged action may run before it is `unknown`, from the action itself: a reboot's
 * policy (deadline or every prompt and snooze, then the final stage, then a margin), a message that
 * waits to be read (until its expiry, or a day), never less than DASHFLEET_EXECUTE_LIMIT_SECONDS.
 */
export function executeLimitSeconds(
  type: ActionType,
  data: unknown,
  config: Pick<Config, "executeLimitSeconds">,
  now: Date = new Date(),
): number {
  const floor = config.executeLimitSeconds;
  if (type === "reboot") {
    const policy = RebootPolicy.safeParse(data ?? {});
    return policy.success ? Math.max(floor, policyExecuteLimitSeconds(policy.data, now)) : floor;
  }
  if (type === "message") {
    const m = MessageData.safeParse(data);
    if (!m.success || !m.data.requireAcknowledgement) return floor;
    const wait = m.data.expiresAt
      ? Math.ceil((Date.parse(m.data.expiresAt) - now.getTime()) / 1000) + REBOOT_MARGIN_SECONDS
      : ACKNOWLEDGEMENT_WAIT_SECONDS;
    return Math.max(floor, wait);
  }
  return floor;
}

export type AgentRef = { orgId: string; machineRef: string };

/** The agent is about to run the action: delivered → executing. Repeating the same ack is harmless. */
export async function ackAction(
  deps: Deps,
  agent: AgentRef,
  args: { actionId: string; claimToken: string },
): Promise<{ status: ActionStatus }> {
  const { db, clock, config } = deps;
  const now = clock.now();
  const owned = { id: args.actionId, orgId: agent.orgId, machineRef: agent.machineRef };
  const ok = await db.$transaction(async (tx) => {
    const a = await tx.action.findFirst({
      where: { ...owned, status: "delivered", claimToken: args.claimToken },
      select: { type: true, payload: true },
    });
    if (!a) return false;
    const limit = executeLimitSeconds(a.type as ActionType, parseJson(a.payload), config, now);
    const { count } = await tx.action.updateMany({
      where: { ...owned, status: moving("delivered", "executing"), claimToken: args.claimToken },
      data: {
        status: "executing",
        ackedAt: now,
        executeDeadline: new Date(now.getTime() + limit * 1000),
        leaseUntil: null,
      },
    });
    if (count === 1)
      await tx.actionEvent.create({ data: eventRow(args.actionId, "executing", now), select: { id: true } });
    return count === 1;
  });
  if (ok) return { status: "executing" };
  const a = await actionForAgent(deps, agent, args.actionId);
  if (a.claimToken !== args.claimToken)
    throw conflict("Stale claim token: this delivery is no longer yours; do not run it");
  if (a.status === "executing") return { status: "executing" };
  throw conflict(`The action is ${a.status}; do not run it`);
}

/** One action of the agent's machine; NOT_FOUND for any other (another machine's or org's alike). */
export async function actionForAgent({ db }: Pick<Deps, "db">, agent: AgentRef, id: string) {
  const a = await db.action.findFirst({
    where: { id, orgId: agent.orgId, machineRef: agent.machineRef },
    select: { id: true, status: true, claimToken: true, type: true },
  });
  if (!a) throw notFound("No such action for this machine");
  return a;
}

/**
 * Whether an action that just ended should wake its machine: only a reboot with work queued behind it
 * (any other end changes nothing deliverable; a wake would cost a poll and an empty claim).
 */
export async function wakeIfWaiting(tx: Tx, type: string, machineRef: string): Promise<boolean> {
  if (type !== "reboot") return false;
  return (await tx.action.count({ where: { machineRef, status: "pending" } })) > 0;
}

/**
 * Records an agent's result, fenced by the claim token. The rules (contract/statuses.ts):
 * - a result needs an ack first: `delivered` never moves to done/error (CONFLICT, "ack it first");
 * - `unknown` is final: a late result goes on the timeline as a "late-result" event, status unchanged;
 * - a reboot is `done` only once the machine came back (booted after the request): a `done` result
 *   before the agent's "came-back" progress is kept on the action and on the timeline ("held"), the
 *   action stays executing, and the came-back event finishes it (progress.ts); an `error` ends it.
 * A repeat of a result already recorded changes nothing (duplicate: true).
 */
export async function reportResult(
  deps: Deps,
  agent: AgentRef,
  args: {
    actionId: string;
    claimToken: string;
    status: ResultStatus;
    result: string;
    outcome?: ActionOutcome | undefined;
  },
): Promise<{ status: ActionStatus; duplicate: boolean }> {
  const { db, clock } = deps;
  const now = clock.now();
  const outcome = args.outcome ? JSON.stringify(args.outcome) : null;
  const answer = await db.$transaction(async (tx) => {
    const a = await tx.action.findFirst({
      where: { id: args.actionId, orgId: agent.orgId, machineRef: agent.machineRef },
      select: {
        status: true,
        claimToken: true,
        type: true,
        result: true,
        events: { where: { kind: "late-result" }, select: { id: true }, take: 1 },
      },
    });
    if (!a) throw notFound("No such action for this machine");
    if (a.claimToken !== args.claimToken) throw conflict("Stale claim token: this delivery is no longer yours");
    const status = a.status as ActionStatus;
    if (status === "delivered")
      throw conflict("The action was not acknowledged: ack it first (agent.ack), then report its result");
    if (status === "unknown") {
      if (a.events.length > 0) return { status, duplicate: true };
      const detail = cutText(`late result (${args.status}): ${args.result}`, 200);
      await tx.actionEvent.create({
        data: eventRow(args.actionId, "unknown", now, detail, "late-result"),
        select: { id: true },
      });
      return { status, duplicate: false };
    }
    if (status === "done" || status === "error") return { status, duplicate: true };
    if (status !== "executing") throw conflict(`The action is ${status}; a result cannot be recorded`);
    if (a.type === "reboot" && args.status === "done") {
      if (a.result !== null) return { status, duplicate: true };
      await tx.action.updateMany({
        where: { id: args.actionId, status: "executing", claimToken: args.claimToken },
        data: { result: args.result, outcome },
      });
      const detail = cutText(`the agent reported done (${args.result}); waiting for the machine to come back`, 200);
      await tx.actionEvent.create({
        data: eventRow(args.actionId, "executing", now, detail, "held-result"),
        select: { id: true },
      });
      return { status, duplicate: false };
    }
    const { count } = await tx.action.updateMany({
      where: { id: args.actionId, status: moving("executing", args.status), claimToken: args.claimToken },
      data: { status: args.status, result: args.result, outcome, finishedAt: now, leaseUntil: null },
    });
    if (count !== 1) throw conflict("The action changed meanwhile; report again");
    await tx.actionEvent.create({
      data: eventRow(args.actionId, args.status, now, cutText(args.result, 200)),
      select: { id: true },
    });
    return {
      status: args.status as ActionStatus,
      duplicate: false,
      wake: await wakeIfWaiting(tx, a.type, agent.machineRef),
    };
  });
  if ("wake" in answer && answer.wake) deps.services.dispatch.workAvailable(agent.machineRef);
  return { status: answer.status, duplicate: answer.duplicate };
}

/**
 * Validates raw data for a type (used where type and data arrive separately, e.g. REST). The type is
 * a user-given name: only the map's own keys count ("toString", "__proto__" are not action types).
 */
export function parseSpec(type: unknown, data: unknown): ActionSpec {
  if (typeof type !== "string" || !Object.hasOwn(actionDataSchemas, type)) {
    throw invalid("action_type", `must be one of ${Object.keys(actionDataSchemas).join(", ")}`);
  }
  const schema = actionDataSchemas[type as ActionType];
  const parsed = schema.safeParse(data ?? {});
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw invalid(["data", ...(i?.path ?? [])].map(String).join("."), i?.message ?? "invalid", parsed.error);
  }
  return { type, data: parsed.data } as ActionSpec;
}

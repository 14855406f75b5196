// Bulk jobs: one admin decision (a message, a restart, a reboot) sent to many machines, chosen by ids
// or by a fleet filter, up to the whole fleet. The machines are resolved in the server (a filter is
// one indexed SELECT of refs, never rows handed to a client); the job, its actions (each carrying the
// bulk id) and their events are written in one transaction by INSERT … SELECT; counts by status are
// one GROUP BY over the (bulkId, status) index.
import { randomUUID } from "node:crypto";
import type { Deps } from "../context.ts";
import {
  actionStatuses,
  cancellableStatuses,
  DEFAULT_EXPIRES_IN_SECONDS,
  type ActionSpec,
  type ActionStatus,
  FleetFilter,
  type BulkJobView,
  type BulkTarget,
  type BulkTargetView,
} from "../contract/index.ts";
import { cast, dialectOf, jsonArrayRows, PG_UUID_V4_SQL } from "../db/dialect.ts";
import { PG_NEXT_ACTION_SEQ } from "./dispatch.ts";
import { lockRowsFor } from "../db/locks.ts";
import { invalid, notFound } from "../domain/errors.ts";
import type { AdminPrincipal } from "../trpc.ts";
import { listActions, type ActionView } from "./actionViews.ts";
import { auditData } from "./audit.ts";
import { decisionCounts, type BulkDecisions } from "./bulkDecisions.ts";
import { filterSql } from "./fleetQuery.ts";
import { queueBudgetKey } from "./rateLimit.ts";

/** Machine ids looked up per query (well under SQLite's bound-parameter limit). */
const LOOKUP_CHUNK = 500;
/** How many machine ids a job's stored target and its audit row keep (the count is always exact). */
const AUDIT_SAMPLE = 100;

/** A machine id list, or a filter, in words: "3 machines", "online, label web, search "db"". */
export function describeTarget(target: StoredTarget): string {
  if ("machineIds" in target)
    return target.count === 1 ? `machine ${target.machineIds[0] ?? ""}` : `${target.count} machines`;
  const f = target.filter;
  const parts = [
    f.search ? `search "${f.search}"` : null,
    f.online === undefined ? null : f.online ? "online" : "offline",
    f.health ? `health ${f.health}` : null,
    f.os ? `OS "${f.os}"` : null,
    f.labels?.length ? `label${f.labels.length > 1 ? "s" : ""} ${f.labels.join(", ")}` : null,
  ].filter((p): p is string => p !== null);
  return parts.length ? `machines matching ${parts.join("; ")}` : "all machines";
}

/** What BulkJob.target stores: the filter, or the ids (the first AUDIT_SAMPLE) and their count. */
type StoredTarget = { filter: FleetFilter } | { machineIds: string[]; count: number };

/** Refs of the org's live (not retired) machines named by id; every unknown id is an error. */
async function refsByIds(deps: Deps, orgId: string, machineIds: string[]): Promise<string[]> {
  const wanted = [...new Set(machineIds)];
  const found = new Map<string, string>();
  for (let i = 0; i < wanted.length; i += LOOKUP_CHUNK) {
    const chunk = wanted.slice(i, i + LOOKUP_CHUNK);
    const rows = await deps.db.machine.findMany({
      where: { orgId, retiredAt: null, machineId: { in: chunk } },
      select: { id: true, machineId: true },
    });
    for (const r of rows) found.set(r.machineId, r.id);
  }
  const missing = wanted.filter((id) => !found.has(id));
  if (missing.length > 0) {
    const named = missing
      .slice(0, 5)
      .map((m) => `"${m}"`)
      .join(", ");
    throw notFound(
      `No machine ${named}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""} in this organization (or retired)`,
    );
  }
  return wanted.map((id) => found.get(id)!);
}

/** Refs of every live machine matching a filter: one indexed SELECT, in the server. */
async function refsByFilter(deps: Deps, orgId: string, filter: FleetFilter): Promise<string[]> {
  const where = filterSql(orgId, filter, deps.clock);
  const rows = await deps.db.$queryRawUnsafe<{ id: string }[]>(
    `SELECT m."id" AS id FROM "Machine" m WHERE ${where.text}`,
    ...where.params,
  );
  return rows.map((r) => r.id);
}

/**
 * Creates a bulk job. The queue budget counts actions: an API key spends one per machine and is
 * refused (TOO_MANY_REQUESTS naming the budget) beyond it; an owner's or admin's explicit bulk is one
 * decision and may go beyond it (counted as one). Either way it is audited.
 */
export async function createBulk(
  deps: Deps,
  who: AdminPrincipal,
  args: { target: BulkTarget; spec: ActionSpec; expiresInSeconds?: number | undefined },
): Promise<{ bulkId: string; count: number }> {
  const { db, clock } = deps;
  const { dispatch, limiter } = deps.services;
  const refs =
    "machineIds" in args.target
      ? await refsByIds(deps, who.orgId, args.target.machineIds)
      : await refsByFilter(deps, who.orgId, args.target.filter);
  if (refs.length === 0) throw invalid("target", "no machine matches this filter");
  const budget = deps.config.limits.queuePerMinute;
  if (who.keyId !== null) limiter.spend(queueBudgetKey(who), refs.length, budget, "queued actions");
  else limiter.charge(queueBudgetKey(who), 1);

  const now = clock.now();
  const bulkId = randomUUID();
  const expiresAt = new Date(now.getTime() + (args.expiresInSeconds ?? DEFAULT_EXPIRES_IN_SECONDS) * 1000);
  const payload = JSON.stringify(args.spec.data);
  const target: StoredTarget =
    "machineIds" in args.target
      ? { machineIds: [...new Set(args.target.machineIds)].slice(0, AUDIT_SAMPLE), count: refs.length }
      : { filter: args.target.filter };
  // Sequence numbers: on SQLite (one process) a contiguous block taken synchronously, no other queue
  // call interleaves; on PostgreSQL each row takes nextval of the database sequence inside the INSERT
  // (unique across processes; not necessarily contiguous, which nothing needs: see dispatch.ts).
  const d = dialectOf(db);
  const seqParams = d === "postgresql" ? [] : [dispatch.reserveSeqs(refs.length)];
  const seqSql = d === "postgresql" ? PG_NEXT_ACTION_SEQ : `${cast(d, "?", "int")} + j."key"`;
  const detail = `queued by ${who.actor} (bulk ${bulkId})`;
  // One transaction: the job, its actions (INSERT … SELECT over a JSON array of the machines, so the
  // statement binds a handful of parameters whatever the count), their first events, the audit row.
  // Why not the queue's group commit: it exists so many small calls share one fsync; a bulk is one
  // large write, and binding its rows as parameters was the cost: 100,000 actions took 27 s through
  // 400-row INSERTs against about 3 s for this INSERT … SELECT (measured on this shared 2-core box).
  await db.$transaction(async (tx) => {
    await tx.bulkJob.create({
      data: {
        id: bulkId,
        orgId: who.orgId,
        type: args.spec.type,
        payload,
        target: JSON.stringify(target),
        count: refs.length,
        createdBy: who.actor,
        createdAt: now,
      },
      select: { id: true },
    });
    await tx.$executeRawUnsafe(
      `INSERT INTO "Action" ("id", "seq", "orgId", "machineRef", "type", "payload", "status", "createdBy", "createdAt", "expiresAt", "deliveryCount", "bulkId") ` +
        `SELECT ${d === "postgresql" ? PG_UUID_V4_SQL : UUID_V4_SQL}, ${seqSql}, ?, j."value", ?, ?, 'pending', ?, ` +
        `${cast(d, "?", "timestamp")}, ${cast(d, "?", "timestamp")}, 0, ? FROM ${jsonArrayRows(d, "?")}`,
      ...seqParams,
      who.orgId,
      args.spec.type,
      payload,
      who.actor,
      now,
      expiresAt,
      bulkId,
      JSON.stringify(refs),
    );
    await tx.$executeRawUnsafe(
      `INSERT INTO "ActionEvent" ("actionId", "status", "at", "detail") SELECT "id", 'pending', ${cast(d, "?", "timestamp")}, ? FROM "Action" WHERE "bulkId" = ?`,
      now,
      detail,
      bulkId,
    );
    await tx.auditLog.create({
      data: auditData({
        orgId: who.orgId,
        actor: who.actor,
        action: "bulk.create",
        target: bulkId,
        detail: {
          type: args.spec.type,
          target: describeTarget(target),
          // The same target as data: the audit page words it in the console's language.
          targetSpec: targetSpecOf(target, refs.length),
          count: refs.length,
          ...(who.keyId === null && refs.length > budget ? { beyondQueueBudget: budget } : {}),
        },
        at: now,
      }),
      select: { id: true },
    });
    // PostgreSQL: the wake-up of every other process, delivered exactly at this commit.
    for (const notice of dispatch.announce(tx, refs)) await notice;
  });
  // The other processes were told inside the commit (announce): wake this one's streams.
  dispatch.workQueued(refs);
  return { bulkId, count: refs.length };
}

/** A random RFC 4122 version-4 UUID in SQL (the API validates action ids as UUIDs). */
const UUID_V4_SQL =
  `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || ` +
  `substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`;

/** Counts of a job's actions by status (every status present, zeros included). */
async function countsOf(deps: Pick<Deps, "db">, bulkIds: string[]): Promise<Map<string, Record<ActionStatus, number>>> {
  const out = new Map<string, Record<ActionStatus, number>>();
  for (const id of bulkIds)
    out.set(id, Object.fromEntries(actionStatuses.map((s) => [s, 0])) as Record<ActionStatus, number>);
  if (bulkIds.length === 0) return out;
  const rows = await deps.db.$queryRawUnsafe<{ bulkId: string; status: string; n: number | bigint }[]>(
    `SELECT "bulkId", "status", COUNT(*) AS n FROM "Action" WHERE "bulkId" IN (${bulkIds.map(() => "?").join(", ")}) GROUP BY "bulkId", "status"`,
    ...bulkIds,
  );
  for (const r of rows) {
    const c = out.get(r.bulkId);
    if (c && r.status in c) c[r.status as ActionStatus] = Number(r.n);
  }
  return out;
}

type BulkRow = {
  id: string;
  type: string;
  payload: string;
  target: string;
  count: number;
  createdBy: string;
  createdAt: Date;
  cancelledAt: Date | null;
};
const bulkSelect = {
  id: true,
  type: true,
  payload: true,
  target: true,
  count: true,
  createdBy: true,
  createdAt: true,
  cancelledAt: true,
} as const;

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** A stored target as data; a filter stored by an older version that no longer parses counts as machines. */
function targetSpecOf(stored: unknown, count: number): BulkTargetView {
  const filter =
    stored && typeof stored === "object" && "filter" in stored ? FleetFilter.safeParse(stored.filter) : null;
  if (filter?.success) return { kind: "filter", filter: filter.data };
  const ids = stored && typeof stored === "object" && "machineIds" in stored ? stored.machineIds : null;
  const only = count === 1 && Array.isArray(ids) && typeof ids[0] === "string" ? ids[0] : null;
  return { kind: "machines", count, machineId: only };
}

function toView(r: BulkRow, counts: Record<ActionStatus, number>): BulkJobView {
  const t = parse(r.target);
  const target =
    t && typeof t === "object" && ("filter" in t || "machineIds" in t)
      ? describeTarget(t as StoredTarget)
      : `${r.count} machines`;
  return {
    id: r.id,
    type: r.type,
    data: parse(r.payload),
    target,
    targetSpec: targetSpecOf(t, r.count),
    count: r.count,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    cancelledAt: r.cancelledAt?.toISOString() ?? null,
    counts,
  };
}

/** A job with its counts by status and a page of its actions (optionally of one status). */
export async function getBulk(
  deps: Pick<Deps, "db">,
  orgId: string,
  args: { bulkId: string; status?: ActionStatus | undefined; limit: number; cursor?: string | null | undefined },
): Promise<{
  job: BulkJobView;
  counts: Record<ActionStatus, number>;
  actions: { items: ActionView[]; nextCursor: string | null };
  /** What the users decided (rebooted / snoozed / waiting / declined), from each action's progress. */
  decisions: BulkDecisions;
}> {
  const row = await deps.db.bulkJob.findFirst({ where: { id: args.bulkId, orgId }, select: bulkSelect });
  if (!row) throw notFound("No such bulk job");
  const [counts, actions, decisions] = await Promise.all([
    countsOf(deps, [row.id]),
    listActions(deps, orgId, {
      bulkId: row.id,
      status: args.status ? [args.status] : undefined,
      limit: args.limit,
      cursor: args.cursor,
    }),
    decisionCounts(deps.db, row.id),
  ]);
  const c = counts.get(row.id)!;
  return { job: toView(row, c), counts: c, actions, decisions };
}

/** The org's bulk jobs, newest first, keyset-paged over (createdAt, id). */
export async function listBulk(
  deps: Pick<Deps, "db">,
  orgId: string,
  args: { limit: number; cursor?: string | null | undefined },
): Promise<{ items: BulkJobView[]; nextCursor: string | null }> {
  let after: { createdAt: Date; id: string } | null = null;
  if (args.cursor) {
    const c = await deps.db.bulkJob.findFirst({
      where: { id: args.cursor, orgId },
      select: { id: true, createdAt: true },
    });
    if (!c) throw invalid("cursor", "not a cursor from bulk.list");
    after = c;
  }
  const rows = await deps.db.bulkJob.findMany({
    where: {
      orgId,
      ...(after
        ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }
        : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: args.limit + 1,
    select: bulkSelect,
  });
  const page = rows.slice(0, args.limit);
  const counts = await countsOf(
    deps,
    page.map((r) => r.id),
  );
  return {
    items: page.map((r) => toView(r, counts.get(r.id)!)),
    nextCursor: rows.length > args.limit ? (page.at(-1)?.id ?? null) : null,
  };
}

/** Cancels every action of the job that is still cancellable, in one transaction, audited. */
export async function cancelBulk(
  deps: Pick<Deps, "db" | "clock">,
  who: { orgId: string; actor: string },
  bulkId: string,
): Promise<{ cancelled: number }> {
  const { db, clock } = deps;
  const job = await db.bulkJob.findFirst({ where: { id: bulkId, orgId: who.orgId }, select: { id: true } });
  if (!job) throw notFound("No such bulk job");
  const now = clock.now();
  const marks = cancellableStatuses.map(() => "?").join(", ");
  const detail = `cancelled by ${who.actor} (bulk ${bulkId})`;
  // Events first (for exactly the rows about to move), then the move, in one transaction: nothing
  // changes between the two statements.
  const cancelled = await db.$transaction(async (tx) => {
    await lockRowsFor(
      tx,
      `SELECT "id" FROM "Action" WHERE "bulkId" = ? AND "status" IN (${marks})`,
      bulkId,
      ...cancellableStatuses,
    );
    const n = await tx.$executeRawUnsafe(
      `INSERT INTO "ActionEvent" ("actionId", "status", "at", "detail") SELECT "id", 'cancelled', ${cast(dialectOf(db), "?", "timestamp")}, ? FROM "Action" WHERE "bulkId" = ? AND "status" IN (${marks})`,
      now,
      detail,
      bulkId,
      ...cancellableStatuses,
    );
    await tx.$executeRawUnsafe(
      `UPDATE "Action" SET "status" = 'cancelled', "finishedAt" = ?, "leaseUntil" = NULL WHERE "bulkId" = ? AND "status" IN (${marks})`,
      now,
      bulkId,
      ...cancellableStatuses,
    );
    await tx.bulkJob.update({ where: { id: bulkId }, data: { cancelledAt: now }, select: { id: true } });
    await tx.auditLog.create({
      data: auditData({
        orgId: who.orgId,
        actor: who.actor,
        action: "bulk.cancel",
        target: bulkId,
        detail: { cancelled: n },
        at: now,
      }),
      select: { id: true },
    });
    return n;
  });
  return { cancelled };
}

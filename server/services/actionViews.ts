// Read views of actions for admins: the paged list (every filter of the Actions page and a bulk job's
// page) and one action with its timeline. Reads only; the state machine is in actionLifecycle.ts.
import type { Deps } from "../context.ts";
import {
  INT4_MAX,
  type ActionOutcome,
  type ActionStatus,
  type ActionType,
  type ProgressEvent,
} from "../contract/index.ts";
import { invalid, notFound } from "../domain/errors.ts";
import type { Prisma } from "../generated/prisma/client.ts";

/** Columns every action read returns (explicit: no claim token leaks to admins). */
const actionSelect = {
  id: true,
  seq: true,
  type: true,
  payload: true,
  status: true,
  result: true,
  outcome: true,
  createdBy: true,
  createdAt: true,
  expiresAt: true,
  deliveryCount: true,
  deliveredAt: true,
  ackedAt: true,
  executeDeadline: true,
  finishedAt: true,
  bulkId: true,
  progress: true,
  machine: { select: { machineId: true, hostname: true, displayName: true } },
} as const satisfies Prisma.ActionSelect;

type ActionRow = Prisma.ActionGetPayload<{ select: typeof actionSelect }>;

/**
 * An action's latest progress (Action.progress): the agent's last event, its number, when the server
 * got it, and the deadline the user was last shown (kept from an earlier "shown" event), so a row can
 * read "snoozed 1 of 3, next prompt 14:05, deadline 18:00" from this alone.
 */
export type StoredProgress = ProgressEvent & {
  seq: number;
  receivedAt: string;
  deadlineAt?: string | null | undefined;
};

/** An action as admins see it. Times are ISO strings. */
export type ActionView = {
  id: string;
  machineId: string;
  hostname: string;
  /** The machine's display name, or its hostname when it has none. */
  name: string;
  type: ActionType;
  data: unknown;
  status: ActionStatus;
  result: string | null;
  outcome: ActionOutcome | null;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  deliveryCount: number;
  deliveredAt: string | null;
  ackedAt: string | null;
  /** When an executing action turns `unknown` without a result (ack time + its own execute limit). */
  executeDeadline: string | null;
  finishedAt: string | null;
  bulkId: string | null;
  /** The agent's latest progress event (shown, snoozed, final stage, ...), or null. */
  progress: StoredProgress | null;
};

/** One entry of an action's timeline: a status change (kind null) or an agent's progress event. */
export type ActionEventView = { status: ActionStatus; at: string; detail: string | null; kind: string | null };

export function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function toView(r: ActionRow): ActionView {
  return {
    id: r.id,
    machineId: r.machine.machineId,
    hostname: r.machine.hostname,
    name: r.machine.displayName ?? r.machine.hostname,
    type: r.type as ActionType,
    data: parseJson(r.payload),
    status: r.status as ActionStatus,
    result: r.result,
    outcome: parseJson(r.outcome) as ActionOutcome | null,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    expiresAt: r.expiresAt.toISOString(),
    deliveryCount: r.deliveryCount,
    deliveredAt: r.deliveredAt?.toISOString() ?? null,
    ackedAt: r.ackedAt?.toISOString() ?? null,
    executeDeadline: r.executeDeadline?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
    bulkId: r.bulkId,
    progress: parseJson(r.progress) as StoredProgress | null,
  };
}

/** Filters of actions.list (and of a bulk job's action list). */
export type ActionFilter = {
  machineId?: string | undefined;
  status?: readonly ActionStatus[] | undefined;
  type?: ActionType | undefined;
  /** Who queued it, as recorded ("user:ann@example.com", "key:ci"). */
  createdBy?: string | undefined;
  bulkId?: string | undefined;
  /** Queued at or after / before this time. */
  from?: Date | undefined;
  to?: Date | undefined;
};

/**
 * The cursor is the sequence number of the last action of the page, opaque to clients ("s" + seq):
 * keyset paging over (orgId, …, seq), so a page costs the same at any depth, and a walk from the first
 * page lists every action committed before it began exactly once. An action committed during a walk
 * may be missing from that walk: numbers are drawn before the commit, and with several writers
 * (PostgreSQL: other processes, or a long bulk) one can commit behind the walk's cursor, like an action
 * queued after the walk began above it. Nothing here tails forwards, and every read is fresh (the
 * console re-reads the page on screen at each poll), so it shows at the next read of its page
 * (tests/integration/pg-live-paging.test.ts).
 */
function parseCursor(cursor: string): number {
  const m = /^s(\d{1,15})$/.exec(cursor);
  // Past Action.seq's range (PostgreSQL's integer) no cursor was ever returned: refused here, where
  // PostgreSQL would answer "out of range" (a 500).
  if (!m || Number(m[1]) > INT4_MAX) throw invalid("cursor", "not a cursor returned by this list");
  return Number(m[1]);
}

/** Lists an org's actions, newest first, with filters and cursor paging. */
export async function listActions(
  { db }: Pick<Deps, "db">,
  orgId: string,
  args: ActionFilter & { limit: number; cursor?: string | null | undefined },
): Promise<{ items: ActionView[]; nextCursor: string | null }> {
  const beforeSeq = args.cursor ? parseCursor(args.cursor) : undefined;
  const createdAt: Prisma.DateTimeFilter = {};
  if (args.from) createdAt.gte = args.from;
  if (args.to) createdAt.lt = args.to;
  const rows = await db.action.findMany({
    where: {
      orgId,
      ...(args.machineId !== undefined ? { machine: { machineId: args.machineId } } : {}),
      ...(args.status?.length ? { status: { in: [...args.status] } } : {}),
      ...(args.type ? { type: args.type } : {}),
      ...(args.createdBy !== undefined ? { createdBy: args.createdBy } : {}),
      ...(args.bulkId !== undefined ? { bulkId: args.bulkId } : {}),
      ...(args.from || args.to ? { createdAt } : {}),
      ...(beforeSeq !== undefined ? { seq: { lt: beforeSeq } } : {}),
    },
    orderBy: { seq: "desc" },
    take: args.limit + 1,
    select: actionSelect,
  });
  const page = rows.slice(0, args.limit);
  const last = page.at(-1);
  return { items: page.map(toView), nextCursor: rows.length > args.limit && last ? `s${last.seq}` : null };
}

/** One action with its timeline (status changes and the agent's progress, oldest first). */
export async function getAction(
  { db }: Pick<Deps, "db">,
  orgId: string,
  id: string,
): Promise<ActionView & { events: ActionEventView[] }> {
  const row = await db.action.findFirst({
    where: { id, orgId },
    select: {
      ...actionSelect,
      events: { orderBy: { id: "asc" }, select: { status: true, at: true, detail: true, kind: true } },
    },
  });
  if (!row) throw notFound("No such action");
  return {
    ...toView(row),
    events: row.events.map((e) => ({
      status: e.status as ActionStatus,
      at: e.at.toISOString(),
      detail: e.detail,
      kind: e.kind,
    })),
  };
}

// The moves the clock makes on actions (a lease runs out, a pending action expires, an execution
// overruns its deadline), shared by a machine's claim and the periodic sweep, and the sweep itself.
// The sweep works in bounded batches, one short transaction each, found through the indexes
// (status, leaseUntil), (status, expiresAt) and (status, executeDeadline): a backlog of thousands
// never makes one transaction long enough to time out and hold the write lock (hostile review).
import { setImmediate as yieldToRequests } from "node:timers/promises";
import type { Deps } from "../context.ts";
import { canMove, type ActionStatus } from "../contract/statuses.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { lockSweep } from "../db/advisory.ts";

export type Tx = Prisma.TransactionClient;

/** An action delivered this many times without an ack is given up ("never acknowledged"). */
export const MAX_DELIVERIES = 3;
/** Rows per sweep transaction. */
export const SWEEP_BATCH = 500;

/** The timeline row of a status change (kind null) or of an agent's progress (kind set); callers cut its detail with cutText. */
export function eventRow(
  actionId: string,
  status: ActionStatus,
  at: Date,
  detail?: string | null,
  kind?: string | null,
) {
  return { actionId, status, at, detail: detail ?? null, kind: kind ?? null };
}

/**
 * The source status of the move `from → to`, checked against the one transition table: every
 * conditional UPDATE names its source through this, so no code path can make a move the table forbids.
 */
export function moving(from: ActionStatus, to: ActionStatus): ActionStatus {
  if (!canMove(from, to)) throw new Error(`Not an allowed move: ${from} → ${to} (see contract/statuses.ts)`);
  return from;
}

/** Pending actions past their expiry → expired. Returns how many rows it looked at. */
async function expirePending(tx: Tx, now: Date, where: Prisma.ActionWhereInput, take: number): Promise<number> {
  const rows = await tx.action.findMany({
    where: { ...where, status: "pending", expiresAt: { lte: now } },
    orderBy: { expiresAt: "asc" },
    take,
    select: { id: true },
  });
  if (rows.length === 0) return 0;
  await expireIds(
    tx,
    now,
    rows.map((r) => r.id),
  );
  return rows.length;
}

/** These pending actions (found past their expiry) → expired, with their events. */
export async function expireIds(tx: Tx, now: Date, ids: string[]): Promise<void> {
  await tx.action.updateMany({
    where: { id: { in: ids }, status: moving("pending", "expired") },
    data: { status: "expired", finishedAt: now },
  });
  await tx.actionEvent.createMany({ data: ids.map((id) => eventRow(id, "expired", now, "expired before delivery")) });
}

/**
 * Delivered actions whose lease ran out → pending again (offered anew), or error after MAX_DELIVERIES
 * deliveries without an ack. Adds the machines with work offered again to `touched`.
 */
async function releaseLeases(
  tx: Tx,
  now: Date,
  where: Prisma.ActionWhereInput,
  take: number,
  touched: Set<string>,
): Promise<number> {
  const rows = await tx.action.findMany({
    where: { ...where, status: "delivered", leaseUntil: { lte: now } },
    orderBy: { leaseUntil: "asc" },
    take,
    select: { id: true, machineRef: true, deliveryCount: true },
  });
  if (rows.length === 0) return 0;
  await releaseLeaseRows(tx, now, rows, touched);
  return rows.length;
}

/**
 * These delivered actions (found past their lease) → pending again, or error after MAX_DELIVERIES
 * deliveries. Shared by the sweep and a machine's claim (which reads them with its other rows).
 */
export async function releaseLeaseRows(
  tx: Tx,
  now: Date,
  rows: { id: string; machineRef: string; deliveryCount: number }[],
  touched: Set<string>,
): Promise<void> {
  const giveUp = rows.filter((r) => r.deliveryCount >= MAX_DELIVERIES);
  const again = rows.filter((r) => r.deliveryCount < MAX_DELIVERIES);
  for (const count of new Set(giveUp.map((r) => r.deliveryCount))) {
    const ids = giveUp.filter((r) => r.deliveryCount === count).map((r) => r.id);
    await tx.action.updateMany({
      where: { id: { in: ids }, status: moving("delivered", "error") },
      data: {
        status: "error",
        result: `never acknowledged (delivered ${count} times)`,
        finishedAt: now,
        leaseUntil: null,
      },
    });
  }
  if (again.length > 0) {
    await tx.action.updateMany({
      where: { id: { in: again.map((r) => r.id) }, status: moving("delivered", "pending") },
      data: { status: "pending", claimToken: null, leaseUntil: null },
    });
  }
  await tx.actionEvent.createMany({
    data: [
      ...giveUp.map((r) => eventRow(r.id, "error", now, "never acknowledged")),
      ...again.map((r) => eventRow(r.id, "pending", now, "lease expired; offered again")),
    ],
  });
  for (const r of again) touched.add(r.machineRef);
}

/**
 * Executing past its own deadline → unknown (final: never offered again; a late result only goes on
 * the timeline). A reboot that turns unknown unblocks what waits behind it: its machine is touched.
 */
async function overdueToUnknown(tx: Tx, now: Date, take: number, touched: Set<string>): Promise<number> {
  const rows = await tx.action.findMany({
    where: { status: "executing", executeDeadline: { lte: now } },
    orderBy: { executeDeadline: "asc" },
    take,
    select: { id: true, machineRef: true, type: true, ackedAt: true, executeDeadline: true },
  });
  if (rows.length === 0) return 0;
  const limitOf = (r: (typeof rows)[number]) =>
    r.ackedAt && r.executeDeadline ? Math.round((r.executeDeadline.getTime() - r.ackedAt.getTime()) / 1000) : null;
  for (const limit of new Set(rows.map(limitOf))) {
    const ids = rows.filter((r) => limitOf(r) === limit).map((r) => r.id);
    await tx.action.updateMany({
      where: { id: { in: ids }, status: moving("executing", "unknown") },
      data: {
        status: "unknown",
        result: limit === null ? "no result in time" : `no result within ${limit} s`,
        finishedAt: now,
      },
    });
  }
  await tx.actionEvent.createMany({ data: rows.map((r) => eventRow(r.id, "unknown", now, "no result in time")) });
  for (const r of rows) if (r.type === "reboot") touched.add(r.machineRef);
  return rows.length;
}

/**
 * Periodic sweep across all machines, SWEEP_BATCH rows per transaction until nothing is left; other
 * requests run between batches. Returns the machines that may now have deliverable work.
 */
export async function sweepActions(
  { db, clock }: Pick<Deps, "db" | "clock">,
  batch = SWEEP_BATCH,
): Promise<Set<string>> {
  const now = clock.now();
  const touched = new Set<string>();
  const steps: ((tx: Tx) => Promise<number>)[] = [
    (tx) => releaseLeases(tx, now, {}, batch, touched),
    (tx) => expirePending(tx, now, {}, batch),
    (tx) => overdueToUnknown(tx, now, batch, touched),
  ];
  for (const step of steps) {
    for (;;) {
      // Several server processes on PostgreSQL: one sweep transaction at a time (server/db/advisory.ts).
      const seen = await db.$transaction(async (tx) => {
        await lockSweep(tx);
        return step(tx);
      });
      if (seen < batch) break;
      await yieldToRequests();
    }
  }
  return touched;
}

// The fleet as admins see it: machines with their latest metrics, whether they are online, a health
// score, and how much work waits for them; one machine's metric history and recent actions.
import { TRPCError } from "@trpc/server";
import type { Clock } from "../clock.ts";
import type { Db } from "../db.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { listActions, type ActionView } from "./actions.ts";

/** A machine is online while its last contact is within this many report intervals. */
export const ONLINE_INTERVALS = 3;
/** fleet.machine returns this many metric reports. */
export const HISTORY_POINTS = 120;
/** fleet.machine returns this many recent actions. */
export const RECENT_ACTIONS = 20;
/** Statuses counted as "pending" work for a machine: not yet acknowledged by its agent. */
const WAITING = ["pending", "delivered"];

/** Latest metrics as reported. */
export type MachineMetrics = {
  cpuPercent: number;
  memoryPercent: number;
  diskPercent: number;
  uptimeSeconds: number;
  at: string;
  extras: Record<string, number | string | boolean> | null;
};

/** One machine in the fleet list (and the head of fleet.machine). Times are ISO strings. */
export type MachineView = {
  machineId: string;
  hostname: string;
  os: string;
  agentVersion: string;
  firstSeenAt: string;
  lastSeenAt: string;
  online: boolean;
  health: number;
  metrics: MachineMetrics | null;
  pendingCount: number;
};

export type FleetSort = "hostname" | "machineId" | "lastSeen" | "health";

/** Explicit columns: the machine token hash is never read here. */
const machineSelect = {
  id: true,
  machineId: true,
  hostname: true,
  os: true,
  agentVersion: true,
  reportIntervalSec: true,
  firstSeenAt: true,
  lastSeenAt: true,
  lastCpu: true,
  lastMemory: true,
  lastDisk: true,
  lastUptime: true,
  lastExtras: true,
  lastReportAt: true,
} as const satisfies Prisma.MachineSelect;

type MachineRow = Prisma.MachineGetPayload<{ select: typeof machineSelect }>;

/** Online: the last contact (enrollment or report) is at most ONLINE_INTERVALS report intervals old. */
export function isOnline(lastSeenAt: Date, reportIntervalSec: number, now: Date): boolean {
  return now.getTime() - lastSeenAt.getTime() <= ONLINE_INTERVALS * reportIntervalSec * 1000;
}

/** Penalty rising linearly from 0 at `from` percent to `max` points at 100 percent. */
function overPenalty(value: number, from: number, max: number): number {
  return value <= from ? 0 : ((value - from) / (100 - from)) * max;
}

/**
 * Health score 0–100 (bands in the contract's healthBand: ≥70 good, ≥40 warn, else bad).
 * Starts at 100 and subtracts:
 *  - CPU above 70 %: up to 30 points at 100 %;
 *  - memory above 75 %: up to 30 points at 100 %;
 *  - disk above 80 %: up to 40 points at 100 % (a full disk breaks most things);
 *  - offline: 70 points, so an offline machine is never better than "bad" (30).
 * A machine that never reported metrics scores 50 online (unknown, "warn") and 0 offline.
 * Rounded to an integer and clamped to 0–100.
 */
export function healthScore(
  online: boolean,
  metrics: { cpuPercent: number; memoryPercent: number; diskPercent: number } | null,
): number {
  if (!metrics) return online ? 50 : 0;
  let score = 100;
  score -= overPenalty(metrics.cpuPercent, 70, 30);
  score -= overPenalty(metrics.memoryPercent, 75, 30);
  score -= overPenalty(metrics.diskPercent, 80, 40);
  if (!online) score -= 70;
  return Math.round(Math.min(100, Math.max(0, score)));
}

function parseExtras(text: string | null): MachineMetrics["extras"] {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, number | string | boolean>) : null;
  } catch {
    return null;
  }
}

function toView(r: MachineRow, pendingCount: number, now: Date): MachineView {
  const online = isOnline(r.lastSeenAt, r.reportIntervalSec, now);
  const metrics: MachineMetrics | null =
    r.lastReportAt && r.lastCpu !== null && r.lastMemory !== null && r.lastDisk !== null
      ? {
          cpuPercent: r.lastCpu,
          memoryPercent: r.lastMemory,
          diskPercent: r.lastDisk,
          uptimeSeconds: r.lastUptime ?? 0,
          at: r.lastReportAt.toISOString(),
          extras: parseExtras(r.lastExtras),
        }
      : null;
  return {
    machineId: r.machineId,
    hostname: r.hostname,
    os: r.os,
    agentVersion: r.agentVersion,
    firstSeenAt: r.firstSeenAt.toISOString(),
    lastSeenAt: r.lastSeenAt.toISOString(),
    online,
    health: healthScore(online, metrics),
    metrics,
    pendingCount,
  };
}

const sorters: Record<FleetSort, (a: MachineView, b: MachineView) => number> = {
  hostname: (a, b) => a.hostname.localeCompare(b.hostname) || a.machineId.localeCompare(b.machineId),
  machineId: (a, b) => a.machineId.localeCompare(b.machineId),
  // Most recently seen first.
  lastSeen: (a, b) => b.lastSeenAt.localeCompare(a.lastSeenAt) || a.machineId.localeCompare(b.machineId),
  // Worst first: what needs attention is on top.
  health: (a, b) => a.health - b.health || a.machineId.localeCompare(b.machineId),
};

/** The org's machines, optionally filtered by a search on id/hostname and by online state. */
export async function listFleet(
  deps: { db: Db; clock: Clock },
  orgId: string,
  args: { search?: string | undefined; online?: boolean | undefined; sort?: FleetSort | undefined },
): Promise<MachineView[]> {
  const { db, clock } = deps;
  const search = args.search?.trim();
  const where: Prisma.MachineWhereInput = {
    orgId,
    ...(search ? { OR: [{ machineId: { contains: search } }, { hostname: { contains: search } }] } : {}),
  };
  const [rows, waiting] = await Promise.all([
    db.machine.findMany({ where, select: machineSelect }),
    db.action.groupBy({ by: ["machineRef"], where: { orgId, status: { in: WAITING } }, _count: { _all: true } }),
  ]);
  const counts = new Map(waiting.map((w) => [w.machineRef, w._count._all]));
  const now = clock.now();
  const views = rows
    .map((r) => toView(r, counts.get(r.id) ?? 0, now))
    .filter((v) => args.online === undefined || v.online === args.online);
  return views.sort(sorters[args.sort ?? "hostname"]);
}

/** One machine of the org with its recent metric history (oldest first) and newest actions. */
export async function machineDetail(
  deps: { db: Db; clock: Clock },
  orgId: string,
  machineId: string,
): Promise<{
  machine: MachineView;
  history: { at: string; cpuPercent: number; memoryPercent: number; diskPercent: number }[];
  actions: ActionView[];
}> {
  const { db, clock } = deps;
  const row = await db.machine.findUnique({ where: { orgId_machineId: { orgId, machineId } }, select: machineSelect });
  if (!row) throw new TRPCError({ code: "NOT_FOUND", message: `No machine "${machineId}" in this organization` });
  const [pendingCount, reports, actions] = await Promise.all([
    db.action.count({ where: { machineRef: row.id, status: { in: WAITING } } }),
    db.metricReport.findMany({
      where: { machineRef: row.id },
      orderBy: [{ at: "desc" }, { id: "desc" }],
      take: HISTORY_POINTS,
      select: { at: true, cpu: true, memory: true, disk: true },
    }),
    listActions(db, orgId, { machineId, limit: RECENT_ACTIONS }),
  ]);
  return {
    machine: toView(row, pendingCount, clock.now()),
    history: reports
      .reverse()
      .map((r) => ({ at: r.at.toISOString(), cpuPercent: r.cpu, memoryPercent: r.memory, diskPercent: r.disk })),
    actions: actions.items,
  };
}

// Machines: enrollment (per-machine tokens) and metric reports.
import { TRPCError } from "@trpc/server";
import type { Clock } from "../clock.ts";
import type { MachineIdentity, MetricReport } from "../contract/index.ts";
import type { Db } from "../db.ts";
import { hashSecret, MACHINE_TOKEN_PREFIX, newSecret } from "./crypto.ts";

/**
 * Enrolls a machine (or re-enrolls it: same org and machine id) and returns a fresh machine token.
 * The previous token of that machine stops working.
 */
export async function enrollMachine(
  db: Db,
  clock: Clock,
  orgId: string,
  identity: MachineIdentity,
  reportIntervalSec: number,
): Promise<{ machineToken: string; machineRef: string }> {
  const token = newSecret(MACHINE_TOKEN_PREFIX);
  const now = clock.now();
  const fields = { hostname: identity.hostname, os: identity.os, agentVersion: identity.agentVersion, tokenHash: hashSecret(token), lastSeenAt: now, reportIntervalSec };
  const m = await db.machine.upsert({
    where: { orgId_machineId: { orgId, machineId: identity.machineId } },
    create: { orgId, machineId: identity.machineId, firstSeenAt: now, ...fields },
    update: fields,
    select: { id: true },
  });
  return { machineToken: token, machineRef: m.id };
}

/** Stores one metric report and updates the machine's latest figures. */
export async function recordReport(
  db: Db,
  clock: Clock,
  machineRef: string,
  report: MetricReport,
  identity?: Partial<Omit<MachineIdentity, "machineId">>,
): Promise<void> {
  const now = clock.now();
  const extras = report.extras ? JSON.stringify(report.extras) : null;
  await db.$transaction([
    db.metricReport.create({
      data: { machineRef, at: now, cpu: report.cpuPercent, memory: report.memoryPercent, disk: report.diskPercent, uptime: report.uptimeSeconds, extras },
      select: { id: true },
    }),
    db.machine.update({
      where: { id: machineRef },
      data: {
        lastSeenAt: now,
        lastReportAt: now,
        lastCpu: report.cpuPercent,
        lastMemory: report.memoryPercent,
        lastDisk: report.diskPercent,
        lastUptime: report.uptimeSeconds,
        lastExtras: extras,
        ...(identity ?? {}),
      },
      select: { id: true },
    }),
  ]);
}

/** Finds a machine of an org by its agent-side id; NOT_FOUND otherwise. */
export async function machineRefOf(db: Db, orgId: string, machineId: string): Promise<string> {
  const m = await db.machine.findUnique({ where: { orgId_machineId: { orgId, machineId } }, select: { id: true } });
  if (!m) throw new TRPCError({ code: "NOT_FOUND", message: `No machine "${machineId}" in this organization` });
  return m.id;
}

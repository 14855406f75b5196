// What operators change on a machine: its display name and its labels (short lowercase tags, ≤ 20).
// Shared by machines.update and the CLI (`machine label`); every change is audited in its transaction.
import type { Clock } from "../clock.ts";
import type { MachineView } from "../contract/index.ts";
import type { Db } from "../db.ts";
import { notFound } from "../domain/errors.ts";
import { writeAudit } from "./audit.ts";
import { machineView } from "./fleet.ts";

type Actor = { orgId: string; actor: string };

/**
 * Sets a machine's display name (null or "" clears it) and/or replaces its labels (already validated
 * by the contract's Labels: lowercase, unique, sorted, ≤ 20). Returns the machine as listed.
 */
export async function updateMachine(
  deps: { db: Db; clock: Clock },
  who: Actor,
  args: { machineId: string; displayName?: string | null | undefined; labels?: string[] | undefined },
): Promise<MachineView> {
  const { db, clock } = deps;
  const now = clock.now();
  await db.$transaction(async (tx) => {
    const m = await tx.machine.findUnique({
      where: { orgId_machineId: { orgId: who.orgId, machineId: args.machineId } },
      select: { id: true, displayName: true, labels: { select: { label: true }, orderBy: { label: "asc" } } },
    });
    if (!m) throw notFound(`No machine "${args.machineId}" in this organization`);
    const detail: Record<string, unknown> = {};
    if (args.displayName !== undefined) {
      const displayName = args.displayName === null || args.displayName === "" ? null : args.displayName;
      await tx.machine.update({ where: { id: m.id }, data: { displayName }, select: { id: true } });
      detail.displayName = { from: m.displayName, to: displayName };
    }
    if (args.labels !== undefined) {
      await tx.machineLabel.deleteMany({ where: { machineRef: m.id } });
      if (args.labels.length > 0)
        await tx.machineLabel.createMany({
          data: args.labels.map((label) => ({ machineRef: m.id, orgId: who.orgId, label })),
        });
      detail.labels = { from: m.labels.map((l) => l.label), to: args.labels };
    }
    await writeAudit(tx, {
      orgId: who.orgId,
      actor: who.actor,
      action: "machines.update",
      target: args.machineId,
      detail,
      at: now,
    });
  });
  const { ref: _ref, ...view } = await machineView(deps, who.orgId, args.machineId);
  return view;
}

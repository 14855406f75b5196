// Which machine an agent key + machine_id means (the original design's protocol, legacy mode), and
// whether an organization allows that protocol at all. Cached per process, so a legacy REST poll costs
// no database query (issue 12: it resolved the machine through Prisma on every poll, 0.03× bare);
// retirement, re-enrollment and the org switch invalidate entries in every process (invalidations.ts).
import { LRUCache } from "lru-cache";
import type { Db } from "../db.ts";
import { forbidden, invalid, notFound } from "../domain/errors.ts";

/** Machines remembered by name (legacy agents of every org together). */
const MACHINES_MAX = 500_000;
const ORGS_MAX = 10_000;

export class MachineDirectory {
  /** `${orgId} ${machineId}` → machine row id (active machines only). */
  readonly #byName: LRUCache<string, string>;
  /** machine row id → its name key, so an invalidation by row id is one lookup. */
  readonly #nameOf = new Map<string, string>();
  readonly #legacy = new LRUCache<string, boolean>({ max: ORGS_MAX });

  constructor(private readonly db: Db) {
    this.#byName = new LRUCache({ max: MACHINES_MAX, dispose: (ref) => this.#nameOf.delete(ref) });
  }

  /** Whether the org accepts agent key + machine_id (legacy mode). */
  async legacyAgents(orgId: string): Promise<boolean> {
    const hit = this.#legacy.get(orgId);
    if (hit !== undefined) return hit;
    // Prisma's query API, not raw SQL: cached, so rare, and the same on SQLite and PostgreSQL.
    const org = await this.db.organization.findUnique({ where: { id: orgId }, select: { legacyAgents: true } });
    const on = org?.legacyAgents ?? false;
    this.#legacy.set(orgId, on);
    return on;
  }

  /** FORBIDDEN unless the org is in legacy mode. */
  async assertLegacy(orgId: string): Promise<void> {
    if (!(await this.legacyAgents(orgId)))
      throw forbidden(
        "Legacy agent mode is off for this organization: an agent key only enrolls; use the machine token from agent.enroll",
      );
  }

  /**
   * The machine an agent key names, in legacy mode only. FORBIDDEN when the org's legacy mode is off
   * (enroll and use the machine token), NOT_FOUND for an unknown or retired machine.
   */
  async resolveLegacy(orgId: string, machineId: string): Promise<string> {
    await this.assertLegacy(orgId);
    const name = `${orgId} ${machineId}`;
    const hit = this.#byName.get(name);
    if (hit !== undefined) return hit;
    const m = await this.db.machine.findFirst({ where: { orgId, machineId, retiredAt: null }, select: { id: true } });
    const ref = m?.id;
    if (ref === undefined) throw notFound(`No machine "${machineId}" in this organization`);
    this.#byName.set(name, ref);
    this.#nameOf.set(ref, name);
    return ref;
  }

  /**
   * The machine an agent key names when both the org's legacy switch (on) and the machine are cached,
   * without awaiting (the legacy poll's hot path); undefined when only resolveLegacy can tell.
   */
  cachedLegacy(orgId: string, machineId: string): string | undefined {
    return this.#legacy.get(orgId) === true ? this.#byName.get(`${orgId} ${machineId}`) : undefined;
  }

  /** A machine was retired or re-enrolled. */
  forgetMachine(machineRef: string): void {
    const name = this.#nameOf.get(machineRef);
    if (name !== undefined) this.#byName.delete(name);
    this.#nameOf.delete(machineRef);
  }

  /** An org's legacy switch changed. */
  forgetOrg(orgId: string): void {
    this.#legacy.delete(orgId);
  }

  size(): number {
    return this.#byName.size;
  }
}

/** The agent side of a caller: a machine token (its own machine) or an agent-scoped key. */
export type AgentCaller =
  { orgId: string; kind: "machine"; machineRef: string; machineId: string } | { orgId: string; kind: "key" };

/**
 * Which machine an agent call is about: a machine token's own machine (naming another is FORBIDDEN),
 * or, with an agent key in an org in legacy mode, the machine it names (from the cached directory).
 * `field` names the machine id where the caller sends it ("machineId" in tRPC, "machine_id" in REST).
 */
export async function machineForAgent(
  directory: MachineDirectory,
  agent: AgentCaller,
  machineId: string | undefined,
  field = "machineId",
): Promise<{ orgId: string; machineRef: string; machineId: string }> {
  if (agent.kind === "machine") {
    if (machineId !== undefined && machineId !== agent.machineId)
      throw forbidden("A machine token can only act for its own machine");
    return { orgId: agent.orgId, machineRef: agent.machineRef, machineId: agent.machineId };
  }
  if (!machineId) {
    await directory.assertLegacy(agent.orgId);
    throw invalid(field, "required with an agent key");
  }
  return { orgId: agent.orgId, machineRef: await directory.resolveLegacy(agent.orgId, machineId), machineId };
}

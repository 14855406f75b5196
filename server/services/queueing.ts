// Queueing at fleet scale: a directory of machine ids (machines are never deleted, so a found id stays
// valid) and a group commit, so concurrent queue calls share one transaction and one fsync. A call
// still returns only after its own rows are committed: an answered queue call is on disk.
import type { Db } from "../db.ts";

/** Rows of one queue call: actions, their first events, and the audit row. */
export type QueueJob = {
  actions: {
    id: string;
    seq: number;
    orgId: string;
    machineRef: string;
    type: string;
    payload: string;
    createdBy: string;
    createdAt: Date;
    expiresAt: Date;
  }[];
  events: { actionId: string; status: string; at: Date; detail: string | null }[];
  audit: { orgId: string; actor: string; action: string; target: string | null; detail: string | null; at: Date };
};

type Waiting = { job: QueueJob; done: () => void; fail: (err: unknown) => void };

/** Rows per INSERT statement (SQLite allows 32,766 bound values). */
const CHUNK = 400;
/** Calls per transaction at the most. */
const MAX_BATCH = 500;

export class ActionQueue {
  readonly #refs = new Map<string, string>();
  #batch: Waiting[] = [];
  #running: Promise<void> | null = null;

  constructor(private readonly db: Db) {}

  /** Maps an org's machine ids to internal refs; ids not found are left out of the answer. */
  async resolveMachines(orgId: string, machineIds: string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const unknown: string[] = [];
    for (const id of machineIds) {
      const ref = this.#refs.get(`${orgId}\u0000${id}`);
      if (ref) found.set(id, ref);
      else unknown.push(id);
    }
    if (unknown.length > 0) {
      const rows = await this.db.machine.findMany({ where: { orgId, machineId: { in: unknown } }, select: { id: true, machineId: true } });
      for (const m of rows) {
        this.#refs.set(`${orgId}\u0000${m.machineId}`, m.id);
        found.set(m.machineId, m.id);
      }
    }
    return found;
  }

  /** Commits a job together with whatever other jobs arrive meanwhile; resolves once it is on disk. */
  write(job: QueueJob): Promise<void> {
    return new Promise<void>((done, fail) => {
      this.#batch.push({ job, done, fail });
      this.#start();
    });
  }

  /** Waits until every job handed in so far is committed (server shutdown). */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
  }

  #start(): void {
    if (this.#running || this.#batch.length === 0) return;
    const batch = this.#batch.splice(0, MAX_BATCH);
    this.#running = this.#commit(batch).finally(() => {
      this.#running = null;
      // Jobs that arrived during this commit form the next batch at once.
      this.#start();
    });
  }

  async #commit(batch: Waiting[]): Promise<void> {
    try {
      await this.#insert(batch.map((w) => w.job));
      for (const w of batch) w.done();
    } catch (err) {
      if (batch.length === 1) return batch[0]!.fail(err);
      // One failing job must not sink the others: commit each alone, so each gets its own answer.
      for (const w of batch) {
        try {
          await this.#insert([w.job]);
          w.done();
        } catch (e) {
          w.fail(e);
        }
      }
    }
  }

  /** Plain multi-row INSERTs in one transaction (Prisma's createMany compiles a plan per row count). */
  async #insert(jobs: QueueJob[]): Promise<void> {
    const actions = jobs.flatMap((j) => j.actions);
    const events = jobs.flatMap((j) => j.events);
    const audits = jobs.map((j) => j.audit);
    const statements = [
      ...chunks(actions).map((c) =>
        this.db.$executeRawUnsafe(
          `INSERT INTO "Action" ("id", "seq", "orgId", "machineRef", "type", "payload", "status", "createdBy", "createdAt", "expiresAt", "deliveryCount") VALUES ${c.map(() => "(?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, 0)").join(", ")}`,
          ...c.flatMap((a) => [a.id, a.seq, a.orgId, a.machineRef, a.type, a.payload, a.createdBy, a.createdAt, a.expiresAt]),
        ),
      ),
      ...chunks(events).map((c) =>
        this.db.$executeRawUnsafe(
          `INSERT INTO "ActionEvent" ("actionId", "status", "at", "detail") VALUES ${c.map(() => "(?, ?, ?, ?)").join(", ")}`,
          ...c.flatMap((e) => [e.actionId, e.status, e.at, e.detail]),
        ),
      ),
      ...chunks(audits).map((c) =>
        this.db.$executeRawUnsafe(
          `INSERT INTO "AuditLog" ("orgId", "actor", "action", "target", "detail", "at") VALUES ${c.map(() => "(?, ?, ?, ?, ?, ?)").join(", ")}`,
          ...c.flatMap((a) => [a.orgId, a.actor, a.action, a.target, a.detail, a.at]),
        ),
      ),
    ];
    await this.db.$transaction(statements);
  }
}

function chunks<T>(rows: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += CHUNK) out.push(rows.slice(i, i + CHUNK));
  return out;
}

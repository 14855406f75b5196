// Queueing at fleet scale: a directory of live machine ids (machines are never deleted; a retired one
// is forgotten when its invalidation arrives, see services/index.ts) and a group commit, so concurrent queue calls share one transaction and one fsync. A call
// still returns only after its own rows are committed: an answered queue call is on disk.
import type { Db } from "../db.ts";
import { dialectOf } from "../db/dialect.ts";
import type { ActionDispatch } from "./dispatch.ts";
import { GroupCommit } from "./groupCommit.ts";
import { writeQueueJobsPg, type PgQueueWriter } from "./queueWritePg.ts";

/** Rows of one queue call: actions, their first events, and the audit row. */
export type QueueJob = {
  actions: {
    id: string;
    /** null: numbered at the commit (PostgreSQL only, see services/queueWritePg.ts). */
    seq: number | null;
    orgId: string;
    machineRef: string;
    type: string;
    payload: string;
    createdBy: string;
    createdAt: Date;
    expiresAt: Date;
    bulkId?: string | null;
  }[];
  events: { actionId: string; status: string; at: Date; detail: string | null }[];
  audit: { orgId: string; actor: string; action: string; target: string | null; detail: string | null; at: Date };
};

/** Rows per INSERT statement (SQLite allows 32,766 bound values). */
const CHUNK = 400;

export class ActionQueue {
  readonly #refs = new Map<string, string>();
  /** Directory misses waiting for the next turn of the event loop, per org (see #lookUp). */
  readonly #lookups = new Map<string, { ids: Set<string>; rows: Promise<{ id: string; machineId: string }[]> }>();
  /** The directory key of each cached ref, so a retired machine can be forgotten by its ref. */
  readonly #keyOfRef = new Map<string, string>();
  /**
   * A 2 ms linger: on SQLite the commit (better-sqlite3, synchronous, fsync) blocks the event loop, so
   * no call can arrive "while a commit runs". With no linger each call committed alone (measured: 471
   * commits for 471 calls from 64 connections, 72–91/s on a loaded disk); with 2 ms, calls whose
   * requests are being read join the same commit (up to 40 a commit in the same run).
   */
  readonly #commits = new GroupCommit<QueueJob>((jobs) => this.#insert(jobs), {
    lingerMs: 2,
    maxBatch: 500,
    // Then it waits (20 ms at most) for the single calls already being read (see arriving()): with
    // one fsync per commit blocking the loop, every call that misses a commit waits for another.
    inFlight: () => this.#arriving,
    maxLingerMs: 20,
  });
  #arriving = 0;
  /** Transactions committed (or tried) and the jobs they carried: calls per commit, for tests and the bench. */
  readonly stats = { commits: 0, jobs: 0 };

  /**
   * Counts a queue call from the start of its request to its answer (server/http/fastPoll.ts), so a
   * commit can wait for it; returns the function that ends the count.
   */
  arriving(): () => void {
    this.#arriving += 1;
    let ended = false;
    return () => {
      if (!ended) this.#arriving -= 1;
      ended = true;
    };
  }

  /**
   * @param dispatch announces the queued machines to other server processes inside each commit (PostgreSQL)
   * @param writer PostgreSQL: the queue's own connection (services/queueWritePg.ts); without one, through Prisma
   */
  constructor(
    private readonly db: Db,
    private readonly dispatch?: Pick<ActionDispatch, "announcement">,
    readonly writer: PgQueueWriter | null = null,
  ) {}

  /**
   * Maps an org's live machine ids to internal refs; ids not found, or retired, are left out of the
   * answer (a retired machine never runs what is queued for it).
   */
  async resolveMachines(orgId: string, machineIds: string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const unknown: string[] = [];
    for (const id of machineIds) {
      const ref = this.#refs.get(`${orgId}\u0000${id}`);
      if (ref) found.set(id, ref);
      else unknown.push(id);
    }
    if (unknown.length > 0) {
      const mine = new Set(unknown);
      for (const m of await this.#lookUp(orgId, unknown)) {
        const key = `${orgId}\u0000${m.machineId}`;
        this.#refs.set(key, m.id);
        this.#keyOfRef.set(m.id, key);
        if (mine.has(m.machineId)) found.set(m.machineId, m.id);
      }
    }
    return found;
  }

  /**
   * Directory misses of one org that arrive in the same turn of the event loop share one query: a
   * burst of calls to machines not seen yet (after a start, and in each of several processes) costs one
   * query per turn instead of one per call.
   */
  #lookUp(orgId: string, machineIds: string[]): Promise<{ id: string; machineId: string }[]> {
    let lookup = this.#lookups.get(orgId);
    if (!lookup) {
      const ids = new Set<string>();
      const rows = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.#lookups.delete(orgId);
        return this.db.machine.findMany({
          where: { orgId, machineId: { in: [...ids] }, retiredAt: null },
          select: { id: true, machineId: true },
        });
      });
      lookup = { ids, rows };
      this.#lookups.set(orgId, lookup);
    }
    for (const id of machineIds) lookup.ids.add(id);
    return lookup.rows;
  }

  /** Forgets a machine retired (or re-enrolled) in any process: the next queue call reads it again. */
  forgetMachine(machineRef: string): void {
    const key = this.#keyOfRef.get(machineRef);
    if (key === undefined) return;
    this.#keyOfRef.delete(machineRef);
    this.#refs.delete(key);
  }

  /** Commits a job together with whatever other jobs arrive meanwhile; resolves once it is on disk. */
  write(job: QueueJob): Promise<void> {
    return this.#commits.add(job);
  }

  /** Waits until every job handed in so far is committed (server shutdown). */
  flush(): Promise<void> {
    return this.#commits.flush();
  }

  /** Server shutdown: the last commits, then the queue's own connection (PostgreSQL) ends. */
  async close(): Promise<void> {
    await this.flush();
    await this.writer?.close();
  }

  /**
   * SQLite: plain multi-row INSERTs in one transaction (Prisma's createMany compiles a plan per row
   * count). PostgreSQL: one statement with the NOTIFY that wakes the other processes' agents,
   * delivered exactly at its commit.
   */
  async #insert(jobs: QueueJob[]): Promise<void> {
    this.stats.commits += 1;
    this.stats.jobs += jobs.length;
    if (dialectOf(this.db) === "postgresql") {
      const refs = [...new Set(jobs.flatMap((j) => j.actions.map((a) => a.machineRef)))];
      const notify = this.dispatch?.announcement(refs) ?? { channel: "", payloads: [] };
      return this.writer ? this.writer.write(jobs, notify) : writeQueueJobsPg(this.db, jobs, notify);
    }
    const actions = jobs.flatMap((j) => j.actions);
    const events = jobs.flatMap((j) => j.events);
    const audits = jobs.map((j) => j.audit);
    const statements = [
      ...chunks(actions).map((c) =>
        this.db.$executeRawUnsafe(
          `INSERT INTO "Action" ("id", "seq", "orgId", "machineRef", "type", "payload", "status", "createdBy", "createdAt", "expiresAt", "deliveryCount", "bulkId") VALUES ${c.map(() => "(?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, 0, ?)").join(", ")}`,
          ...c.flatMap((a) => [
            a.id,
            a.seq,
            a.orgId,
            a.machineRef,
            a.type,
            a.payload,
            a.createdBy,
            a.createdAt,
            a.expiresAt,
            a.bulkId ?? null,
          ]),
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

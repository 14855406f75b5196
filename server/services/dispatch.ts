// In-memory index of which machines may have deliverable work, so that an empty poll (the
// overwhelming case) costs no database query. It is a cache rebuilt from the database at start and
// updated by every change that can make work deliverable; when in doubt a machine is marked "check
// now", which costs one query, never a lost action.
// Several server processes (PostgreSQL): a change made in one process reaches the others' indexes and
// push streams over LISTEN/NOTIFY (server/db/pgNotify.ts), and action sequence numbers come from a
// database sequence, so nothing that decides correctness lives only in one process's memory.
import { EventEmitter } from "node:events";
import type { Clock } from "../clock.ts";
import type { Db } from "../db.ts";
import { waitingStatuses } from "../contract/statuses.ts";
import { dialectOf } from "../db/dialect.ts";
import { notifyStatement, parseWorkPayload, WORK_CHANNEL, workPayloads, type PgListener } from "../db/pgNotify.ts";
import { sweepActions } from "./actionMoves.ts";

/**
 * The next action sequence number on PostgreSQL, for use inside an INSERT (prisma/postgres/migrations
 * …_action_seq). A bulk calls it once per row of its INSERT … SELECT: each row gets its own number in
 * one statement, unique across processes. They need not be consecutive: seq orders the actions of one
 * machine, and a bulk gives each machine one action. The queue's group commit draws its batch's
 * numbers in its one statement too, in the order the calls arrived (services/queueWritePg.ts).
 */
export const PG_NEXT_ACTION_SEQ = `nextval('"action_seq"')`;

/**
 * PostgreSQL: how often each process looks for deliverable work its index does not hold. Wake-ups sent
 * right after a commit (sweep, results) are lost if their process dies in between; this bounds the
 * delay such a loss can cause (queue calls and bulks notify inside their transaction and never lose one).
 */
export const RECONCILE_EVERY_MS = 10_000;

/** A claim in progress: set when the machine is marked meanwhile (a queue committed during the claim). */
export type ClaimWatch = { marked: boolean };

type Announcer = { listener: PgListener; pending: Set<string>; timer: NodeJS.Immediate | null };

export class ActionDispatch {
  /** machineRef → earliest time (ms) at which it may have deliverable work. Absent: nothing to deliver. */
  readonly #due = new Map<string, number>();
  readonly #events = new EventEmitter();
  /** Claims in progress per machine (see beginClaim). */
  readonly #claims = new Map<string, Set<ClaimWatch>>();
  /** SQLite only (one process): the last sequence number handed out. */
  #seq = 0;
  readonly #pg: boolean;
  readonly #announcer: Announcer | null;
  #closed: Promise<void> = Promise.resolve();
  #reconciler: NodeJS.Timeout | null = null;

  /** @param listener PostgreSQL: this process's LISTEN connection (wake-ups to and from other processes). */
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    listener: PgListener | null = null,
  ) {
    this.#events.setMaxListeners(0);
    this.#pg = dialectOf(db) === "postgresql";
    this.#announcer = listener ? { listener, pending: new Set(), timer: null } : null;
    if (listener) {
      listener.on(WORK_CHANNEL, (payload) => {
        const notice = parseWorkPayload(payload);
        // Our own notifications: this process woke its streams when the change committed.
        if (!notice || notice.origin === listener.origin) return;
        for (const ref of notice.refs) this.#wake(ref);
      });
      // Wake-ups notified while the connection was down are lost: rebuild from the database.
      listener.onReconnect(() => this.load());
      this.#reconciler = setInterval(() => void this.reconcile().catch(() => undefined), RECONCILE_EVERY_MS);
      this.#reconciler.unref();
    }
  }

  /** PostgreSQL: this process's LISTEN connection (null with SQLite). */
  get listener(): PgListener | null {
    return this.#announcer?.listener ?? null;
  }

  /**
   * Loads the index from the database (at start-up, and after a lost LISTEN connection) and wakes the
   * push streams of machines with work. Merges into the index instead of replacing it: an entry that is
   * no longer true costs one query, while a mark made during the load must not be dropped.
   */
  async load(): Promise<void> {
    const rows = await this.db.action.findMany({
      where: { status: { in: [...waitingStatuses] } },
      select: { machineRef: true, status: true, leaseUntil: true },
    });
    const now = this.clock.now().getTime();
    for (const r of rows) {
      if (r.status === "pending") this.#wake(r.machineRef);
      else this.#mark(r.machineRef, r.leaseUntil?.getTime() ?? now);
    }
    if (!this.#pg) {
      const last = await this.db.action.findFirst({ orderBy: { seq: "desc" }, select: { seq: true } });
      this.#seq = Math.max(this.#seq, last?.seq ?? 0);
    }
  }

  /**
   * Wakes the machines with deliverable pending work (nothing behind a reboot in flight) that the index
   * does not mark as due now: a lost wake-up (see RECONCILE_EVERY_MS). One read through a partial index of pending
   * actions (PostgreSQL migration …_pending_actions_index). Returns how many machines it woke.
   */
  async reconcile(): Promise<number> {
    const rows = await this.db.$queryRawUnsafe<{ ref: string }[]>(
      `SELECT DISTINCT p."machineRef" AS ref FROM "Action" p WHERE p."status" = 'pending' AND NOT EXISTS ` +
        `(SELECT 1 FROM "Action" r WHERE r."machineRef" = p."machineRef" AND r."type" = 'reboot' AND r."status" IN ('delivered', 'executing'))`,
    );
    let woken = 0;
    for (const { ref } of rows) {
      if (this.mayHaveWork(ref)) continue;
      this.#wake(ref);
      woken += 1;
    }
    return woken;
  }

  /**
   * Sequence numbers for `n` new actions, increasing (they order a machine's actions; Action.seq is
   * unique). PostgreSQL: `nextval` of the database sequence, so processes never collide (one statement
   * for all n, a round trip: queue calls use queueSeqs instead). SQLite: one process is the only
   * writer, so a counter in memory is enough.
   */
  async takeSeqs(n: number): Promise<number[]> {
    if (n <= 0) return [];
    if (!this.#pg) {
      const first = this.reserveSeqs(n);
      return Array.from({ length: n }, (_, i) => first + i);
    }
    const rows = await this.db.$queryRawUnsafe<{ seq: bigint | number }[]>(
      `SELECT ${PG_NEXT_ACTION_SEQ} AS seq FROM generate_series(1, CAST($1 AS integer))`,
      n,
    );
    return rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
  }

  /**
   * Sequence numbers for a queue call's `n` actions when they can be known before its commit (SQLite:
   * from memory, no query); null on PostgreSQL, where the group commit's statement draws them from the
   * database sequence (services/queueWritePg.ts): no round trip per call.
   */
  queueSeqs(n: number): number[] | null {
    if (this.#pg) return null;
    const first = this.reserveSeqs(n);
    return Array.from({ length: n }, (_, i) => first + i);
  }

  /**
   * SQLite only: the first of `n` consecutive numbers, taken synchronously (no other queue call
   * interleaves). On PostgreSQL use takeSeqs, or PG_NEXT_ACTION_SEQ inside the INSERT.
   */
  reserveSeqs(n: number): number {
    if (this.#pg) throw new Error("reserveSeqs is for SQLite; PostgreSQL numbers come from the action_seq sequence");
    const first = this.#seq + 1;
    this.#seq += n;
    return first;
  }

  /** True when a poll for this machine must look at the database. */
  mayHaveWork(machineRef: string): boolean {
    const at = this.#due.get(machineRef);
    return at !== undefined && at <= this.clock.now().getTime();
  }

  /**
   * Work became deliverable now (a lease returned it, a reboot resolved) and the change has committed:
   * marks the machine, wakes its push streams here, and tells the other processes (NOTIFY right after
   * the commit, several machines per notification).
   */
  workAvailable(machineRef: string): void {
    this.#wake(machineRef);
    const a = this.#announcer;
    if (!a) return;
    a.pending.add(machineRef);
    a.timer ??= setImmediate(() => this.#announce(a));
  }

  /**
   * Queued actions committed together with their `announce` statement: marks and wakes here only (the
   * other processes heard the NOTIFY at the commit).
   */
  workQueued(machineRefs: Iterable<string>): void {
    for (const ref of machineRefs) this.#wake(ref);
  }

  /**
   * The statements that tell the other processes about these machines, to run INSIDE the transaction
   * that queues their actions: delivered exactly at its commit, and never for a rolled-back one, so no
   * crash between the commit and the wake-up can leave an action unannounced. Empty on SQLite.
   * The cost: PostgreSQL serializes the commits of transactions that NOTIFY (a cluster-wide lock held
   * through the commit), which the group commit keeps to one per batch of queue calls per process.
   */
  announce<C extends Parameters<typeof notifyStatement>[0]>(
    client: C,
    machineRefs: readonly string[],
  ): ReturnType<C["$executeRawUnsafe"]>[] {
    const n = this.announcement(machineRefs);
    return n ? [notifyStatement(client, n.channel, n.payloads)] : [];
  }

  /**
   * What `announce` sends, for a statement that NOTIFYs itself (the queue's one-statement commit,
   * services/queueWritePg.ts): the channel and payloads; null on SQLite or for no machines.
   */
  announcement(machineRefs: readonly string[]): { channel: string; payloads: string[] } | null {
    const a = this.#announcer;
    if (!a || machineRefs.length === 0) return null;
    return { channel: WORK_CHANNEL, payloads: workPayloads(a.listener.origin, machineRefs) };
  }

  /**
   * Called before a claim reads the database. A mark made while it runs (a queue that commits after
   * the claim's reads, heard here or from another process) then survives the claim's setNext.
   */
  beginClaim(machineRef: string): ClaimWatch {
    const watch: ClaimWatch = { marked: false };
    const set = this.#claims.get(machineRef) ?? new Set();
    set.add(watch);
    this.#claims.set(machineRef, set);
    return watch;
  }

  /**
   * A claim's decision: when the machine next needs a look (null: nothing left). Called inside the
   * claim's transaction, before it commits. When the machine was marked since `watch` began, the
   * claim's reads may predate that work: look again now.
   */
  setNext(machineRef: string, at: number | null, watch?: ClaimWatch): void {
    const marked = watch ? this.#endClaim(machineRef, watch) : false;
    if (marked) this.#mark(machineRef, this.clock.now().getTime());
    else if (at === null) this.#due.delete(machineRef);
    else this.#due.set(machineRef, at);
  }

  /** Look at the database on the next poll (a claim failed after deciding): no wake-up. */
  recheck(machineRef: string, watch?: ClaimWatch): void {
    if (watch) this.#endClaim(machineRef, watch);
    this.#mark(machineRef, this.clock.now().getTime());
  }

  /** Subscribes to wake-ups of one machine (push delivery). Returns the unsubscribe function. */
  onWork(machineRef: string, listener: () => void): () => void {
    this.#events.on(machineRef, listener);
    return () => this.#events.off(machineRef, listener);
  }

  /** Sweeps expired leases, expired actions and overdue executions in bounded batches, then wakes affected machines. */
  async sweep(): Promise<void> {
    const woken = await sweepActions({ db: this.db, clock: this.clock });
    for (const ref of woken) this.workAvailable(ref);
  }

  /** Stops wake-ups and ends the LISTEN connection (see closed()). */
  close(): void {
    this.#events.removeAllListeners();
    if (this.#reconciler) clearInterval(this.#reconciler);
    this.#reconciler = null;
    const a = this.#announcer;
    if (!a) return;
    if (a.timer) clearImmediate(a.timer);
    a.timer = null;
    this.#closed = a.listener.close();
  }

  /** Resolves once the LISTEN connection has ended (at most about a second after close()). */
  closed(): Promise<void> {
    return this.#closed;
  }

  #wake(machineRef: string): void {
    this.#mark(machineRef, this.clock.now().getTime());
    this.#events.emit(machineRef);
  }

  #mark(machineRef: string, at: number): void {
    const cur = this.#due.get(machineRef);
    if (cur === undefined || at < cur) this.#due.set(machineRef, at);
    const claims = this.#claims.get(machineRef);
    if (claims) for (const w of claims) w.marked = true;
  }

  #endClaim(machineRef: string, watch: ClaimWatch): boolean {
    const set = this.#claims.get(machineRef);
    set?.delete(watch);
    if (set?.size === 0) this.#claims.delete(machineRef);
    return watch.marked;
  }

  /** NOTIFY, after their commits, the machines woken by this process during the last tick. */
  #announce(a: Announcer): void {
    a.timer = null;
    const refs = [...a.pending];
    a.pending.clear();
    if (refs.length === 0) return;
    notifyStatement(this.db, WORK_CHANNEL, workPayloads(a.listener.origin, refs)).catch(() => {
      // The database is unreachable: the other processes reload their index when their own LISTEN
      // connection comes back, and each claim there re-reads leases it handed out itself.
    });
  }
}

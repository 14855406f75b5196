// In-memory index of which machines may have deliverable work, so that an empty poll (the
// overwhelming case) costs no database query. It is rebuilt from the database at start and updated
// by every change that can make work deliverable; when in doubt a machine is marked "check now",
// which costs one query, never a lost action.
import { EventEmitter } from "node:events";
import type { Clock } from "../clock.ts";
import type { Db } from "../db.ts";
import { waitingStatuses } from "../contract/statuses.ts";
import { sweepActions } from "./actionMoves.ts";

export class ActionDispatch {
  /** machineRef → earliest time (ms) at which it may have deliverable work. Absent: nothing to deliver. */
  readonly #due = new Map<string, number>();
  readonly #events = new EventEmitter();
  #seq = 0;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.#events.setMaxListeners(0);
  }

  /** Loads the index and the action sequence from the database (at start-up). */
  async load(): Promise<void> {
    this.#due.clear();
    const rows = await this.db.action.findMany({
      where: { status: { in: [...waitingStatuses] } },
      select: { machineRef: true, status: true, leaseUntil: true },
    });
    const now = this.clock.now().getTime();
    for (const r of rows) {
      const at = r.status === "pending" ? now : (r.leaseUntil?.getTime() ?? now);
      this.#mark(r.machineRef, at);
    }
    const last = await this.db.action.findFirst({ orderBy: { seq: "desc" }, select: { seq: true } });
    this.#seq = last?.seq ?? 0;
  }

  /** Next value of the action sequence (orders actions queued in the same millisecond). */
  nextSeq(): number {
    this.#seq += 1;
    return this.#seq;
  }

  /** True when a poll for this machine must look at the database. */
  mayHaveWork(machineRef: string): boolean {
    const at = this.#due.get(machineRef);
    return at !== undefined && at <= this.clock.now().getTime();
  }

  /** Work became deliverable now (queued, or a lease returned it): mark and wake listeners. */
  workAvailable(machineRef: string): void {
    this.#mark(machineRef, this.clock.now().getTime());
    this.#events.emit(machineRef);
  }

  /**
   * A claim's decision: when the machine next needs a look (null: nothing left). Called inside the
   * claim's transaction, before it commits: a queue call committing later marks the machine after this.
   */
  setNext(machineRef: string, at: number | null): void {
    if (at === null) this.#due.delete(machineRef);
    else this.#due.set(machineRef, at);
  }

  /** Look at the database on the next poll (a claim failed after deciding): no wake-up. */
  recheck(machineRef: string): void {
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

  close(): void {
    this.#events.removeAllListeners();
  }

  #mark(machineRef: string, at: number): void {
    const cur = this.#due.get(machineRef);
    if (cur === undefined || at < cur) this.#due.set(machineRef, at);
  }
}

// A concurrency budget for batched tRPC requests (finding 4). One batch is bounded (at most
// MAX_BATCH_CALLS calls, each paged), but ten clients sending the largest batches at once held
// /healthz for 10.6 s here: SQLite answers synchronously, so calls that run together leave the event
// loop no turn for anything else. Batches therefore run a few at a time; the others wait their turn
// (started on a later loop turn, so other requests get in between) in a bounded queue, and beyond it
// are answered 503 with Retry-After. Single calls (every agent request) never wait here.
import type { ServerResponse } from "node:http";

export class BatchGate {
  #running = 0;
  readonly #waiting: { res: ServerResponse; start: () => void }[] = [];

  constructor(
    /** Batches processed at once. */
    readonly concurrency: number,
    /** Batches allowed to wait; more are refused. */
    readonly queueLimit: number,
  ) {}

  /** Batches waiting for a turn (for tests and logs). */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Starts `start` now or when a turn frees; false when the queue is full (the caller answers 503). */
  admit(res: ServerResponse, start: () => void): boolean {
    if (this.#running < this.concurrency) {
      this.#running += 1;
      this.#run(res, start);
      return true;
    }
    if (this.#waiting.length >= this.queueLimit) return false;
    this.#waiting.push({ res, start });
    return true;
  }

  #run(res: ServerResponse, start: () => void): void {
    // 'close' fires once the answer is sent or the client went away: either way the turn is over.
    res.once("close", () => this.#next());
    start();
  }

  /** Hands the finished turn to the next live waiter (on a later loop turn), or frees it. */
  #next(): void {
    let w = this.#waiting.shift();
    // A client that gave up while waiting gets no turn.
    while (w && (w.res.closed || !w.res.socket || w.res.socket.destroyed)) w = this.#waiting.shift();
    if (!w) {
      this.#running -= 1;
      return;
    }
    const { res, start } = w;
    setImmediate(() => this.#run(res, start));
  }
}

// Group commit: writes that arrive together share one transaction (one fsync), while each caller's
// promise still resolves only once its own item is committed. Used for metric reports and queued
// actions, the two writes a large fleet makes at rate.
// Bounded: at most `maxWaiting` items wait; beyond that a caller is answered `unavailable` (503) at
// once instead of queueing without end. When the disk fails (full, read-only, I/O error) the batch and
// everything waiting behind it fail fast with `unavailable`, instead of each item retrying alone (a
// failing disk would otherwise see thousands of failing transactions).
import { DomainError } from "../domain/errors.ts";
import { storageFailure } from "./errors.ts";

type Waiting<T> = { item: T; done: () => void; fail: (err: unknown) => void };

export class GroupCommit<T> {
  #batch: Waiting<T>[] = [];
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #runningSize = 0;
  readonly #maxWaiting: number;

  /**
   * @param write commits items in one transaction, or throws and commits none
   * @param opts lingerMs: how long a first item waits for company when idle (0: start at once);
   *   maxBatch: items per transaction at most; maxWaiting: items waiting at most (default 10 batches);
   *   inFlight: callers known to be on their way (counted from their request's start to its answer):
   *   after the linger, a commit keeps waiting while some of them have not added their item yet, up
   *   to maxLingerMs in all
   */
  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly opts: {
      lingerMs: number;
      maxBatch: number;
      maxWaiting?: number;
      inFlight?: () => number;
      maxLingerMs?: number;
    },
  ) {
    this.#maxWaiting = opts.maxWaiting ?? opts.maxBatch * 10;
  }

  /** Items waiting for a commit (not counting the one running). */
  get waiting(): number {
    return this.#batch.length;
  }

  /** Resolves once the item is committed; rejects with its own error if it cannot be. */
  add(item: T): Promise<void> {
    if (this.#batch.length >= this.#maxWaiting) {
      return Promise.reject(
        new DomainError(
          "unavailable",
          "The server is busy saving earlier requests; nothing was saved. Retry in a moment.",
          {
            retryAfterSeconds: 1,
          },
        ),
      );
    }
    return new Promise<void>((done, fail) => {
      this.#batch.push({ item, done, fail });
      if (this.#running) return; // the running commit starts the next batch when it ends
      if (this.opts.lingerMs === 0 || this.#batch.length >= this.opts.maxBatch) this.#start();
      else this.#timer ??= setTimeout(() => this.#lingered(Date.now()), this.opts.lingerMs);
    });
  }

  /** After the linger: start, unless callers known to be on their way have not arrived yet. */
  #lingered(since: number): void {
    const coming = (this.opts.inFlight?.() ?? 0) - this.#batch.length - this.#runningSize;
    const left = (this.opts.maxLingerMs ?? 0) - (Date.now() - since);
    if (coming > 0 && left > 0 && this.#batch.length < this.opts.maxBatch)
      this.#timer = setTimeout(() => this.#lingered(since), 1);
    else this.#start();
  }

  /** Resolves when everything added so far is committed (or has failed for its callers). */
  async flush(): Promise<void> {
    while (this.#running || this.#batch.length > 0) {
      if (!this.#running) this.#start();
      await this.#running;
    }
  }

  #start(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#running || this.#batch.length === 0) return;
    const batch = this.#batch.splice(0, this.opts.maxBatch);
    this.#runningSize = batch.length;
    this.#running = this.#commit(batch).finally(() => {
      this.#running = null;
      this.#runningSize = 0;
      // Whatever arrived during the commit goes next, without waiting for another linger.
      if (this.#batch.length > 0) this.#start();
    });
  }

  async #commit(batch: Waiting<T>[]): Promise<void> {
    try {
      await this.write(batch.map((w) => w.item));
      for (const w of batch) w.done();
    } catch (err) {
      const storage = storageFailure(err);
      if (storage !== null) {
        // The disk, not an item: nothing behind this batch would fare better. Everyone hears it now.
        const failed = new DomainError("unavailable", storage, { cause: err });
        for (const w of [...batch, ...this.#batch.splice(0)]) w.fail(failed);
        return;
      }
      if (batch.length === 1) return batch[0]!.fail(err);
      // One bad item must not sink the others: commit each alone, so each gets its own answer.
      for (const w of batch) {
        try {
          await this.write([w.item]);
          w.done();
        } catch (e) {
          w.fail(storageFailure(e) === null ? e : new DomainError("unavailable", storageFailure(e)!, { cause: e }));
        }
      }
    }
  }
}

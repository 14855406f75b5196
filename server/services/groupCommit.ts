// Group commit: writes that arrive together share one transaction (one fsync), while each caller's
// promise still resolves only once its own item is committed. Used for metric reports and queued
// actions, the two writes a large fleet makes at rate.

type Waiting<T> = { item: T; done: () => void; fail: (err: unknown) => void };

export class GroupCommit<T> {
  #batch: Waiting<T>[] = [];
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

  /**
   * @param write commits items in one transaction, or throws and commits none
   * @param opts lingerMs: how long a first item waits for company when idle (0: start at once);
   *   maxBatch: items per transaction at most
   */
  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly opts: { lingerMs: number; maxBatch: number },
  ) {}

  /** Resolves once the item is committed; rejects with its own error if it cannot be. */
  add(item: T): Promise<void> {
    return new Promise<void>((done, fail) => {
      this.#batch.push({ item, done, fail });
      if (this.#running) return; // the running commit starts the next batch when it ends
      if (this.opts.lingerMs === 0 || this.#batch.length >= this.opts.maxBatch) this.#start();
      else this.#timer ??= setTimeout(() => this.#start(), this.opts.lingerMs);
    });
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
    this.#running = this.#commit(batch).finally(() => {
      this.#running = null;
      // Whatever arrived during the commit goes next, without waiting for another linger.
      if (this.#batch.length > 0) this.#start();
    });
  }

  async #commit(batch: Waiting<T>[]): Promise<void> {
    try {
      await this.write(batch.map((w) => w.item));
      for (const w of batch) w.done();
    } catch (err) {
      if (batch.length === 1) return batch[0]!.fail(err);
      // One bad item must not sink the others: commit each alone, so each gets its own answer.
      for (const w of batch) {
        try {
          await this.write([w.item]);
          w.done();
        } catch (e) {
          w.fail(e);
        }
      }
    }
  }
}

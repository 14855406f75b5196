// The better-sqlite3 adapter shares one connection between transactions and plain queries and only
// serialises transactions against each other, so a plain write issued while a transaction is open
// lands inside it (and would be rolled back with it). This wrapper makes plain queries wait for any
// open transaction: every statement then belongs to exactly one unit of work.
import type {
  IsolationLevel,
  SqlDriverAdapter,
  SqlMigrationAwareDriverAdapterFactory,
  SqlQuery,
  SqlResultSet,
  Transaction,
} from "@prisma/driver-adapter-utils";

/** A FIFO lock: acquire() resolves to a release function. */
class Lock {
  #tail: Promise<void> = Promise.resolve();
  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const ready = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => next);
    return ready;
  }
}

class SerialAdapter implements SqlDriverAdapter {
  readonly #inner: SqlDriverAdapter;
  readonly #lock = new Lock();
  readonly provider: SqlDriverAdapter["provider"];
  readonly adapterName: string;

  constructor(inner: SqlDriverAdapter) {
    this.#inner = inner;
    this.provider = inner.provider;
    this.adapterName = inner.adapterName;
  }

  async #locked<T>(run: () => Promise<T>): Promise<T> {
    const release = await this.#lock.acquire();
    try {
      return await run();
    } finally {
      release();
    }
  }

  queryRaw(q: SqlQuery): Promise<SqlResultSet> {
    return this.#locked(() => this.#inner.queryRaw(q));
  }
  executeRaw(q: SqlQuery): Promise<number> {
    return this.#locked(() => this.#inner.executeRaw(q));
  }
  executeScript(script: string): Promise<void> {
    return this.#locked(() => this.#inner.executeScript(script));
  }
  getConnectionInfo() {
    return this.#inner.getConnectionInfo?.() ?? { supportsRelationJoins: false };
  }
  dispose(): Promise<void> {
    return this.#inner.dispose();
  }

  async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    const release = await this.#lock.acquire();
    let tx: Transaction;
    try {
      tx = await this.#inner.startTransaction(isolationLevel);
    } catch (err) {
      release();
      throw err;
    }
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        release();
      }
    };
    return {
      provider: tx.provider,
      adapterName: tx.adapterName,
      options: tx.options,
      queryRaw: (q) => tx.queryRaw(q),
      executeRaw: (q) => tx.executeRaw(q),
      commit: () => tx.commit().finally(finish),
      rollback: () => tx.rollback().finally(finish),
    };
  }
}

/** Wraps an adapter factory so every connection it makes serialises plain queries behind transactions. */
export function serialized(factory: SqlMigrationAwareDriverAdapterFactory): SqlMigrationAwareDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => new SerialAdapter(await factory.connect()),
    connectToShadowDb: async () => new SerialAdapter(await factory.connectToShadowDb()),
  };
}

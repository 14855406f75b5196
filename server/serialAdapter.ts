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
    // Prisma ends a transaction by sending COMMIT or ROLLBACK and only then calling commit()/rollback(),
    // which release the connection. When SQLite fails that statement (disk full: SQLite has already
    // rolled back, so ROLLBACK says "no transaction is active"; or COMMIT itself fails), Prisma never
    // calls them and every later query waits forever. So: a failed ROLLBACK is harmless (nothing is
    // left to undo), and a failed COMMIT is rolled back and released here before its error goes up.
    let ended = false;
    const end = (how: () => Promise<void>) => {
      if (ended) return Promise.resolve();
      ended = true;
      return how().finally(finish);
    };
    return {
      provider: tx.provider,
      adapterName: tx.adapterName,
      options: tx.options,
      queryRaw: (q) => tx.queryRaw(q),
      executeRaw: async (q) => {
        const sql = q.sql.trim().toUpperCase();
        if (sql === "ROLLBACK") return tx.executeRaw(q).catch(() => 0);
        if (sql !== "COMMIT") return tx.executeRaw(q);
        try {
          return await tx.executeRaw(q);
        } catch (err) {
          await tx.executeRaw({ sql: "ROLLBACK", args: [], argTypes: [] }).catch(() => 0);
          await end(() => tx.rollback());
          throw err;
        }
      },
      commit: () => end(() => tx.commit()),
      rollback: () => end(() => tx.rollback()),
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

// The better-sqlite3 adapter shares one connection between transactions and plain queries and only
// serialises transactions against each other, so a plain write issued while a transaction is open
// lands inside it (and would be rolled back with it). This wrapper makes plain queries wait for any
// open transaction: every statement then belongs to exactly one unit of work. Three guards:
// - every wait has a limit (DomainError `unavailable`, a 503, instead of a request that never ends);
// - a plain query or a new transaction started from inside a transaction's own callback would wait
//   for that transaction, which waits for it: refused at once with a message naming the mistake
//   (guardReentry wraps the client's $transaction to know which code runs inside one);
// - the wrapper relies on Prisma ending a transaction by sending the literal statement COMMIT or
//   ROLLBACK before calling commit()/rollback(). If Prisma changes that protocol (phantom queries, or
//   commit() without COMMIT), every transaction fails with an error saying so, instead of the
//   disk-full handling below silently no longer running (tests/unit/serial-adapter.test.ts).
import { AsyncLocalStorage } from "node:async_hooks";
import type {
  IsolationLevel,
  SqlDriverAdapter,
  SqlMigrationAwareDriverAdapterFactory,
  SqlQuery,
  SqlResultSet,
  Transaction,
} from "@prisma/driver-adapter-utils";
import { DomainError } from "./domain/errors.ts";

/** How long a statement waits for the connection by default (the longest transaction is far shorter). */
export const DEFAULT_WAIT_TIMEOUT_MS = 15_000;

/** A FIFO lock whose waits time out: acquire() resolves to a release function. */
class Lock {
  #held = false;
  readonly #waiters: { grant: () => void }[] = [];

  acquire(timeoutMs: number): Promise<() => void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          clearTimeout(timer);
          resolve(this.#releaser());
        },
      };
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(
          new DomainError(
            "unavailable",
            `The database stayed busy for ${timeoutMs} ms; nothing was done. Retry in a moment.`,
            {
              retryAfterSeconds: 1,
            },
          ),
        );
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next.grant();
      else this.#held = false;
    };
  }
}

/** Set while a $transaction callback runs (see guardReentry); `started` once its transaction began. */
type TxScope = { open: boolean; started: boolean };
const scope = new AsyncLocalStorage<TxScope>();
/**
 * Transaction callbacks running now. An enabled AsyncLocalStorage makes every promise of the process
 * pay an init hook (~5 % of an empty poll's CPU under wrk), so the scope is enabled only while a
 * callback is open (run() enables it) and disabled when the last one ends: outside every callback
 * getStore() has nothing to report anyway.
 */
let openCallbacks = 0;

/** The error for a statement started from inside an open transaction's callback, or null. */
function reentryError(what: string): Error | null {
  const s = scope.getStore();
  if (!s?.open || !s.started) return null;
  return new Error(
    `${what} from inside a transaction's callback would wait for that transaction forever: use the transaction client (tx), or run it after the transaction`,
  );
}

function assertNotInsideTransaction(what: string): void {
  const err = reentryError(what);
  if (err) throw err;
}

function protocolChanged(detail: string): Error {
  return new Error(
    `Prisma's transaction protocol changed (${detail}): serialAdapter.ts relies on literal COMMIT/ROLLBACK statements; review it before upgrading`,
  );
}

class SerialAdapter implements SqlDriverAdapter {
  readonly #inner: SqlDriverAdapter;
  readonly #lock = new Lock();
  readonly #waitTimeoutMs: number;
  readonly provider: SqlDriverAdapter["provider"];
  readonly adapterName: string;

  constructor(inner: SqlDriverAdapter, waitTimeoutMs: number) {
    this.#inner = inner;
    this.#waitTimeoutMs = waitTimeoutMs;
    this.provider = inner.provider;
    this.adapterName = inner.adapterName;
  }

  async #locked<T>(run: () => Promise<T>): Promise<T> {
    assertNotInsideTransaction("A plain query");
    const release = await this.#lock.acquire(this.#waitTimeoutMs);
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
    assertNotInsideTransaction("A transaction");
    const s = scope.getStore();
    if (s) s.started = true;
    const release = await this.#lock.acquire(this.#waitTimeoutMs);
    let tx: Transaction;
    try {
      tx = await this.#inner.startTransaction(isolationLevel);
    } catch (err) {
      release();
      throw err;
    }
    if (tx.options.usePhantomQuery) {
      await tx.rollback().finally(release);
      throw protocolChanged("the adapter asks for phantom COMMIT/ROLLBACK");
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
    let sentCommit = false;
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
          const n = await tx.executeRaw(q);
          sentCommit = true;
          return n;
        } catch (err) {
          await tx.executeRaw({ sql: "ROLLBACK", args: [], argTypes: [] }).catch(() => 0);
          await end(() => tx.rollback());
          throw err;
        }
      },
      commit: async () => {
        if (!sentCommit && !ended) {
          await tx.executeRaw({ sql: "ROLLBACK", args: [], argTypes: [] }).catch(() => 0);
          await end(() => tx.rollback());
          throw protocolChanged("commit() without a COMMIT statement first");
        }
        return end(() => tx.commit());
      },
      rollback: () => end(() => tx.rollback()),
    };
  }
}

/** Wraps an adapter factory so every connection it makes serialises plain queries behind transactions. */
export function serialized(
  factory: SqlMigrationAwareDriverAdapterFactory,
  opts: { waitTimeoutMs?: number } = {},
): SqlMigrationAwareDriverAdapterFactory {
  const wait = opts.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => new SerialAdapter(await factory.connect(), wait),
    connectToShadowDb: async () => new SerialAdapter(await factory.connectToShadowDb(), wait),
  };
}

type TransactionRunner = { $transaction: (...args: never[]) => unknown };

/**
 * Marks the code that runs inside each interactive transaction's callback, so the adapter can refuse
 * a plain query (or a nested transaction) made from there at once instead of waiting forever.
 */
export function guardReentry<C extends TransactionRunner>(client: C): C {
  const original = client.$transaction.bind(client) as (arg: unknown, opts?: unknown) => Promise<unknown>;
  const guarded = (arg: unknown, opts?: unknown) => {
    // Prisma queues a nested transaction behind the open one before the adapter sees it: refuse here.
    const nested = reentryError("A transaction");
    if (nested) return Promise.reject(nested);
    if (typeof arg !== "function") return original(arg, opts); // a batch: Prisma runs it, no callback
    const s: TxScope = { open: true, started: false };
    openCallbacks += 1;
    const closed = () => {
      s.open = false;
      openCallbacks -= 1;
      if (openCallbacks === 0) scope.disable();
    };
    let run: Promise<unknown>;
    try {
      run = scope.run(s, () => original(arg, opts));
    } catch (err) {
      closed();
      throw err;
    }
    return run.finally(closed);
  };
  Object.defineProperty(client, "$transaction", { value: guarded, configurable: true, writable: true });
  return client;
}

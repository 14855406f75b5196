// The SQLite adapter shares one connection; without serialisation a plain write issued while an
// interactive transaction is open would run inside it and vanish with its rollback. The wrapper's
// guards: waits time out (503), a plain query from inside a transaction's own callback is refused at
// once (it would wait for itself), and a change of Prisma's COMMIT/ROLLBACK protocol fails loudly.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import type {
  SqlDriverAdapter,
  SqlMigrationAwareDriverAdapterFactory,
  Transaction,
} from "@prisma/driver-adapter-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, openDb, type Db } from "../../server/db.ts";
import { DomainError } from "../../server/domain/errors.ts";
import { PrismaClient } from "../../server/generated/prisma/client.ts";
import { guardReentry, serialized } from "../../server/serialAdapter.ts";

let dir: string;
let file: string;
let db: Db;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-serial-"));
  file = path.join(dir, "fleet.db");
  await migrate(file);
  db = await openDb(file);
});
afterAll(async () => {
  await db.$disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A promise and the function that resolves it. */
function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The real better-sqlite3 factory, with every SQL statement sent inside transactions recorded. */
function recording(sent: string[]): SqlMigrationAwareDriverAdapterFactory {
  const real = new PrismaBetterSQLite3({ url: `file:${file}` });
  const wrap = (a: SqlDriverAdapter): SqlDriverAdapter =>
    Object.assign(Object.create(a) as SqlDriverAdapter, {
      startTransaction: async (level?: Parameters<SqlDriverAdapter["startTransaction"]>[0]) => {
        const tx = await a.startTransaction(level);
        return Object.assign(Object.create(tx) as Transaction, {
          options: tx.options,
          executeRaw: (q: Parameters<Transaction["executeRaw"]>[0]) => {
            sent.push(q.sql.trim().toUpperCase());
            return tx.executeRaw(q);
          },
          queryRaw: (q: Parameters<Transaction["queryRaw"]>[0]) => tx.queryRaw(q),
          commit: () => tx.commit(),
          rollback: () => tx.rollback(),
        });
      },
    });
  return Object.assign(Object.create(real) as SqlMigrationAwareDriverAdapterFactory, {
    connect: async () => wrap(await real.connect()),
  });
}

describe("serialised adapter", () => {
  it("keeps a plain write made during another request's transaction when that transaction rolls back", async () => {
    const opened = deferred();
    const wrote = deferred();
    const tx = db.$transaction(async (t) => {
      await t.organization.create({ data: { name: "rolled back" } });
      opened.resolve();
      await new Promise((r) => setTimeout(r, 20));
      throw new Error("boom");
    });
    // Another request (outside the transaction's callback) writes while the transaction is open.
    await opened.promise;
    const plainWrite = db.organization.create({ data: { name: "kept" } }).then(() => wrote.resolve());
    await expect(tx).rejects.toThrow("boom");
    await plainWrite;
    await wrote.promise;
    const names = (await db.organization.findMany({ select: { name: true } })).map((o) => o.name);
    expect(names).toEqual(["kept"]);
  });

  it("refuses at once a plain query or a nested transaction made from inside a transaction's callback", async () => {
    const started = Date.now();
    await expect(db.$transaction(async () => db.organization.count())).rejects.toThrow(
      /inside a transaction's callback/,
    );
    await expect(db.$transaction(async () => db.$transaction(async (t) => t.organization.count()))).rejects.toThrow(
      /inside a transaction's callback/,
    );
    // Without the guard each would have waited for Prisma's 5 s transaction timeout.
    expect(Date.now() - started).toBeLessThan(4000);
    // The connection is free again.
    expect(await db.organization.count()).toBeGreaterThanOrEqual(0);
  });

  it("gives up a wait for the connection after its timeout with unavailable (503), and works again after", async () => {
    const client = guardReentry(
      new PrismaClient({
        adapter: serialized(new PrismaBetterSQLite3({ url: `file:${file}` }), { waitTimeoutMs: 100 }),
      }),
    );
    try {
      const opened = deferred();
      const hold = deferred();
      const tx = client.$transaction(
        async (t) => {
          await t.organization.count();
          opened.resolve();
          await hold.promise;
        },
        { timeout: 5000 },
      );
      await opened.promise;
      const err = await client.organization.count().then(
        () => null,
        (e: unknown) => e,
      );
      hold.resolve();
      await tx;
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).kind).toBe("unavailable");
      expect(await client.organization.count()).toBeGreaterThanOrEqual(0);
    } finally {
      await client.$disconnect();
    }
  });

  it("sees Prisma end transactions with literal COMMIT and ROLLBACK statements (the protocol it relies on)", async () => {
    const sent: string[] = [];
    const client = new PrismaClient({ adapter: serialized(recording(sent)) });
    try {
      await client.$transaction(async (t) => t.organization.count());
      expect(sent.at(-1)).toBe("COMMIT");
      await expect(
        client.$transaction(async (t) => {
          await t.organization.count();
          throw new Error("undo");
        }),
      ).rejects.toThrow("undo");
      expect(sent.at(-1)).toBe("ROLLBACK");
    } finally {
      await client.$disconnect();
    }
  });

  it("fails loudly when the protocol changes: phantom COMMIT/ROLLBACK, or commit() without COMMIT", async () => {
    const fakeTx = (usePhantomQuery: boolean): Transaction => ({
      provider: "sqlite",
      adapterName: "fake",
      options: { usePhantomQuery },
      queryRaw: () => Promise.resolve({ columnNames: [], columnTypes: [], rows: [] }),
      executeRaw: () => Promise.resolve(0),
      commit: () => Promise.resolve(),
      rollback: () => Promise.resolve(),
    });
    const fake = (usePhantomQuery: boolean): SqlMigrationAwareDriverAdapterFactory => {
      const adapter = {
        provider: "sqlite",
        adapterName: "fake",
        queryRaw: () => Promise.resolve({ columnNames: [], columnTypes: [], rows: [] }),
        executeRaw: () => Promise.resolve(0),
        executeScript: () => Promise.resolve(),
        startTransaction: () => Promise.resolve(fakeTx(usePhantomQuery)),
        dispose: () => Promise.resolve(),
      } as SqlDriverAdapter;
      return {
        provider: "sqlite",
        adapterName: "fake",
        connect: () => Promise.resolve(adapter),
        connectToShadowDb: () => Promise.resolve(adapter),
      };
    };
    const phantom = await serialized(fake(true)).connect();
    await expect(phantom.startTransaction()).rejects.toThrow(/transaction protocol changed/);
    const silent = await serialized(fake(false)).connect();
    const tx = await silent.startTransaction();
    await expect(tx.commit()).rejects.toThrow(/commit\(\) without a COMMIT statement/);
    // Both released the connection: the next statement runs.
    await expect(phantom.queryRaw({ sql: "SELECT 1", args: [], argTypes: [] })).resolves.toBeTruthy();
    await expect(silent.queryRaw({ sql: "SELECT 1", args: [], argTypes: [] })).resolves.toBeTruthy();
  });
});

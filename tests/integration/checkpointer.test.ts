// The SQLite log is copied back into the database file on a worker thread (server/db/checkpointer.ts),
// not by the committing connection: a commit far below the fallback autocheckpoint reaches the main
// file within moments, and stop() ends the thread.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { migrate, openDb, WAL_AUTOCHECKPOINT_PAGES } from "../../server/db.ts";
import { startCheckpointer } from "../../server/db/checkpointer.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-ckpt-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Organizations readable from the main database file alone (a copy without its -wal). */
function orgsInMainFile(dbFile: string): number {
  const copy = path.join(dir, `copy-${Math.random().toString(36).slice(2)}.db`);
  fs.copyFileSync(dbFile, copy);
  try {
    const db = new Database(copy, { readonly: true });
    try {
      return (db.prepare(`SELECT count(*) AS n FROM "Organization"`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return -1; // copied while a checkpoint was writing it: look again
  }
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

describe("checkpoints on a worker thread", () => {
  it("copies a small commit into the database file, which the server's connection alone would not", async () => {
    const dbFile = path.join(dir, "a.db");
    await migrate(dbFile);
    const db = await openDb(dbFile);
    const insert = (name: string) =>
      db.$executeRawUnsafe(
        `INSERT INTO "Organization" ("id", "name", "createdAt") VALUES (?, ?, ?)`,
        name,
        name,
        new Date(),
      );
    try {
      // Without the thread: a few pages, far below the fallback, stay in the log.
      await db.$queryRawUnsafe("PRAGMA wal_checkpoint(TRUNCATE)");
      await insert("before");
      expect(WAL_AUTOCHECKPOINT_PAGES).toBeGreaterThan(100);
      await new Promise((r) => setTimeout(r, 300));
      expect(orgsInMainFile(dbFile)).toBe(0);

      const checkpointer = startCheckpointer(dbFile, pino({ level: "silent" }));
      expect(await until(() => orgsInMainFile(dbFile) === 1, 5000)).toBe(true);
      await insert("after");
      expect(await until(() => orgsInMainFile(dbFile) === 2, 5000)).toBe(true);
      await checkpointer.stop();

      // Stopped: commits stay in the log again.
      await insert("stopped");
      await new Promise((r) => setTimeout(r, 300));
      expect(orgsInMainFile(dbFile)).toBe(2);
    } finally {
      await db.$disconnect();
    }
  });
});

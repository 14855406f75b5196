// serialAdapter.ts enables its AsyncLocalStorage only while a transaction callback is open (an enabled
// one makes every promise of the process pay an init hook) and disables it when the last one ends. The
// reentry guard must still hold after the scope was switched off and on again, and while another
// transaction's callback is open when one ends (the scope stays on until the last one ends).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, openDb, type Db } from "../../server/db.ts";

let dir: string;
let db: Db;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-serial-scope-"));
  const file = path.join(dir, "fleet.db");
  await migrate(file);
  db = await openDb(file);
});
afterAll(async () => {
  await db.$disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

const INSIDE = /inside a transaction's callback/;

describe("the transaction scope, on only while a callback is open", () => {
  it("refuses a plain query from a callback after earlier transactions ended and the scope went off", async () => {
    for (let i = 0; i < 3; i++) {
      expect(await db.$transaction(async (t) => t.organization.count())).toBeGreaterThanOrEqual(0);
      await expect(
        db.$transaction(async (t) => {
          await t.organization.count();
          return db.organization.count();
        }),
      ).rejects.toThrow(INSIDE);
      // Outside every callback a plain query runs as usual.
      expect(await db.organization.count()).toBeGreaterThanOrEqual(0);
    }
  });

  it("keeps the scope on for a callback still open when another transaction ends", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let opened!: () => void;
    const isOpen = new Promise<void>((r) => (opened = r));
    const first = db.$transaction(
      async (t) => {
        await t.organization.count();
        opened();
        await held;
      },
      { timeout: 10_000 },
    );
    await isOpen;
    // The second callback starts now and waits for the connection; the first ends meanwhile.
    const second = db.$transaction(
      async (t) => {
        await t.organization.count();
        return db.organization.count();
      },
      { timeout: 10_000, maxWait: 10_000 },
    );
    release();
    await first;
    await expect(second).rejects.toThrow(INSIDE);
  });
});

// The SQLite adapter shares one connection; without serialisation a plain write issued while an
// interactive transaction is open would run inside it and vanish with its rollback.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, openDb, type Db } from "../../server/db.ts";

let dir: string;
let db: Db;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-serial-"));
  const file = path.join(dir, "fleet.db");
  await migrate(file);
  db = await openDb(file);
});
afterAll(async () => {
  await db.$disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("serialised adapter", () => {
  it("keeps a plain write made during another request's transaction when that transaction rolls back", async () => {
    let plainWrite: Promise<unknown> | undefined;
    await expect(
      db.$transaction(async (tx) => {
        await tx.organization.create({ data: { name: "rolled back" } });
        // Another request writes while this transaction is open…
        // (Prisma queries are lazy: .then() starts it now, as an awaiting request would.)
        plainWrite = db.organization.create({ data: { name: "kept" } }).then((o) => o);
        await new Promise((r) => setTimeout(r, 20));
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    await plainWrite;
    const names = (await db.organization.findMany({ select: { name: true } })).map((o) => o.name);
    expect(names).toEqual(["kept"]);
  });
});

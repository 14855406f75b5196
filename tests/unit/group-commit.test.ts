// Group commit under pressure: a failing disk fails the batch and everything waiting behind it at
// once with `unavailable` (one failing transaction, not one per caller), the waiting queue is bounded
// (beyond it a caller hears `unavailable` at once), and one bad item still does not sink the others.
import { describe, expect, it } from "vitest";
import { DomainError } from "../../server/domain/errors.ts";
import { GroupCommit } from "../../server/services/groupCommit.ts";

/** What SQLite through Prisma throws when the disk is full. */
function diskFull(): Error {
  return Object.assign(new Error("SqliteError: database or disk is full"), { code: "SQLITE_FULL" });
}

async function outcomes(ps: Promise<void>[]) {
  return Promise.allSettled(ps);
}

describe("GroupCommit", () => {
  it("fails fast with unavailable under a failing disk: one failing transaction for 1,000 callers", async () => {
    let writes = 0;
    const gc = new GroupCommit<number>(
      () => {
        writes += 1;
        return Promise.reject(diskFull());
      },
      { lingerMs: 5, maxBatch: 100, maxWaiting: 5000 },
    );
    const results = await outcomes(Array.from({ length: 1000 }, (_, i) => gc.add(i)));
    expect(writes).toBe(1);
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    for (const r of results) {
      const err = (r as PromiseRejectedResult).reason as DomainError;
      expect(err).toBeInstanceOf(DomainError);
      expect(err.kind).toBe("unavailable");
      expect(err.message).toMatch(/disk is full/);
    }
  });

  it("bounds the waiting queue: beyond maxWaiting a caller is refused at once with unavailable, the rest commit", async () => {
    const committed: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const gc = new GroupCommit<number>(
      async (items) => {
        await gate;
        committed.push(...items);
      },
      { lingerMs: 0, maxBatch: 10, maxWaiting: 20 },
    );
    const first = [gc.add(0)]; // starts a commit at once (no linger), which holds until released
    const waiting = Array.from({ length: 25 }, (_, i) => gc.add(100 + i));
    expect(gc.waiting).toBe(20);
    const refused = await outcomes(waiting.slice(20));
    expect(refused.map((r) => (r.status === "rejected" ? (r.reason as DomainError).kind : "committed"))).toEqual(
      Array(5).fill("unavailable"),
    );
    release();
    await Promise.all([...first, ...waiting.slice(0, 20)]);
    expect(committed).toHaveLength(21);
  });

  it("still commits the good items of a batch when one item is bad (not a storage failure)", async () => {
    const committed: number[] = [];
    const gc = new GroupCommit<number>(
      (items) => {
        if (items.includes(13)) return Promise.reject(new Error("UNIQUE constraint failed"));
        committed.push(...items);
        return Promise.resolve();
      },
      { lingerMs: 5, maxBatch: 50 },
    );
    const results = await outcomes(Array.from({ length: 20 }, (_, i) => gc.add(i)));
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(1);
    expect(committed.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i).filter((i) => i !== 13));
  });

  it("waits past the linger for callers known to be on their way, and no longer than maxLingerMs", async () => {
    const writes: number[][] = [];
    let inFlight = 3;
    const gc = new GroupCommit<number>(
      (items) => {
        writes.push(items);
        return Promise.resolve();
      },
      { lingerMs: 2, maxBatch: 100, inFlight: () => inFlight, maxLingerMs: 200 },
    );
    // Three callers in flight; the last two add their items 10 ms later, after the 2 ms linger.
    const first = gc.add(1);
    await new Promise((r) => setTimeout(r, 10));
    await Promise.all([first, gc.add(2), gc.add(3)]);
    expect(writes).toEqual([[1, 2, 3]]);

    // A caller counted but never arriving holds a commit for maxLingerMs at most.
    inFlight = 2;
    const t0 = Date.now();
    await gc.add(4);
    expect(writes.at(-1)).toEqual([4]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

// Long two-process rounds on PostgreSQL (npm run test:faults): 20 SIGKILLs of either process at random
// moments under load, same checks as pg-two-process.test.ts, and 100 cross-process push samples.
import { describe, expect, it } from "vitest";
import { pgTwoProcessRounds } from "./pg-rounds.ts";

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.99) - 1]!;

describe("two server processes on PostgreSQL, killed with SIGKILL at random moments (long)", () => {
  it("loses nothing and runs nothing twice over 20 rounds; pushes across processes", async () => {
    const r = await pgTwoProcessRounds(20, {
      name: "pg-two-process-long",
      machines: 10,
      workPerRound: { queued: 20, reported: 10 },
      minMs: 100,
      maxMs: 3000,
      pushSamples: 100,
    });
    expect(r.kills).toBe(20);
    expect(r.problems).toEqual([]);
    expect(r.ledger.queued.size).toBeGreaterThan(300);
    for (const acks of r.failoverAcks) expect(acks).toBeGreaterThan(0);
    for (const acks of r.acksWhileDown) expect(acks).toBeGreaterThan(0);
    expect(p99(r.wakeMs)).toBeLessThan(2000);
    expect(p99(r.deliveredMs)).toBeLessThan(5000);
  }, 900_000);
});

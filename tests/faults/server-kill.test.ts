// SIGKILL the server while a simulated fleet works, restart it on the same database: nothing that
// returned is lost, nothing executing or done is delivered again, the file passes integrity_check.
// The short version (3 rounds); server-kill.long.test.ts runs 25 rounds in `npm run test:faults`.
import { describe, expect, it } from "vitest";
import { killRounds } from "./kill-rounds.ts";

describe("server killed with SIGKILL under load (3 rounds)", () => {
  it("keeps every returned action and result, never redelivers executing work, and stays intact", async () => {
    // Each round waits for 10 queue calls and 5 result reports to return before its kill.
    const r = await killRounds(3, {
      name: "server-kill-short",
      machines: 5,
      workPerRound: { queued: 10, reported: 5 },
    });
    expect(r.kills).toBe(3);
    expect(r.integrityFailures).toEqual([]);
    expect(r.problems).toEqual([]);
    // The experiment did real work: actions were queued, run and reported across the kills.
    expect(r.ledger.queued.size).toBeGreaterThan(20);
    expect(r.ledger.reported.size).toBeGreaterThan(10);
  }, 300_000);
});

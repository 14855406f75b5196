// Long fault rounds (npm run test:faults): 25 SIGKILLs at random moments under load, same checks as
// the short suite, plus a second pass with kills within the first 400 ms of each start (start-up races).
import { describe, expect, it } from "vitest";
import { killRounds } from "./kill-rounds.ts";

describe("server killed with SIGKILL at random moments (long)", () => {
  it("loses nothing over 25 rounds of kills at random moments", async () => {
    const r = await killRounds(25, {
      name: "server-kill-long",
      machines: 8,
      workPerRound: { queued: 10, reported: 5 },
      minMs: 100,
      maxMs: 4000,
    });
    expect(r.kills).toBe(25);
    expect(r.integrityFailures).toEqual([]);
    expect(r.problems).toEqual([]);
    expect(r.ledger.queued.size).toBeGreaterThan(200);
  }, 900_000);

  it("loses nothing when kills land right after start (10 rounds, 20–400 ms)", async () => {
    const r = await killRounds(10, { name: "server-kill-early", machines: 4, minMs: 20, maxMs: 400 });
    expect(r.integrityFailures).toEqual([]);
    expect(r.problems).toEqual([]);
  }, 600_000);
});

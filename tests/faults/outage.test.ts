// The server is away (connection refused) while agents hold results: they keep their journals, back
// off with jitter rather than returning in lockstep, and deliver everything once, when it is back.
// Short version; outage.long.test.ts takes the server away for two minutes with more agents.
import { describe, expect, it } from "vitest";
import { outage } from "./outage-run.ts";

describe("server unreachable for a while", () => {
  it("agents keep their journals, come back spread out (jitter), and deliver every result once", async () => {
    const r = await outage({ agents: 5, outageSeconds: 15, backoffMaxSeconds: 4, name: "outage-short" });
    expect(r.journalsKeptThroughOutage).toBe(5);
    expect(r.doneEvents).toBe(5);
    expect(r.messagesShown).toBe(5);
    // Not a herd: the five agents' first requests after recovery do not all land in one 250 ms window.
    expect(r.firstAfterRecovery).toHaveLength(5);
    expect(r.mostAgentsIn250ms).toBeLessThan(5);
  }, 420_000);
});

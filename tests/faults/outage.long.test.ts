// Long outage (npm run test:faults): the server is away for two minutes with eight agents whose
// backoff grows to 30 s. Same promises as the short suite.
import { describe, expect, it } from "vitest";
import { outage } from "./outage-run.ts";

describe("server unreachable for minutes (long)", () => {
  it("agents keep their journals through a two-minute outage and return spread out", async () => {
    const r = await outage({ agents: 8, outageSeconds: 120, backoffMaxSeconds: 30, name: "outage-long" });
    expect(r.journalsKeptThroughOutage).toBe(8);
    expect(r.doneEvents).toBe(8);
    expect(r.messagesShown).toBe(8);
    expect(r.firstAfterRecovery).toHaveLength(8);
    expect(r.mostAgentsIn250ms).toBeLessThan(8);
  }, 600_000);
});

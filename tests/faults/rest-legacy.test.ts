// The original design's REST agents have no ack: they run an action as soon as they receive it (a
// `restart` execs before it can report). So for them a delivery is the start of execution, and an
// action delivered over REST must never be handed out again, whatever happens before its report:
// the known defect "a restart action is delivered again after every restart" must not come back.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import { enableLegacyAgents, enroll, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let org: TestOrg;
const clock = new ManualClock(Date.now());

beforeAll(async () => {
  server = await startTestServer({ clock, sweep: false, env: { DASHFLEET_LEASE_SECONDS: "60" } });
  org = await server.createOrg("Legacy Org");
  await enableLegacyAgents(server, org.orgId);
  await enroll(server, org.agentKey, "legacy-1");
});

afterAll(async () => {
  await server?.stop();
});

const pending = async () => {
  const res = await fetch(`${server.url}/api/actions/pending?machine_id=legacy-1`, {
    headers: { authorization: `Bearer ${org.agentKey}` },
  });
  return ((await res.json()) as { actions: { action_id: string; type: string; claim_token: string }[] }).actions;
};

describe("legacy REST agents (no ack)", () => {
  it("never get a delivered action again after they die or restart before reporting", async () => {
    const { id } = await server
      .client(org.adminKey)
      .actions.queue.mutate({ machineId: "legacy-1", type: "restart", data: {} });
    const first = await pending();
    expect(first.map((a) => a.action_id)).toEqual([id]);
    // The agent execs itself (or dies) before it reports. Leases run out, the sweep runs, it polls again.
    for (let i = 0; i < 5; i++) {
      clock.advance(120);
      await server.deps.services.dispatch.sweep();
      expect(await pending()).toEqual([]);
    }
    const view = await server.client(org.adminKey).actions.get.query({ id });
    expect(view.deliveryCount).toBe(1);
    expect(view.status).toBe("executing");
    // Its report, when it comes (with the claim token of that one delivery), is still recorded.
    const res = await fetch(`${server.url}/api/actions/report`, {
      method: "POST",
      headers: { authorization: `Bearer ${org.agentKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        action_id: id,
        claim_token: first[0]!.claim_token,
        status: "done",
        result: "Agent restarted",
      }),
    });
    expect(res.status).toBe(200);
    expect((await server.client(org.adminKey).actions.get.query({ id })).status).toBe("done");
  });
});

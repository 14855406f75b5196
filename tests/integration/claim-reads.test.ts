// The claim decides from two reads (the machine's actions in flight, its first pending ones): what it
// must still do without a sweep, behind a backlog of expired actions and behind a reboot re-offered.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import { enroll, startTestServer, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";

const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
let server: TestServer;
let org: TestOrg;
let admin: TRPCClient;
let counter = 0;

async function newMachine() {
  counter += 1;
  const machineId = `claim-${counter}`;
  const token = await enroll(server, org.agentKey, machineId);
  return { machineId, agent: server.client(token) };
}

beforeAll(async () => {
  server = await startTestServer({
    clock,
    sweep: false,
    env: { DASHFLEET_LEASE_SECONDS: "60", DASHFLEET_QUEUE_PER_MINUTE: "100000" },
  });
  org = await server.createOrg();
  admin = server.client(org.adminKey);
});
afterAll(() => server.stop());

describe("claim", () => {
  it("expires the expired actions it passes over and still hands out a full poll behind them, in order", async () => {
    const { machineId, agent } = await newMachine();
    const short: string[] = [];
    for (let i = 0; i < 13; i++) {
      const { id } = await admin.actions.queue.mutate({
        machineId,
        type: "message",
        data: { message: `short ${i}` },
        expiresInSeconds: 60,
      });
      short.push(id);
    }
    const live: string[] = [];
    for (let i = 0; i < 12; i++) {
      live.push((await admin.actions.queue.mutate({ machineId, type: "message", data: { message: `live ${i}` } })).id);
    }
    clock.advance(61);
    // No sweep ran: the claim itself expires what it passes over.
    expect((await agent.agent.pendingActions.query()).actions.map((a) => a.id)).toEqual(live.slice(0, 10));
    for (const id of short) {
      const view = await admin.actions.get.query({ id });
      expect(view.status).toBe("expired");
      expect(view.events.map((e) => e.status)).toEqual(["pending", "expired"]);
    }
    // The index was told work remains: the next poll claims the rest.
    expect((await agent.agent.pendingActions.query()).actions.map((a) => a.id)).toEqual(live.slice(10));
    expect((await agent.agent.pendingActions.query()).actions).toEqual([]);
  });

  it("offers a reboot whose lease ran out again, alone: never the message queued behind it", async () => {
    const { machineId, agent } = await newMachine();
    const reboot = await admin.actions.queue.mutate({ machineId, type: "reboot", data: {} });
    const after = await admin.actions.queue.mutate({ machineId, type: "message", data: { message: "after" } });
    const first = (await agent.agent.pendingActions.query()).actions;
    expect(first.map((a) => a.id)).toEqual([reboot.id]);
    expect((await agent.agent.pendingActions.query()).actions).toEqual([]); // behind a reboot in flight
    clock.advance(61);
    const again = (await agent.agent.pendingActions.query()).actions;
    expect(again.map((a) => a.id)).toEqual([reboot.id]);
    expect(again[0]!.claimToken).not.toBe(first[0]!.claimToken);
    expect((await admin.actions.get.query({ id: after.id })).status).toBe("pending");
    expect((await admin.actions.get.query({ id: reboot.id })).events.map((e) => e.status)).toEqual([
      "pending",
      "delivered",
      "pending",
      "delivered",
    ]);
  });
});

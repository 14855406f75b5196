// A bulk reboot's page counts what the users decided (issue 11): rebooted / snoozed / waiting /
// declined, from each action's latest progress over the real server, and the counts follow the
// users' next decisions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import type { ProgressEvent } from "../../server/contract/index.ts";
import { enroll, startTestServer, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";

const clock = new ManualClock(Date.UTC(2026, 5, 1, 9, 0, 0));
let server: TestServer;
let org: TestOrg;
let admin: TRPCClient;
const at = (plus = 0) => new Date(clock.now().getTime() + plus * 1000).toISOString();

beforeAll(async () => {
  server = await startTestServer({ clock, sweep: false });
  org = await server.createOrg();
  admin = server.client(org.adminKey);
});
afterAll(() => server.stop());

describe("bulk.get decisions", () => {
  it("counts rebooted, snoozed, waiting and declined from the agents' progress", async () => {
    const ids = ["d-1", "d-2", "d-3", "d-4", "d-5"];
    const agents = new Map<string, TRPCClient>();
    for (const id of ids) agents.set(id, server.client(await enroll(server, org.agentKey, id)));
    const { bulkId } = await admin.bulk.create.mutate({
      target: { machineIds: ids },
      type: "reboot",
      data: { maxSnoozes: 3, snoozeOptions: [600, 3600], deadlineSeconds: 9 * 3600 },
    });
    const running = new Map<string, { send: (e: ProgressEvent) => Promise<unknown>; claimToken: string; id: string }>();
    for (const [mid, agent] of agents) {
      const d = (await agent.agent.pendingActions.query()).actions[0]!;
      await agent.agent.ack.mutate({ actionId: d.id, claimToken: d.claimToken });
      let seq = 0;
      running.set(mid, {
        id: d.id,
        claimToken: d.claimToken,
        send: (event) => agent.agent.progress.mutate({ actionId: d.id, claimToken: d.claimToken, seq: seq++, event }),
      });
    }
    const decisions = async () => (await admin.bulk.get.query({ bulkId })).decisions;
    expect(await decisions()).toEqual({ rebooted: 0, snoozed: 0, waiting: 0, declined: 0 });

    const r = (m: string) => running.get(m)!;
    for (const m of ids) await r(m).send({ kind: "shown", at: at(), deadlineAt: at(9 * 3600), snoozesLeft: 3 });
    expect(await decisions()).toEqual({ rebooted: 0, snoozed: 0, waiting: 5, declined: 0 });

    clock.advance(60);
    await r("d-1").send({ kind: "snoozed", at: at(), until: at(3600), n: 1, max: 3 });
    await r("d-2").send({ kind: "snoozed", at: at(), until: at(600), n: 1, max: 3 });
    await r("d-3").send({ kind: "restarting", at: at(), choice: "restart-now" });
    await r("d-3").send({ kind: "came-back", at: at(120), bootedAt: at(90) });
    await agents.get("d-4")!.agent.reportResult.mutate({
      actionId: r("d-4").id,
      claimToken: r("d-4").claimToken,
      status: "error",
      result: "the user declined",
      outcome: { userChoice: "declined" },
    });
    expect(await decisions()).toEqual({ rebooted: 1, snoozed: 2, waiting: 1, declined: 1 });

    // d-2's snooze ends: the prompt is back on screen (waiting again), then the final stage.
    clock.advance(600);
    await r("d-2").send({ kind: "shown", at: at(), snoozesLeft: 2 });
    await r("d-1").send({ kind: "final-stage", at: at(), endsAt: at(900) });
    expect(await decisions()).toEqual({ rebooted: 1, snoozed: 0, waiting: 3, declined: 1 });
  });
});

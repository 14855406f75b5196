// The progress channel (issue 11), over the real server: a reboot with a policy queued through the
// dashboard's API shows every decision on its timeline and as its latest progress; it ends `done` only
// once the agent reports the machine came back (a boot before the request is an error); a message
// that needs acknowledgement records the read receipt; events are fenced by the claim token, stored
// once, rate-limited, and only a machine token may send them; a kind that does not fit the action's
// type (a snoozed message, an acknowledged reboot) is refused, naming event.kind, and stored nowhere.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import {
  actionTypes,
  progressKindsByType,
  type ProgressEvent,
  type ProgressKind,
} from "../../server/contract/index.ts";
import {
  enroll,
  errorCode,
  failure,
  startTestServer,
  type TestOrg,
  type TestServer,
  type TRPCClient,
} from "../helpers/server.ts";

const clock = new ManualClock(Date.UTC(2026, 5, 1, 9, 0, 0));
let server: TestServer;
let org: TestOrg;
let admin: TRPCClient;
let counter = 0;

async function delivered(type: "reboot" | "message" | "restart", data: Record<string, unknown>) {
  counter += 1;
  const machineId = `p-${counter}`;
  const agent = server.client(await enroll(server, org.agentKey, machineId));
  const { id } = await admin.actions.queue.mutate({ machineId, type, data } as Parameters<
    typeof admin.actions.queue.mutate
  >[0]);
  const d = (await agent.agent.pendingActions.query()).actions[0]!;
  await agent.agent.ack.mutate({ actionId: id, claimToken: d.claimToken });
  let seq = 0;
  const send = (event: ProgressEvent) =>
    agent.agent.progress.mutate({ actionId: id, claimToken: d.claimToken, seq: seq++, event });
  return { id, machineId, agent, claimToken: d.claimToken, send };
}

const at = (plusSeconds = 0) => new Date(clock.now().getTime() + plusSeconds * 1000).toISOString();

beforeAll(async () => {
  server = await startTestServer({ clock, sweep: false, env: { DASHFLEET_AGENT_PER_MINUTE: "30" } });
  org = await server.createOrg();
  admin = server.client(org.adminKey);
});
afterAll(() => server.stop());

describe("agent.progress", () => {
  it("puts each decision of a reboot on its timeline with a sentence, keeps the latest, and ends done only after came-back", async () => {
    const policy = {
      countdownSeconds: 300,
      snoozeOptions: [600, 3600],
      maxSnoozes: 3,
      deadlineSeconds: 9 * 3600,
      finalCountdownSeconds: 900,
    };
    const r = await delivered("reboot", policy);
    await r.send({ kind: "shown", at: at(), deadlineAt: at(9 * 3600), snoozesLeft: 3 });
    clock.advance(60);
    await r.send({ kind: "snoozed", at: at(), until: at(3600), n: 1, max: 3 });

    let view = await admin.actions.get.query({ id: r.id });
    expect(view.status).toBe("executing");
    // The latest event, with the deadline shown earlier kept: enough for "snoozed 1 of 3, next prompt …, deadline …".
    expect(view.progress).toMatchObject({
      kind: "snoozed",
      n: 1,
      max: 3,
      until: at(3600),
      seq: 1,
      deadlineAt: at(9 * 3600 - 60),
    });
    expect(view.events.filter((e) => e.kind !== null).map((e) => [e.kind, e.detail])).toEqual([
      [
        "shown",
        `prompt shown to the user; deadline ${new Date(Date.UTC(2026, 5, 1, 18, 0, 0)).toISOString()}; 3 snoozes left`,
      ],
      ["snoozed", `snoozed 1 of 3, next prompt ${at(3600)}`],
    ]);

    clock.advance(3600);
    await r.send({ kind: "final-stage", at: at(), endsAt: at(900) });
    await r.send({ kind: "restarting", at: at(), choice: "restart-now" });
    // The agent's "done" before the machine came back: kept, still executing.
    const held = await r.agent.agent.reportResult.mutate({
      actionId: r.id,
      claimToken: r.claimToken,
      status: "done",
      result: "rebooting now",
    });
    expect(held).toEqual({ status: "executing", duplicate: false });
    expect((await admin.actions.get.query({ id: r.id })).status).toBe("executing");

    clock.advance(90);
    const back = await r.send({ kind: "came-back", at: at(), bootedAt: at(-30) });
    expect(back).toEqual({ status: "done", recorded: true });
    view = await admin.actions.get.query({ id: r.id });
    expect(view.status).toBe("done");
    expect(view.result).toBe("rebooting now");
    expect(view.events.map((e) => e.kind ?? e.status)).toEqual([
      "pending",
      "delivered",
      "executing",
      "shown",
      "snoozed",
      "final-stage",
      "restarting",
      "held-result",
      "came-back",
      "done",
    ]);
  });

  it("finishes a reboot as done from came-back alone, and calls a boot before the request an error (it never rebooted)", async () => {
    const ok = await delivered("reboot", {});
    clock.advance(120);
    expect(await ok.send({ kind: "came-back", at: at(), bootedAt: at(-10) })).toEqual({
      status: "done",
      recorded: true,
    });
    expect((await admin.actions.get.query({ id: ok.id })).result).toBe(`rebooted at ${at(-10)}`);
    // The agent's result after came-back is a harmless repeat.
    expect(
      await ok.agent.agent.reportResult.mutate({
        actionId: ok.id,
        claimToken: ok.claimToken,
        status: "done",
        result: "rebooted",
      }),
    ).toEqual({
      status: "done",
      duplicate: true,
    });

    const never = await delivered("reboot", {});
    clock.advance(120);
    expect(await never.send({ kind: "came-back", at: at(), bootedAt: at(-86400) })).toEqual({
      status: "error",
      recorded: true,
    });
    expect((await admin.actions.get.query({ id: never.id })).result).toMatch(
      /^did not reboot: the machine last booted at/,
    );
  });

  it("records a message's read receipt (acknowledged, with its time)", async () => {
    const m = await delivered("message", {
      message: "Please save your work",
      display: "dialog",
      requireAcknowledgement: true,
      urgency: "warning",
    });
    await m.send({ kind: "shown", at: at() });
    clock.advance(300);
    const readAt = at();
    await m.send({ kind: "acknowledged", at: readAt });
    await m.agent.agent.reportResult.mutate({
      actionId: m.id,
      claimToken: m.claimToken,
      status: "done",
      result: `read at ${readAt}`,
    });
    const view = await admin.actions.get.query({ id: m.id });
    expect(view.status).toBe("done");
    expect(view.progress).toMatchObject({ kind: "acknowledged", at: readAt });
    expect(view.events.find((e) => e.kind === "acknowledged")).toMatchObject({
      detail: `read by the user at ${readAt}`,
    });
  });

  it("stores the same event once, refuses a stale claim token, an unacknowledged action and an agent key", async () => {
    const r = await delivered("reboot", {});
    const event: ProgressEvent = { kind: "shown", at: at(), snoozesLeft: 3 };
    const input = { actionId: r.id, claimToken: r.claimToken, seq: 0, event };
    expect(await r.agent.agent.progress.mutate(input)).toEqual({ status: "executing", recorded: true });
    expect(await r.agent.agent.progress.mutate(input)).toEqual({ status: "executing", recorded: false });
    expect((await admin.actions.get.query({ id: r.id })).events.filter((e) => e.kind === "shown")).toHaveLength(1);

    const stale = await failure(r.agent.agent.progress.mutate({ ...input, claimToken: "not-the-claim-token", seq: 1 }));
    expect(stale.data?.code).toBe("CONFLICT");
    expect(stale.message).toMatch(/Stale claim token/);

    const { id } = await admin.actions.queue.mutate({
      machineId: r.machineId,
      type: "message",
      data: { message: "not acked" },
    });
    const refused = await failure(r.agent.agent.progress.mutate({ actionId: id, claimToken: "x", seq: 0, event }));
    expect(refused.data?.code).toBe("CONFLICT");

    expect(await errorCode(server.client(org.agentKey).agent.progress.mutate(input))).toBe("FORBIDDEN");
  });

  it("is rate-limited per machine like reports (TOO_MANY_REQUESTS with a retry hint)", async () => {
    const r = await delivered("reboot", {});
    let seq = 0;
    const next = () =>
      r.agent.agent.progress.mutate({
        actionId: r.id,
        claimToken: r.claimToken,
        seq: seq++,
        event: { kind: "shown", at: at(), snoozesLeft: 1 },
      });
    for (let i = 0; i < 30; i++) await next();
    const err = await failure(next());
    expect(err.data?.code).toBe("TOO_MANY_REQUESTS");
    expect((err.data as { retryAfterSeconds?: number }).retryAfterSeconds).toBeGreaterThan(0);
  });
});

/** One event of each kind (times from the test clock). */
const sample = (kind: ProgressKind): ProgressEvent => {
  switch (kind) {
    case "shown":
      return { kind, at: at() };
    case "waiting":
      return { kind, at: at(), until: at(3600), reason: "quiet-hours" };
    case "snoozed":
      return { kind, at: at(), until: at(600), n: 1, max: 3 };
    case "final-stage":
      return { kind, at: at(), endsAt: at(900) };
    case "restarting":
      return { kind, at: at(), choice: "restart-now" };
    case "came-back":
      return { kind, at: at(), bootedAt: at(-10) };
    case "acknowledged":
      return { kind, at: at() };
  }
};
const allKinds: ProgressKind[] = [
  "shown",
  "waiting",
  "snoozed",
  "final-stage",
  "restarting",
  "came-back",
  "acknowledged",
];
const types = ["message", "restart", "reboot"] as const;
const wrongPairs = types.flatMap((type) =>
  allKinds.filter((k) => !(progressKindsByType[type] as readonly string[]).includes(k)).map((kind) => ({ type, kind })),
);
const dataFor = { message: { message: "Save your work", display: "dialog" }, restart: {}, reboot: {} } as const;

describe("agent.progress: the event kind must fit the action type", () => {
  it("lists 12 wrong pairings (message: 5, restart: 6, reboot: acknowledged)", () => {
    // One row per action type the contract knows (a new type must say which kinds fit it).
    expect(Object.keys(progressKindsByType).sort()).toEqual([...actionTypes].sort());
    expect(wrongPairs).toHaveLength(12);
    expect(wrongPairs.filter((p) => p.type === "reboot").map((p) => p.kind)).toEqual(["acknowledged"]);
  });

  it.each(wrongPairs)(
    "refuses $kind for a $type action: BAD_REQUEST naming event.kind, nothing stored",
    async ({ type, kind }) => {
      const r = await delivered(type, dataFor[type]);
      const err = await failure(r.send(sample(kind)));
      expect(err.data?.code).toBe("BAD_REQUEST");
      expect(err.message).toMatch(new RegExp(`^event\\.kind: "${kind}" does not fit a ${type} action`));
      const view = await admin.actions.get.query({ id: r.id });
      expect(view.status).toBe("executing");
      expect(view.progress).toBeNull();
      expect(view.events.filter((e) => e.kind !== null)).toEqual([]);
      // The refusal is about this event only: a fitting one on the same action is then recorded.
      expect(await r.send(sample("shown"))).toEqual({ status: "executing", recorded: true });
    },
  );

  it("accepts every kind the table allows for each type", async () => {
    for (const type of types) {
      const r = await delivered(type, dataFor[type]);
      // came-back ends a reboot; send it last so every other kind is recorded while it runs.
      const kinds = [...progressKindsByType[type]].sort(
        (a, b) => Number(a === "came-back") - Number(b === "came-back"),
      );
      for (const kind of kinds) expect((await r.send(sample(kind))).recorded).toBe(true);
      const view = await admin.actions.get.query({ id: r.id });
      expect(view.events.filter((e) => e.kind !== null).map((e) => e.kind)).toEqual(kinds);
    }
  });
});

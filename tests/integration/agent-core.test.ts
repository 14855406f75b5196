// The agent core against the real server, in-process with a fake desktop: enrollment, reports,
// messages, restart and reboot confirmations (accepted, declined, postponed), a server outage with
// results delivered once afterwards, and restarts that report the action that caused them.
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../tray-agent/src/core/agent.ts";
import { readState } from "../../tray-agent/src/core/config.ts";
import { agentConfig, FakeDesktop, fixedIdentity, fixedMetrics, tempDataDir, waitFor } from "../helpers/agent.ts";
import { startTestServer, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";

const ENV = { DASHFLEET_AGENT_PER_MINUTE: "100000" };
let server: TestServer;
let org: TestOrg;
let admin: TRPCClient;
const running: Agent[] = [];
let machineCounter = 0;

beforeAll(async () => {
  server = await startTestServer({ env: ENV });
  org = await server.createOrg();
  admin = server.client(org.adminKey);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.stop()));
});
afterAll(async () => {
  await server.stop();
});

/** Starts an agent on a data dir (a new one unless given) with a fake desktop. */
function startAgent(
  opts: {
    dataDir?: string;
    machineId?: string;
    desktop?: FakeDesktop;
    serverUrl?: string;
    /** Seconds since boot (default: this host's). A fraction of a second: the machine has just rebooted. */
    uptimeSeconds?: () => number;
    labels?: string[];
  } = {},
) {
  const dataDir = opts.dataDir ?? tempDataDir();
  const machineId = opts.machineId ?? `agent-it-${++machineCounter}`;
  const desktop = opts.desktop ?? new FakeDesktop();
  const agent = new Agent({
    config: agentConfig({
      dataDir,
      server: opts.serverUrl ?? server.url,
      token: org.agentKey,
      machineId,
      intervalSeconds: 1,
      pollIntervalSeconds: 1,
      labels: opts.labels ?? [],
    }),
    desktop,
    metrics: fixedMetrics,
    identity: fixedIdentity,
    uptimeSeconds: opts.uptimeSeconds,
  });
  running.push(agent);
  void agent.run();
  return { agent, desktop, dataDir, machineId };
}

async function machineRow(machineId: string) {
  return server.deps.db.machine.findFirst({
    where: { orgId: org.orgId, machineId },
    select: { lastCpu: true, lastMemory: true, lastDisk: true, hostname: true, agentVersion: true },
  });
}

async function finished(id: string) {
  return waitFor(async () => {
    const a = await admin.actions.get.query({ id });
    return a.status === "done" || a.status === "error" ? a : null;
  }, `action ${id} to finish`);
}

const doneEvents = (a: { events: { status: string }[] }) =>
  a.events.filter((e) => e.status === "done" || e.status === "error").length;

/** The time a rebooted machine is down: longer than the uptime the next agent reports, so its boot is after the request. */
const machineDown = () => new Promise((r) => setTimeout(r, 500));

describe("agent core against the real server", () => {
  it("enrolls once, keeps its machine token, and reports metrics the server stores", async () => {
    const { agent, dataDir, machineId } = startAgent();
    const row = await waitFor(
      async () => (await machineRow(machineId))?.lastCpu != null && machineRow(machineId),
      "a metric report",
    );
    expect(row).toMatchObject({
      lastCpu: 12.5,
      lastMemory: 40,
      lastDisk: 55,
      hostname: "test-host",
      agentVersion: "0.1.0",
    });
    const state = readState(dataDir);
    expect(state.machineToken).toMatch(/^dfm_/);
    await agent.stop();
    // A second start uses the saved token: no new enrollment (the token stays the same and works).
    const again = startAgent({ dataDir, machineId });
    await waitFor(() => again.agent.getState().connection === "connected", "reconnect");
    expect(readState(dataDir).machineToken).toBe(state.machineToken);
  });

  it("shows a message verbatim (quotes, $(…), backticks, newlines) and reports it done", async () => {
    const { desktop, machineId } = startAgent();
    await waitFor(() => machineRow(machineId), "enrollment");
    const text = `He said "hi" & 'bye'; $(rm -rf ~) \`id\` \n second line; <b>bold</b>`;
    const { id } = await admin.actions.queue.mutate({
      machineId,
      type: "message",
      data: { message: text, title: "Heads up" },
    });
    const a = await finished(id);
    expect(a.status).toBe("done");
    expect(a.result).toBe("notification shown");
    expect(desktop.calls).toContainEqual({
      kind: "notify",
      actionId: id,
      title: "Heads up",
      message: text.trim(),
      urgency: "info",
      requireAcknowledgement: false,
    });
  });

  it("waits for a dialog to be closed before reporting it done", async () => {
    const desktop = new FakeDesktop();
    let release!: () => void;
    desktop.hold = new Promise((r) => (release = r));
    const { machineId, agent } = startAgent({ desktop });
    await waitFor(() => machineRow(machineId), "enrollment");
    const { id } = await admin.actions.queue.mutate({
      machineId,
      type: "message",
      data: { message: "Read me", display: "dialog" },
    });
    await waitFor(() => desktop.count("dialog") === 1, "the dialog");
    expect(agent.getState().actionWaiting).toBe(true);
    expect((await admin.actions.get.query({ id })).status).toBe("executing");
    release();
    const a = await finished(id);
    expect(a).toMatchObject({ status: "done", result: "dialog closed by the user" });
  });

  it("restart: asks, relaunches, and after the restart reports done with the user's choice, never running it again", async () => {
    const first = startAgent();
    await waitFor(() => machineRow(first.machineId), "enrollment");
    const { id } = await admin.actions.queue.mutate({ machineId: first.machineId, type: "restart", data: {} });
    await waitFor(() => first.desktop.count("relaunch") === 1, "the relaunch");
    expect(first.desktop.count("confirm")).toBe(1);
    expect((await admin.actions.get.query({ id })).status).toBe("executing");
    await first.agent.stop();
    // The relaunched agent: same data dir, fresh process state.
    const second = startAgent({ dataDir: first.dataDir, machineId: first.machineId });
    const a = await finished(id);
    expect(a).toMatchObject({ status: "done", result: "agent restarted", outcome: { userChoice: "accepted" } });
    expect(second.desktop.count("confirm")).toBe(0);
    expect(second.desktop.count("relaunch")).toBe(0);
    expect(doneEvents(a)).toBe(1);
  });

  it("restart declined by the user is reported as error with the choice", async () => {
    const desktop = new FakeDesktop();
    desktop.confirmAnswers = [false];
    const { machineId } = startAgent({ desktop });
    await waitFor(() => machineRow(machineId), "enrollment");
    const { id } = await admin.actions.queue.mutate({ machineId, type: "restart", data: {} });
    const a = await finished(id);
    expect(a).toMatchObject({ status: "error", result: "declined by user", outcome: { userChoice: "declined" } });
    expect(desktop.count("relaunch")).toBe(0);
  });

  it("reboot: postponed twice then 'Now' → reboot command, reported done after the reboot with the postponements", async () => {
    const desktop = new FakeDesktop();
    desktop.countdownAnswers = ["snooze", "snooze", "now"];
    const first = startAgent({ desktop });
    await waitFor(() => machineRow(first.machineId), "enrollment");
    const { id } = await admin.actions.queue.mutate({
      machineId: first.machineId,
      type: "reboot",
      data: { countdownSeconds: 30, maxPostpones: 3 },
    });
    await waitFor(() => desktop.count("reboot") === 1, "the reboot command");
    const rounds = desktop.calls.filter((c) => c.kind === "countdown");
    expect(rounds.map((c) => [c.kind === "countdown" && c.seconds, c.kind === "countdown" && c.snoozesLeft])).toEqual([
      [30, 3],
      [30, 2],
      [30, 1],
    ]);
    // Not reported before the machine goes down.
    expect((await admin.actions.get.query({ id })).status).toBe("executing");
    await first.agent.stop();
    // The machine came back: booted a moment ago, after the reboot was requested (a reboot takes time:
    // without the pause a fast machine starts the next agent less than 0.2 s after the request).
    await machineDown();
    const second = startAgent({ dataDir: first.dataDir, machineId: first.machineId, uptimeSeconds: () => 0.2 });
    const a = await finished(id);
    expect(a.status).toBe("done");
    expect(a.result).toMatch(/^rebooted at \d{4}-/);
    // Every decision is on the action's timeline, in order, from the progress channel.
    expect(a.events.map((e) => e.kind).filter((k) => k !== null && k !== "held-result")).toEqual([
      "shown",
      "snoozed",
      "shown",
      "snoozed",
      "shown",
      "restarting",
      "came-back",
    ]);
    expect(a.events.find((e) => e.kind === "snoozed")?.detail).toMatch(/^snoozed 1 of 3, next prompt /);
    expect(a.outcome).toEqual({ userChoice: "accepted", postponements: 2 });
    expect(second.desktop.count("countdown")).toBe(0);
    expect(second.desktop.count("reboot")).toBe(0);
  });

  it("reboot: when every postponement is used, the last countdown runs out and the reboot proceeds (postponed-max)", async () => {
    const desktop = new FakeDesktop();
    desktop.countdownAnswers = ["snooze", "elapsed"];
    const first = startAgent({ desktop });
    await waitFor(() => machineRow(first.machineId), "enrollment");
    const { id } = await admin.actions.queue.mutate({
      machineId: first.machineId,
      type: "reboot",
      data: { countdownSeconds: 10, maxPostpones: 1 },
    });
    await waitFor(() => desktop.count("reboot") === 1, "the reboot command");
    expect(
      desktop.calls
        .filter((c) => c.kind === "countdown")
        .map((c) => c.kind === "countdown" && [c.stage, c.snoozesLeft]),
    ).toEqual([
      ["prompt", 1],
      ["final", 0],
    ]);
    await first.agent.stop();
    await machineDown();
    startAgent({ dataDir: first.dataDir, machineId: first.machineId, uptimeSeconds: () => 0.2 });
    const a = await finished(id);
    expect(a).toMatchObject({ status: "done", outcome: { userChoice: "postponed-max", postponements: 1 } });
  });

  it("reboot that never happened (the machine stayed up) is an error after the agent restarts, not done", async () => {
    const desktop = new FakeDesktop();
    const first = startAgent({ desktop });
    await waitFor(() => machineRow(first.machineId), "enrollment");
    const { id } = await admin.actions.queue.mutate({ machineId: first.machineId, type: "reboot", data: {} });
    await waitFor(() => desktop.count("reboot") === 1, "the reboot command");
    await first.agent.stop();
    // Up for a day: this host never went down.
    startAgent({ dataDir: first.dataDir, machineId: first.machineId, uptimeSeconds: () => 86_400 });
    const a = await finished(id);
    expect(a.status).toBe("error");
    expect(a.result).toMatch(/^the reboot did not happen: the machine has been up since /);
  });

  it("a message with acknowledgement records the read receipt as its result", async () => {
    const desktop = new FakeDesktop();
    desktop.acknowledgeAt = "2026-11-25T14:05:00.000Z";
    const { machineId } = startAgent({ desktop });
    await waitFor(() => machineRow(machineId), "enrollment");
    const { id } = await admin.actions.queue.mutate({
      machineId,
      type: "message",
      data: { message: "New VPN on Monday", requireAcknowledgement: true, urgency: "warning" },
    });
    const a = await finished(id);
    expect(a).toMatchObject({ status: "done", result: "read by the user at 2026-11-25T14:05:00.000Z" });
    expect(desktop.calls).toContainEqual(
      expect.objectContaining({ kind: "dialog", urgency: "warning", requireAcknowledgement: true }),
    );
  });

  it("--labels are sent at enrollment and stored on the new machine", async () => {
    const { machineId } = startAgent({ labels: ["kiosk", "paris"] });
    const labels = await waitFor(async () => {
      const m = await server.deps.db.machine.findFirst({
        where: { orgId: org.orgId, machineId },
        select: { labels: { select: { label: true } } },
      });
      return m && m.labels.length > 0 ? m.labels.map((l) => l.label).sort() : null;
    }, "the labels");
    expect(labels).toEqual(["kiosk", "paris"]);
  });

  it("enrolling again with saved state sends the machine's current token, so the server accepts it", async () => {
    const first = startAgent();
    await waitFor(() => machineRow(first.machineId), "enrollment");
    await first.agent.stop();
    const statePath = path.join(first.dataDir, "state.json");
    const state = JSON.parse(fs.readFileSync(statePath, "utf8")) as { machineToken: string };
    // The saved state names another server address (e.g. the URL changed): the agent enrolls again.
    fs.writeFileSync(statePath, JSON.stringify({ ...state, server: "http://old-address.invalid" }));
    const desktop = new FakeDesktop();
    startAgent({ dataDir: first.dataDir, machineId: first.machineId, desktop });
    const renewed = await waitFor(() => {
      const s = JSON.parse(fs.readFileSync(statePath, "utf8")) as { machineToken?: string; server?: string };
      return s.server === server.url && s.machineToken && s.machineToken !== state.machineToken ? s : null;
    }, "the new machine token");
    expect(renewed.machineToken).toMatch(/^dfm_/);
    const { id } = await admin.actions.queue.mutate({
      machineId: first.machineId,
      type: "message",
      data: { message: "hi" },
    });
    expect((await finished(id)).status).toBe("done");
  });

  it("reboot whose command fails is reported as error at once", async () => {
    const desktop = new FakeDesktop();
    desktop.rebootError = new Error("reboot command failed (systemctl reboot: access denied)");
    const { machineId } = startAgent({ desktop });
    await waitFor(() => machineRow(machineId), "enrollment");
    const { id } = await admin.actions.queue.mutate({ machineId, type: "reboot", data: {} });
    const a = await finished(id);
    expect(a).toMatchObject({
      status: "error",
      result: "reboot command failed (systemctl reboot: access denied)",
      outcome: { userChoice: "accepted", postponements: 0 },
    });
  });
});

describe("agent core through a server outage", () => {
  it("keeps the result in its journal while the server is down and delivers it once after recovery", async () => {
    const own = await startTestServer({ env: ENV });
    const ownOrg = await own.createOrg();
    const ownAdmin = own.client(ownOrg.adminKey);
    const { port, dbFile, databaseEnv } = own;
    const desktop = new FakeDesktop();
    let release!: () => void;
    desktop.hold = new Promise((r) => (release = r));
    const dataDir = tempDataDir();
    const agent = new Agent({
      config: agentConfig({
        dataDir,
        server: own.url,
        token: ownOrg.agentKey,
        machineId: "outage-1",
        intervalSeconds: 1,
        pollIntervalSeconds: 1,
        backoffMaxSeconds: 1,
      }),
      desktop,
      metrics: fixedMetrics,
      identity: fixedIdentity,
    });
    running.push(agent);
    void agent.run();
    await waitFor(() => agent.getState().connection === "connected", "connection");
    const { id } = await ownAdmin.actions.queue.mutate({
      machineId: "outage-1",
      type: "message",
      data: { message: "during the outage", display: "dialog" },
    });
    await waitFor(() => desktop.count("dialog") === 1, "the dialog");

    await own.close(); // the server goes away while the user reads the dialog
    release();
    await waitFor(() => agent.getState().connection === "offline", "offline state");
    const journaled = await waitFor(
      () => agent.journalEntries().find((e) => e.actionId === id && e.state === "result"),
      "the journaled result",
    );
    expect(journaled.result).toMatchObject({ status: "done" });
    expect(fs.existsSync(path.join(dataDir, "journal", `${id}.json`))).toBe(true);

    const back = await startTestServer({ env: { ...ENV, ...databaseEnv }, dbFile, port });
    try {
      const client = back.client(ownOrg.adminKey);
      const a = await waitFor(async () => {
        const x = await client.actions.get.query({ id });
        return x.status === "done" ? x : null;
      }, "delivery after recovery");
      expect(a.result).toBe("dialog closed by the user");
      await waitFor(
        () => agent.journalEntries().find((e) => e.actionId === id)?.state === "reported",
        "journal marked reported",
      );
      expect(agent.getState().connection).toBe("connected");
      expect(doneEvents(a)).toBe(1);
      expect(desktop.count("dialog")).toBe(1);
    } finally {
      await agent.stop();
      await back.stop();
    }
  });
});

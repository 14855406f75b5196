// The agent core with a fake server API and a scripted sleep: ack before run, CONFLICT never runs,
// invalid and unknown actions are reported without running, wake() polls at once, backoff grows with
// full jitter, the journal replay after a crash, and the re-enrollment on a refused token.
import fs from "node:fs";
import path from "node:path";
import { TRPCClientError } from "@trpc/client";
import { afterEach, describe, expect, it } from "vitest";
import {
  progressKindFits,
  type BrandingAnswer,
  type MachineIdentity,
  type ProgressInput,
} from "../../server/contract/index.ts";
import { Agent, type AgentOptions } from "../../tray-agent/src/core/agent.ts";
import type { AgentApi } from "../../tray-agent/src/core/api.ts";
import { backoffDelay } from "../../tray-agent/src/core/backoff.ts";
import { defaultExecutors } from "../../tray-agent/src/core/executors.ts";
import { Journal } from "../../tray-agent/src/core/journal.ts";
import { agentConfig, FakeDesktop, fixedIdentity, fixedMetrics, tempDataDir, waitFor } from "../helpers/agent.ts";

const ID1 = "11111111-1111-4111-8111-111111111111";
const ID2 = "22222222-2222-4222-8222-222222222222";

function trpcError(code: string) {
  return new TRPCClientError(code, { result: { error: { message: code, code: -1, data: { code } } } as never });
}

/** A scripted server: actions to hand out, calls recorded, failures injectable. */
class FakeApi implements AgentApi {
  log: string[] = [];
  queue: unknown[][] = [];
  ackError: Error | null = null;
  down = false;
  tokens: (string | null)[] = [];
  refuseToken: string | null = null;
  results: { actionId: string; status: string; result: string; outcome?: unknown }[] = [];
  progressed: ProgressInput[] = [];
  /** An older server: agent.progress does not exist. */
  progressMissing = false;
  enrolled: { identity: MachineIdentity; currentToken: string | undefined }[] = [];
  /** What agent.branding answers (the logo left out when the agent sends this etag), or throws. */
  brandingAnswer: BrandingAnswer | Error = { orgName: "Fake Org", etag: "etag-1" };
  /** The etag sent with each branding ask. */
  brandingAsked: (string | null)[] = [];
  constructor(private readonly token: () => string | null) {}
  private check(what: string) {
    this.log.push(what);
    this.tokens.push(this.token());
    if (this.down) throw new TypeError("fetch failed");
    if (this.refuseToken && this.token() === this.refuseToken && what !== "enroll") throw trpcError("UNAUTHORIZED");
  }
  async enroll(identity: MachineIdentity, currentToken?: string) {
    this.check("enroll");
    this.enrolled.push({ identity, currentToken });
    return { machineToken: `dfm_token_${this.log.filter((l) => l === "enroll").length}`, reportIntervalSeconds: 10 };
  }
  async report() {
    this.check("report");
    return { nextReportInSeconds: 10 };
  }
  async pendingActions() {
    this.check("poll");
    return { actions: this.queue.shift() ?? [] };
  }
  async ack(i: { actionId: string }) {
    this.check(`ack ${i.actionId}`);
    if (this.ackError) throw this.ackError;
    return { status: "executing" };
  }
  async reportResult(i: { actionId: string; status: "done" | "error"; result: string; outcome?: unknown }) {
    this.check(`result ${i.actionId}`);
    this.results.push(i);
    return { status: i.status, duplicate: false };
  }
  async branding(etag: string | null): Promise<BrandingAnswer> {
    this.check("branding");
    this.brandingAsked.push(etag);
    if (this.brandingAnswer instanceof Error) throw this.brandingAnswer;
    const { logoDataUrl, ...rest } = this.brandingAnswer;
    return etag === rest.etag ? rest : { ...rest, ...(logoDataUrl ? { logoDataUrl } : {}) };
  }
  async progress(i: ProgressInput) {
    this.check(`progress ${i.actionId} ${i.event.kind}`);
    if (this.progressMissing)
      throw new TRPCClientError('No procedure found on path "agent.progress"', {
        result: {
          error: { message: 'No procedure found on path "agent.progress"', code: -1, data: { code: "NOT_FOUND" } },
        } as never,
      });
    this.progressed.push(i);
    return { ok: true };
  }
}

/** A sleep that resolves at once but records how long it was asked to wait (and yields to the loop). */
function recordingSleep(waits: number[]) {
  return async (ms: number, signal?: AbortSignal) => {
    waits.push(ms);
    if (signal?.aborted) return;
    await new Promise<void>((r) => {
      const t = setTimeout(r, Math.min(ms, 20));
      signal?.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
    });
  };
}

const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
});

function makeAgent(
  opts: {
    dataDir?: string;
    desktop?: FakeDesktop;
    random?: () => number;
    waits?: number[];
    token?: string;
    metrics?: typeof fixedMetrics;
    push?: AgentOptions["push"];
    executors?: AgentOptions["executors"];
    log?: AgentOptions["log"];
    brandingRefreshMs?: number;
  } = {},
) {
  let api!: FakeApi;
  const desktop = opts.desktop ?? new FakeDesktop();
  const dataDir = opts.dataDir ?? tempDataDir();
  const waits = opts.waits ?? [];
  const agent = new Agent({
    config: agentConfig({
      dataDir,
      token: opts.token ?? "dfk_enrollment_key",
      intervalSeconds: 3600,
      pollIntervalSeconds: 3600,
      backoffMaxSeconds: 60,
    }),
    desktop,
    api: (_url, token) => (api = new FakeApi(token)),
    metrics: opts.metrics ?? fixedMetrics,
    identity: fixedIdentity,
    sleep: recordingSleep(waits),
    random: opts.random ?? (() => 0.5),
    uptimeSeconds: () => 10,
    push: opts.push,
    executors: opts.executors,
    log: opts.log,
    brandingRefreshMs: opts.brandingRefreshMs,
  });
  agents.push(agent);
  return { agent, api, desktop, dataDir, waits };
}

const message = (id: string, text = "hello") => ({
  id,
  type: "message",
  data: { message: text },
  claimToken: `tok-${id}`,
  createdAt: "",
  expiresAt: "",
});

describe("agent core (fake server)", () => {
  it("acknowledges an action before running it, and reports the result after", async () => {
    const { agent, api, desktop } = makeAgent();
    api.queue.push([message(ID1)]);
    void agent.run();
    await waitFor(() => api.results.length === 1, "the result");
    const order = api.log.filter((l) => l.includes(ID1));
    expect(order).toEqual([`ack ${ID1}`, `result ${ID1}`]);
    expect(desktop.calls).toEqual([
      {
        kind: "notify",
        actionId: ID1,
        title: "DashFleet",
        message: "hello",
        urgency: "info",
        requireAcknowledgement: false,
      },
    ]);
    expect(agent.getState().recentMessages.map((m) => m.message)).toEqual(["hello"]);
  });

  it("never runs an action whose ack is refused (CONFLICT) and forgets it", async () => {
    const { agent, api, desktop } = makeAgent();
    api.ackError = trpcError("CONFLICT");
    api.queue.push([message(ID1)]);
    void agent.run();
    await waitFor(() => api.log.includes(`ack ${ID1}`), "the ack");
    agent.wake();
    await waitFor(() => api.log.filter((l) => l === "poll").length >= 2, "another poll");
    expect(desktop.calls).toEqual([]);
    expect(api.results).toEqual([]);
    expect(agent.journalEntries()).toEqual([]);
  });

  it("reports an invalid or unknown action as error without running it (acknowledged first: the server takes results of acknowledged actions only)", async () => {
    const { agent, api, desktop } = makeAgent();
    api.queue.push([
      { id: ID1, type: "message", data: { message: "" }, claimToken: "t1", createdAt: "", expiresAt: "" },
      { id: ID2, type: "format-disk", data: {}, claimToken: "t2", createdAt: "", expiresAt: "" },
    ]);
    void agent.run();
    await waitFor(() => api.results.length === 2, "two results");
    expect(api.results.find((r) => r.actionId === ID1)).toMatchObject({ status: "error" });
    expect(api.results.find((r) => r.actionId === ID1)?.result).toContain("data.message: message is required");
    expect(api.results.find((r) => r.actionId === ID2)).toMatchObject({ status: "error" });
    expect(api.results.find((r) => r.actionId === ID2)?.result).toContain('unsupported action "format-disk"');
    for (const id of [ID1, ID2]) expect(api.log.filter((l) => l.endsWith(id))).toEqual([`ack ${id}`, `result ${id}`]);
    expect(desktop.calls).toEqual([]);
  });

  it("wake() polls at once instead of waiting for the poll interval", async () => {
    const { agent, api, waits } = makeAgent();
    void agent.run();
    await waitFor(() => api.log.includes("poll"), "the first poll");
    await waitFor(() => waits.length > 0, "the idle wait");
    // Idle: it waits for the next report/poll, an hour away.
    expect(waits.at(-1)).toBeGreaterThan(3_000_000);
    api.queue.push([message(ID1)]);
    agent.wake();
    await waitFor(() => api.results.length === 1, "the result after wake");
    expect(api.log.filter((l) => l === "poll").length).toBeGreaterThanOrEqual(2);
  });

  it("backs off with growing, jittered waits while the server is down, then delivers", async () => {
    const waits: number[] = [];
    const { agent, api } = makeAgent({ waits, random: () => 0.999 });
    api.down = true;
    void agent.run();
    await waitFor(() => waits.length >= 6, "several retries");
    expect(agent.getState().connection).toBe("offline");
    expect(waits.slice(0, 6)).toEqual([999, 1998, 3996, 7992, 15984, 31968]);
    api.down = false;
    await waitFor(() => agent.getState().connection === "connected", "recovery");
  });

  it("full jitter: every wait lies in [0, min(cap, base·2^n)) and the cap holds", () => {
    for (const r of [0, 0.3, 0.999]) {
      for (let n = 1; n <= 12; n++) {
        const d = backoffDelay(n, { capMs: 60_000, random: () => r });
        expect(d).toBeLessThanOrEqual(Math.min(60_000, 1000 * 2 ** (n - 1)));
        expect(d).toBeGreaterThanOrEqual(100);
      }
    }
    expect(backoffDelay(30, { capMs: 60_000, random: () => 0.999 })).toBe(59_940);
  });

  it("after a crash: an executing action is reported as error, a relaunch/reboot as done with the user's choice, and none runs again", async () => {
    const dataDir = tempDataDir();
    // Written a minute ago: the machine (up 10 s) booted after the reboot was requested.
    const j = new Journal(dataDir, () => new Date(Date.now() - 60_000));
    j.load();
    const base = { claimToken: "tok", receivedAt: new Date().toISOString() };
    j.put({
      ...base,
      actionId: ID1,
      type: "message",
      data: { message: "x", title: "DashFleet", display: "dialog" },
      state: "executing",
    });
    j.put({
      ...base,
      actionId: ID2,
      type: "restart",
      data: {},
      state: "relaunching",
      outcome: { userChoice: "accepted" },
    });
    const ID3 = "33333333-3333-4333-8333-333333333333";
    j.put({
      ...base,
      actionId: ID3,
      type: "reboot",
      data: { countdownSeconds: 60, maxPostpones: 3 },
      state: "rebooting",
      outcome: { userChoice: "postponed-max", postponements: 3 },
    });
    const { agent, api, desktop } = makeAgent({ dataDir });
    void agent.run();
    await waitFor(() => api.results.length === 3, "three results");
    expect(api.results.find((r) => r.actionId === ID1)).toMatchObject({
      status: "error",
      result: "agent stopped while running the action; not run again",
    });
    expect(api.results.find((r) => r.actionId === ID2)).toMatchObject({
      status: "done",
      outcome: { userChoice: "accepted" },
    });
    expect(api.results.find((r) => r.actionId === ID3)).toMatchObject({
      status: "done",
      outcome: { userChoice: "postponed-max", postponements: 3 },
    });
    expect(api.results.find((r) => r.actionId === ID3)?.result).toMatch(/^rebooted at \d{4}-\d\d-\d\dT/);
    // "came back" goes out after the reboot's result (the server holds a done reboot until it comes back).
    expect(api.progressed.map((p) => [p.actionId, p.event.kind])).toEqual([[ID3, "came-back"]]);
    expect(api.log.indexOf(`result ${ID3}`)).toBeLessThan(api.log.indexOf(`progress ${ID3} came-back`));
    expect(desktop.calls).toEqual([]);
    expect(api.log.some((l) => l.startsWith("ack"))).toBe(false);
    // A redelivery of a finished action is ignored.
    api.queue.push([{ ...message(ID1), claimToken: "tok" }]);
    agent.wake();
    await waitFor(() => api.log.filter((l) => l === "poll").length >= 2, "poll");
    expect(desktop.calls).toEqual([]);
  });

  it("an acknowledged action that had not started when the agent stopped runs once after the restart", async () => {
    const dataDir = tempDataDir();
    const j = new Journal(dataDir);
    j.load();
    j.put({
      actionId: ID1,
      claimToken: "tok",
      type: "message",
      data: { message: "queued", title: "DashFleet", display: "notification" },
      state: "acked",
    });
    const { agent, api, desktop } = makeAgent({ dataDir });
    void agent.run();
    await waitFor(() => api.results.length === 1, "the result");
    expect(desktop.calls).toHaveLength(1);
    expect(api.log.some((l) => l.startsWith("ack"))).toBe(false);
  });

  it("enrolls again when the server refuses the saved machine token", async () => {
    const { agent, api } = makeAgent();
    void agent.run();
    await waitFor(() => api.log.includes("report"), "a report");
    api.refuseToken = "dfm_token_1";
    agent.setPaused(false); // wake
    await waitFor(() => api.log.filter((l) => l === "enroll").length === 2, "re-enrollment");
    // The poll that failed is retried with the new token.
    await waitFor(() => api.log.at(-1) === "poll" && api.tokens.at(-1) === "dfm_token_2", "a poll with the new token");
    await waitFor(() => agent.getState().connection === "connected", "connected again");
  });

  it("after enrolling again, the push channel is reopened with the new machine token", async () => {
    const channels: { token: string; closed: boolean }[] = [];
    const { agent, api } = makeAgent({
      push: (_onWake, ctx) => {
        const ch = { token: ctx.machineToken, closed: false };
        channels.push(ch);
        return { close: () => void (ch.closed = true) };
      },
    });
    void agent.run();
    await waitFor(() => channels.length === 1, "the push channel");
    api.refuseToken = "dfm_token_1";
    agent.setPaused(false); // wake
    await waitFor(() => channels.length === 2, "a push channel for the new token");
    expect(channels).toEqual([
      { token: "dfm_token_1", closed: true },
      { token: "dfm_token_2", closed: false },
    ]);
  });

  it("a machine token given as --token is used directly, without enrolling", async () => {
    const { agent, api } = makeAgent({ token: "dfm_given_machine_token" });
    void agent.run();
    await waitFor(() => api.log.includes("poll"), "a poll");
    expect(api.log).not.toContain("enroll");
    expect(api.tokens[0]).toBe("dfm_given_machine_token");
  });

  it("pausing stops metric reports but not action polling", async () => {
    const { agent, api } = makeAgent();
    void agent.run();
    await waitFor(() => api.log.includes("report"), "a report");
    agent.setPaused(true);
    const reports = api.log.filter((l) => l === "report").length;
    api.queue.push([message(ID1)]);
    agent.wake();
    await waitFor(() => api.results.length === 1, "the message result");
    expect(api.log.filter((l) => l === "report").length).toBe(reports);
    expect(agent.getState().paused).toBe(true);
  });

  it("a metrics failure skips that report without marking the agent offline", async () => {
    const { agent, api } = makeAgent({ metrics: () => Promise.reject(new Error("wmi timeout")) });
    void agent.run();
    await waitFor(() => api.log.includes("poll"), "a poll");
    await waitFor(() => agent.getState().connection === "connected", "connected");
    expect(api.log).not.toContain("report");
  });

  it("stop() returns while a dialog is still open; the next start reports that action as interrupted", async () => {
    const desktop = new FakeDesktop();
    desktop.hold = new Promise(() => {}); // the user never answers
    const { agent, api, dataDir } = makeAgent({ desktop });
    api.queue.push([{ ...message(ID1), data: { message: "read me", display: "dialog" } }]);
    void agent.run();
    await waitFor(() => desktop.count("dialog") === 1, "the dialog");
    await agent.stop();
    const next = makeAgent({ dataDir });
    void next.agent.run();
    await waitFor(() => next.api.results.length === 1, "the replayed result");
    expect(next.api.results[0]).toMatchObject({ actionId: ID1, status: "error" });
    expect(next.desktop.calls).toEqual([]);
  });

  it("a reboot whose machine never went down is an error after the restart, not done", async () => {
    const dataDir = tempDataDir();
    const j = new Journal(dataDir);
    j.load();
    // Requested just now, but the machine has been up for 10 s... and the request is newer than the boot.
    j.put({
      actionId: ID1,
      claimToken: "tok",
      type: "reboot",
      data: { countdownSeconds: 60, maxPostpones: 3 },
      state: "rebooting",
      outcome: { userChoice: "accepted", postponements: 0 },
    });
    const { agent, api } = makeAgent({ dataDir });
    void agent.run();
    await waitFor(() => api.results.length === 1, "the result");
    expect(api.results[0]?.status).toBe("error");
    expect(api.results[0]?.result).toMatch(/^the reboot did not happen: the machine has been up since /);
    expect(api.progressed).toEqual([]);
  });

  it("a reboot still waiting for its user when the agent stopped resumes its policy (snoozes kept), never an error", async () => {
    const dataDir = tempDataDir();
    const j = new Journal(dataDir);
    j.load();
    j.put({
      actionId: ID1,
      claimToken: "tok",
      type: "reboot",
      data: { countdownSeconds: 60, maxSnoozes: 2, snoozeOptions: [600] },
      state: "executing",
      reboot: { snoozes: 1, snoozedUntilMs: Date.now() - 1000, finalEndsAtMs: null },
    });
    const desktop = new FakeDesktop();
    desktop.countdownAnswers = ["now"];
    const { agent, api } = makeAgent({ dataDir, desktop });
    void agent.run();
    await waitFor(() => desktop.count("reboot") === 1, "the reboot");
    expect(desktop.calls[0]).toMatchObject({ kind: "countdown", stage: "prompt", snoozesLeft: 1 });
    expect(agent.journalEntries()[0]).toMatchObject({
      state: "rebooting",
      outcome: { userChoice: "accepted", postponements: 1 },
    });
    await waitFor(() => api.progressed.length === 2, "progress");
    expect(api.progressed.map((p) => [p.seq, p.event.kind, p.claimToken])).toEqual([
      [0, "shown", "tok"],
      [1, "restarting", "tok"],
    ]);
    expect(api.results).toEqual([]);
  });

  it("progress events go out in order with their seq; a server without agent.progress is logged once and the result still arrives", async () => {
    const desktop = new FakeDesktop();
    desktop.countdownAnswers = ["snooze", "now"];
    const { agent, api } = makeAgent({ desktop });
    api.queue.push([
      { id: ID1, type: "reboot", data: { maxSnoozes: 2 }, claimToken: "tok-r", createdAt: "", expiresAt: "" },
    ]);
    void agent.run();
    await waitFor(() => desktop.count("reboot") === 1, "the reboot");
    await waitFor(() => api.progressed.length === 4, "four events");
    expect(api.progressed.map((p) => [p.seq, p.event.kind])).toEqual([
      [0, "shown"],
      [1, "snoozed"],
      [2, "shown"],
      [3, "restarting"],
    ]);
    expect(api.progressed[1]!.event).toMatchObject({ n: 1, max: 2 });

    const older = makeAgent();
    older.api.progressMissing = true;
    older.api.queue.push([{ ...message(ID2, "read me"), data: { message: "read me", requireAcknowledgement: true } }]);
    void older.agent.run();
    await waitFor(() => older.api.results.length === 1, "the message result");
    expect(older.api.results[0]).toMatchObject({
      status: "done",
      result: "read by the user at 2026-11-25T12:00:00.000Z",
    });
    expect(older.api.log.filter((l) => l.startsWith("progress"))).toHaveLength(1);
    expect(older.agent.journalEntries()[0]!.outbox).toEqual([]);
  });

  it("sends --labels at enrollment, and the saved machine token when it enrolls again", async () => {
    const dataDir = tempDataDir();
    const first = makeAgent({ dataDir });
    void first.agent.run();
    await waitFor(() => first.api.enrolled.length === 1, "enrollment");
    expect(first.api.enrolled[0]!.currentToken).toBeUndefined();
    await first.agent.stop();
    // Saved state for another server: the agent enrolls there, sending the token it holds for this machine id.
    const state = JSON.parse(fs.readFileSync(path.join(dataDir, "state.json"), "utf8")) as Record<string, string>;
    fs.writeFileSync(path.join(dataDir, "state.json"), JSON.stringify({ ...state, server: "http://old.example" }));
    let api!: FakeApi;
    const agent = new Agent({
      config: agentConfig({ dataDir, token: "dfk_enrollment_key", labels: ["kiosk", "paris"] }),
      desktop: new FakeDesktop(),
      api: (_url, token) => (api = new FakeApi(token)),
      metrics: fixedMetrics,
      identity: fixedIdentity,
      sleep: recordingSleep([]),
    });
    agents.push(agent);
    void agent.run();
    await waitFor(() => api.enrolled.length === 1, "second enrollment");
    expect(api.enrolled[0]).toMatchObject({
      identity: { machineId: "test-machine", labels: ["kiosk", "paris"] },
      currentToken: state.machineToken,
    });
  });

  it("a second agent on the same data folder refuses to start, naming the folder and --data-dir", async () => {
    const dataDir = tempDataDir();
    const first = makeAgent({ dataDir });
    void first.agent.run();
    await waitFor(() => first.api.log.includes("enroll"), "first agent running");
    const second = makeAgent({ dataDir });
    const err = (await second.agent.run().catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^another DashFleet agent \(pid \d+\) is already using the data folder /);
    expect(err.message).toContain(dataDir);
    expect(err.message).toContain("--data-dir");
    await first.agent.stop();
    // Released on stop: a new agent may use the folder.
    const third = makeAgent({ dataDir });
    void third.agent.run();
    await waitFor(() => third.api.log.includes("report") || third.api.log.includes("enroll"), "third agent running");
  });

  it("while a reboot waits (snoozed), the tray offers Restart now and choosing it reboots at once", async () => {
    const desktop = new FakeDesktop();
    desktop.countdownAnswers = [{ kind: "snooze", seconds: 3600 }];
    const { agent, api } = makeAgent({ desktop });
    api.queue.push([
      {
        id: ID1,
        type: "reboot",
        data: { snoozeOptions: [3600], deadlineSeconds: 86_400 },
        claimToken: "tok-r",
        createdAt: "",
        expiresAt: "",
      },
    ]);
    void agent.run();
    await waitFor(() => api.progressed.some((p) => p.event.kind === "snoozed"), "the snooze");
    const pending = agent.getState().pendingRestart;
    expect(pending?.deadlineAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(desktop.count("reboot")).toBe(0);
    agent.restartNow();
    await waitFor(() => desktop.count("reboot") === 1, "the reboot");
    expect(agent.journalEntries()[0]).toMatchObject({
      state: "rebooting",
      outcome: { userChoice: "accepted", postponements: 1 },
    });
    await waitFor(() => api.progressed.some((p) => p.event.kind === "restarting"), "restarting");
    expect(api.progressed.find((p) => p.event.kind === "restarting")?.event).toMatchObject({ choice: "restart-now" });
    expect(agent.getState().pendingRestart).toBeNull();
  });

  it("sends only progress kinds that fit the action type (agent.progress refuses the others)", async () => {
    const ID3 = "33333333-3333-4333-8333-333333333333";
    const desktop = new FakeDesktop();
    desktop.countdownAnswers = ["snooze", "now"];
    const { agent, api } = makeAgent({ desktop });
    api.queue.push([
      message(ID1, "a notification"),
      { ...message(ID2), data: { message: "read me", display: "dialog", requireAcknowledgement: true } },
      { id: ID3, type: "reboot", data: { maxSnoozes: 2 }, claimToken: "tok-r", createdAt: "", expiresAt: "" },
    ]);
    void agent.run();
    await waitFor(() => api.progressed.length === 6, "six events");
    const typeOf = { [ID1]: "message", [ID2]: "message", [ID3]: "reboot" } as Record<string, string>;
    expect(api.progressed.map((p) => [typeOf[p.actionId], p.event.kind])).toEqual([
      ["message", "shown"],
      ["message", "acknowledged"],
      ["reboot", "shown"],
      ["reboot", "snoozed"],
      ["reboot", "shown"],
      ["reboot", "restarting"],
    ]);
    for (const p of api.progressed) expect(progressKindFits(typeOf[p.actionId]!, p.event.kind)).toBe(true);
  });

  it("a faulty executor's misfit kind (a snoozed message) is logged, never sent nor journaled; the rest goes on", async () => {
    const errors: string[] = [];
    const log = { debug() {}, info() {}, warn() {}, error: (m: string) => void errors.push(m) };
    const { agent, api } = makeAgent({
      log,
      executors: {
        ...defaultExecutors,
        message: async (_data, ctx) => {
          ctx.emit({ kind: "snoozed", at: ctx.now().toISOString(), until: ctx.now().toISOString(), n: 1, max: 1 });
          ctx.emit({ kind: "shown", at: ctx.now().toISOString() });
          return { kind: "result", status: "done", result: "shown" };
        },
      },
    });
    api.queue.push([message(ID1)]);
    void agent.run();
    await waitFor(() => api.results.length === 1, "the result");
    await waitFor(() => api.progressed.length === 1, "the fitting event");
    expect(api.progressed.map((p) => [p.seq, p.event.kind])).toEqual([[0, "shown"]]);
    expect(errors).toEqual([`progress ${ID1}: "snoozed" does not fit a message action; not sent`]);
    expect(api.log.filter((l) => l.startsWith("progress"))).toEqual([`progress ${ID1} shown`]);
  });

  it("asks the branding once enrolled, hands it to the windows, and asks again with its etag only when the refresh is due", async () => {
    const PNG_URL = `data:image/png;base64,${fs.readFileSync(path.resolve(import.meta.dirname, "../../tray-agent/assets/tray-connected.png")).toString("base64")}`;
    const { agent, api, desktop, dataDir } = makeAgent();
    api.brandingAnswer = { orgName: "Acme IT", logoDataUrl: PNG_URL, etag: "e1" };
    void agent.run();
    await waitFor(() => desktop.brandings.length === 1, "the branding");
    expect(desktop.brandings).toEqual([{ orgName: "Acme IT", logoDataUrl: PNG_URL }]);
    expect(agent.branding()).toEqual({ orgName: "Acme IT", logoDataUrl: PNG_URL });
    // Asked after enrollment, before the first report.
    expect(api.log.slice(0, 3)).toEqual(["enroll", "branding", "report"]);
    // Several loop turns (wake-ups) later, the 15-minute refresh is not due: asked once.
    for (let i = 0; i < 3; i++) {
      const polls = api.log.filter((l) => l === "poll").length;
      agent.wake();
      await waitFor(() => api.log.filter((l) => l === "poll").length > polls, "a poll");
    }
    expect(api.brandingAsked).toEqual([null]);
    await agent.stop();

    // Next start with a short refresh: the cached branding first, then asks carrying its etag (no logo back).
    const again = makeAgent({ dataDir, brandingRefreshMs: 30 });
    again.api.brandingAnswer = { orgName: "Acme IT", logoDataUrl: PNG_URL, etag: "e1" };
    void again.agent.run();
    await waitFor(() => again.api.brandingAsked.length >= 3, "three asks");
    expect(new Set(again.api.brandingAsked)).toEqual(new Set(["e1"]));
    expect(again.desktop.brandings).toEqual([{ orgName: "Acme IT", logoDataUrl: PNG_URL }]);
  });

  it("restarted while the server is down: the windows get the cached branding at once", async () => {
    const dataDir = tempDataDir();
    const first = makeAgent({ dataDir });
    first.api.brandingAnswer = { orgName: "Cached Org", supportText: "Call 4242", etag: "e9" };
    void first.agent.run();
    await waitFor(() => first.desktop.brandings.length === 1, "the branding");
    await first.agent.stop();
    expect(fs.statSync(path.join(dataDir, "branding.json")).mode & 0o777).toBe(0o600);

    const desktop = new FakeDesktop();
    const second = makeAgent({ dataDir, desktop });
    second.api.down = true;
    void second.agent.run();
    await waitFor(() => second.agent.getState().connection === "offline", "offline");
    expect(desktop.brandings).toEqual([{ orgName: "Cached Org", supportText: "Call 4242" }]);
  });
});

// The real headless agent killed with SIGKILL at the dangerous moments, then started again on the same
// data directory: after running an action but before its result reached the server; after the server
// recorded its ack but before the agent heard back; while the action was running. Each time the
// outcome is reported exactly once and the action never runs twice. A fault proxy between agent and
// server holds back the chosen calls; a fake notify-send records every message actually shown.
// Every wait follows an event (a journal state, a status, polls seen by the proxy), never a time:
// the agents are `node --import tsx` processes, slow to start on a busy machine.
// Also: shell metacharacters in a message are shown verbatim and never run, and actions outside the
// shared schemas are reported as errors without running.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeNotifySend, journalEntry, shown, spawnAgent, waitFor, type AgentProcess } from "../helpers/agent-proc.ts";
import { recordFigures } from "../helpers/fleet-sim.ts";
import { startProxy, type FaultProxy } from "../helpers/proxy.ts";
import { startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let org: TestOrg;
let proxy: FaultProxy;
const dirs: string[] = [];
const running: AgentProcess[] = [];
const figures = { agentKills: 0, actionsChecked: 0, executedTwice: 0, reportedTwice: 0 };
/** Bound of a wait that includes a headless agent starting on a busy machine (a failure, not a speed). */
const AGENT_WAIT_MS = 90_000;

/** Counts what the assertions below then require to be zero, so the figures are measured, not assumed. */
async function tally(id: string, shownCount: number, finalStatus: string): Promise<void> {
  figures.actionsChecked += 1;
  if (shownCount > 1) figures.executedTwice += 1;
  if ((await eventCount(id, finalStatus)) > 1) figures.reportedTwice += 1;
}

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-agentkill-"));
  dirs.push(d);
  return d;
}

function agent(machineId: string, dataDir: string, bin: string): AgentProcess {
  const a = spawnAgent({ server: proxy.url, token: org.agentKey, machineId, dataDir, bin });
  running.push(a);
  return a;
}

async function statusOf(id: string): Promise<string> {
  return (await server.client(org.adminKey).actions.get.query({ id })).status;
}

async function eventCount(id: string, status: string): Promise<number> {
  return server.deps.db.actionEvent.count({ where: { actionId: id, status } });
}

async function queueMessage(machineId: string, message: string): Promise<string> {
  const { id } = await server
    .client(org.adminKey)
    .actions.queue.mutate({ machineId, type: "message", data: { message, title: "Kill test" } });
  return id;
}

/** Waits for the machine to exist (the agent enrolls itself with the agent key). */
async function enrolled(machineId: string): Promise<void> {
  await waitFor(
    `${machineId} to enroll`,
    () => server.deps.db.machine.findFirst({ where: { orgId: org.orgId, machineId }, select: { id: true } }),
    AGENT_WAIT_MS,
  );
}

/**
 * Waits until the agent has polled `n` more times (as seen by the proxy; one agent runs at a time):
 * polls in which an action already run must not run again. Counted, not slept: a busy machine may
 * poll once in the 3 s the test used to wait, or not at all.
 */
async function morePolls(n = 3): Promise<void> {
  const from = proxy.log.length;
  await waitFor(
    `${n} more polls`,
    () => proxy.log.slice(from).filter((r) => r.path.startsWith("agent.pendingActions")).length >= n,
    AGENT_WAIT_MS,
  );
}

/**
 * A fake notify-send that records the message, then stops the agent that runs it (SIGSTOP to its
 * parent) while the message is "on screen": the test kills it there whenever it looks, where a slow
 * notify-send (6 s) gave a busy machine only those 6 s to see the message and kill the agent.
 */
function freezingNotifySend(dir: string): { bin: string; shownFile: string } {
  const made = fakeNotifySend(dir);
  fs.writeFileSync(
    path.join(made.bin, "notify-send"),
    `#!${process.execPath}\n` +
      `require("node:fs").appendFileSync(${JSON.stringify(made.shownFile)}, JSON.stringify(process.argv.slice(2)) + "\\n");\n` +
      `process.kill(process.ppid, "SIGSTOP");\n`,
  );
  return made;
}

beforeAll(async () => {
  server = await startTestServer();
  org = await server.createOrg("Agent Kill Org");
  proxy = await startProxy(server.url);
}, 180_000);

afterAll(async () => {
  await Promise.all(running.map((a) => a.kill()));
  await proxy?.close();
  await server?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  recordFigures("agent-kill", figures);
});

describe("agent killed with SIGKILL at the dangerous moments", () => {
  it("killed after running an action, before the result reached the server: reported once after restart, not run again", async () => {
    const dir = tempDir();
    const { bin, shownFile } = fakeNotifySend(dir);
    const dataDir = path.join(dir, "data");
    proxy.rule = (p) => (p.startsWith("agent.reportResult") ? "refuse" : "pass");
    let a = agent("kill-after-run", dataDir, bin);
    await enrolled("kill-after-run");
    const pwned = path.join(dir, "pwned");
    const message = `Save your work $(touch ${pwned}) \`touch ${pwned}2\`; touch ${pwned}3 && rm -rf ~ | cat /etc/passwd > ${pwned}4 <b>"x"</b> 'y' \\n %s`;
    const id = await queueMessage("kill-after-run", message);
    await waitFor("the result in the journal", () => journalEntry(dataDir, id)?.state === "result", AGENT_WAIT_MS);
    await a.kill();
    figures.agentKills += 1;
    expect(await statusOf(id)).toBe("executing");
    expect(shown(shownFile)).toHaveLength(1);

    proxy.rule = () => "pass";
    a = agent("kill-after-run", dataDir, bin);
    await waitFor("the result on the server", async () => (await statusOf(id)) === "done", AGENT_WAIT_MS);
    await morePolls(); // nothing runs again
    await a.stop();
    await tally(id, shown(shownFile).length, "done");
    expect(shown(shownFile)).toHaveLength(1);
    expect(await eventCount(id, "done")).toBe(1);
    expect(await eventCount(id, "delivered")).toBe(1);
    // Shell metacharacters: shown verbatim, as one argument, and never run.
    expect(shown(shownFile)[0]!.at(-1)).toBe(message);
    for (const f of ["", "2", "3", "4"]) expect(fs.existsSync(`${pwned}${f}`)).toBe(false);
  }, 240_000);

  it("killed after the server recorded its ack but before the agent heard back: runs once after restart, reported once", async () => {
    const dir = tempDir();
    const { bin, shownFile } = fakeNotifySend(dir);
    const dataDir = path.join(dir, "data");
    proxy.rule = (p) => (p.startsWith("agent.ack") ? "lose-answer" : "pass");
    let a = agent("kill-after-ack", dataDir, bin);
    await enrolled("kill-after-ack");
    const id = await queueMessage("kill-after-ack", "acked, then the agent died");
    await waitFor("the ack on the server", async () => (await statusOf(id)) === "executing", AGENT_WAIT_MS);
    await waitFor(
      "the agent to have it journaled",
      () => journalEntry(dataDir, id)?.state === "received",
      AGENT_WAIT_MS,
    );
    await a.kill();
    figures.agentKills += 1;
    expect(shown(shownFile)).toHaveLength(0);

    proxy.rule = () => "pass";
    a = agent("kill-after-ack", dataDir, bin);
    await waitFor("the result on the server", async () => (await statusOf(id)) === "done", AGENT_WAIT_MS);
    await morePolls();
    await a.stop();
    await tally(id, shown(shownFile).length, "done");
    expect(shown(shownFile)).toHaveLength(1);
    expect(await eventCount(id, "executing")).toBe(1);
    expect(await eventCount(id, "done")).toBe(1);
  }, 240_000);

  it("killed while the action runs: reported once as not completed, and not run again", async () => {
    const dir = tempDir();
    const { bin, shownFile } = freezingNotifySend(dir);
    const dataDir = path.join(dir, "data");
    proxy.rule = () => "pass";
    let a = agent("kill-while-running", dataDir, bin);
    await enrolled("kill-while-running");
    const id = await queueMessage("kill-while-running", "on screen when the agent dies");
    await waitFor(
      "the message on screen",
      () => shown(shownFile).length === 1 && journalEntry(dataDir, id)?.state === "executing",
      AGENT_WAIT_MS,
    );
    await a.kill();
    figures.agentKills += 1;

    a = agent("kill-while-running", dataDir, bin);
    const final = await waitFor(
      "the outcome on the server",
      async () => {
        const s = await statusOf(id);
        return s === "done" || s === "error" ? s : null;
      },
      AGENT_WAIT_MS,
    );
    await morePolls();
    await a.stop();
    await tally(id, shown(shownFile).length, "error");
    expect(final).toBe("error");
    const view = await server.client(org.adminKey).actions.get.query({ id });
    expect(view.result).toMatch(/not run again/);
    expect(shown(shownFile)).toHaveLength(1);
    expect(await eventCount(id, "error")).toBe(1);
  }, 240_000);
});

describe("the agent runs only what the shared schemas allow", () => {
  it("reports an unknown action type and a message with extra fields as errors, without running either", async () => {
    const dir = tempDir();
    const { bin, shownFile } = fakeNotifySend(dir);
    const dataDir = path.join(dir, "data");
    proxy.rule = () => "pass";
    const a = agent("schema-check", dataDir, bin);
    await enrolled("schema-check");
    const machine = await server.deps.db.machine.findFirstOrThrow({
      where: { orgId: org.orgId, machineId: "schema-check" },
      select: { id: true },
    });
    // A server that is newer, buggy or compromised hands out what the contract does not allow.
    const pwned = path.join(dir, "pwned");
    const rows = [
      { type: "shell", payload: JSON.stringify({ cmd: `touch ${pwned}` }) },
      { type: "message", payload: JSON.stringify({ message: "hi", command: `touch ${pwned}` }) },
      { type: "reboot", payload: JSON.stringify({ countdownSeconds: -5, now: true }) },
    ];
    const now = new Date();
    const ids: string[] = [];
    for (const r of rows) {
      const id = crypto.randomUUID();
      ids.push(id);
      await server.deps.db.action.create({
        data: {
          id,
          seq: (await server.deps.services.dispatch.takeSeqs(1))[0]!,
          orgId: org.orgId,
          machineRef: machine.id,
          type: r.type,
          payload: r.payload,
          createdBy: "test:hostile-server",
          createdAt: now,
          expiresAt: new Date(now.getTime() + 3600_000),
        },
        select: { id: true },
      });
    }
    server.deps.services.dispatch.workAvailable(machine.id);
    for (const id of ids)
      await waitFor(`the outcome of ${id}`, async () => (await statusOf(id)) === "error", AGENT_WAIT_MS);
    await a.stop();
    const results = await Promise.all(ids.map((id) => server.client(org.adminKey).actions.get.query({ id })));
    expect(results[0]!.result).toMatch(/unsupported action "shell": not run/);
    expect(results[1]!.result).toMatch(/invalid message action, not run/);
    expect(results[2]!.result).toMatch(/invalid reboot action, not run/);
    expect(shown(shownFile)).toHaveLength(0);
    expect(fs.existsSync(pwned)).toBe(false);
  }, 240_000);
});

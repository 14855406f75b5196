// The headless agent as a real process against the real server: it shows up in fleet.list with
// metrics and answers a message (through notify-send, argv intact); killed with SIGKILL in the middle
// of a reboot countdown and started again, it reports the action once and never runs it again.
// notify-send, systemctl and shutdown are fakes on PATH that only record their argv.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDataDir, waitFor } from "../helpers/agent.ts";
import { spawnTsx, type NodeChild } from "../helpers/child.ts";
import { startTestServer, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";

let server: TestServer;
let org: TestOrg;
let admin: TRPCClient;
let fakeBin: string;
let recordFile: string;
const children: NodeChild[] = [];

beforeAll(async () => {
  server = await startTestServer({ env: { DASHFLEET_AGENT_PER_MINUTE: "100000" } });
  org = await server.createOrg();
  admin = server.client(org.adminKey);
  fakeBin = tempDataDir();
  recordFile = path.join(fakeBin, "calls.jsonl");
  for (const name of ["notify-send", "systemctl", "shutdown"]) {
    const file = path.join(fakeBin, name);
    fs.writeFileSync(
      file,
      `#!${process.execPath}\nrequire("node:fs").appendFileSync(${JSON.stringify(recordFile)}, JSON.stringify([${JSON.stringify(name)}, ...process.argv.slice(2)]) + "\\n");\n`,
      { mode: 0o755 },
    );
  }
});

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill()));
  await server.stop();
});

function recorded(): string[][] {
  if (!fs.existsSync(recordFile)) return [];
  return fs
    .readFileSync(recordFile, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[]);
}

/** `npm run agent -- …` with the fake commands first on PATH (killed after the file if still running). */
function startHeadless(args: string[], dataDir: string): NodeChild {
  const agent = spawnTsx("tray-agent/src/headless.ts", [...args, "--data-dir", dataDir], { pathFirst: fakeBin });
  children.push(agent);
  return agent;
}

/** The agent flags for `machineId` (report every `interval` s, poll every `poll` s). */
function agentArgs(machineId: string, { interval = 5, poll = 1, allowReboot = false } = {}): string[] {
  return [
    "--server",
    server.url,
    "--token",
    org.agentKey,
    "--machine-id",
    machineId,
    "--interval",
    String(interval),
    "--poll-interval",
    String(poll),
    ...(allowReboot ? ["--allow-reboot"] : []),
  ];
}

/** Waits until the machine has enrolled (it is listed in fleet.list). */
async function enrolled(machineId: string): Promise<void> {
  await waitFor(
    async () => (await admin.fleet.list.query({})).machines.some((x) => x.machineId === machineId),
    "enrollment",
    30_000,
  );
}

/** Waits until action `id` has the final `status`; returns it with its events. */
async function finished(id: string, status: "done" | "error", what: string) {
  return waitFor(async () => {
    const x = await admin.actions.get.query({ id });
    return x.status === status ? x : null;
  }, what);
}

/** Starts an agent with --allow-reboot on a new data dir, waits for it to enroll, and queues a reboot. */
async function rebootOnNewAgent(machineId: string, data: { countdownSeconds: number; maxPostpones: number }) {
  const dataDir = tempDataDir();
  const args = agentArgs(machineId, { allowReboot: true });
  const first = startHeadless(args, dataDir);
  await enrolled(machineId);
  const { id } = await admin.actions.queue.mutate({ machineId, type: "reboot", data });
  return { dataDir, args, first, id };
}

describe("headless agent (npm run agent)", () => {
  it("appears in fleet.list with metrics and answers a message action, passing the text to notify-send as one argument", async () => {
    const machineId = "headless-e2e-1";
    const agent = startHeadless(agentArgs(machineId, { interval: 1, poll: 2 }), tempDataDir());
    try {
      const m = await waitFor(
        async () => {
          const { machines } = await admin.fleet.list.query({});
          return machines.find((x) => x.machineId === machineId && x.metrics !== null);
        },
        `the machine in fleet.list (agent output: ${agent.output()})`,
        30_000,
      );
      expect(m.online).toBe(true);
      expect(m.agentVersion).toBe("0.1.0");
      expect(m.metrics).toBeTruthy();

      const text = `Quote " and ' ; $(touch /tmp/pwned) \`id\` && echo hi\nline two`;
      const { id } = await admin.actions.queue.mutate({
        machineId,
        type: "message",
        data: { message: text, title: "-t 1 Title" },
      });
      const a = await finished(id, "done", "the message result");
      expect(a.result).toBe("notification logged (no desktop)");
      expect(recorded()).toContainEqual(["notify-send", "--app-name=DashFleet", "--", "-t 1 Title", text]);
    } finally {
      await agent.stop();
    }
  });

  it("refuses a reboot without --allow-reboot and says so", async () => {
    const machineId = "headless-noreboot";
    const agent = startHeadless(agentArgs(machineId), tempDataDir());
    try {
      await enrolled(machineId);
      const { id } = await admin.actions.queue.mutate({ machineId, type: "reboot", data: {} });
      const a = await finished(id, "error", "the refusal");
      expect(a.result).toContain("--allow-reboot");
      expect(a.outcome).toEqual({ userChoice: "not-asked" });
      expect(recorded().filter((c) => c[0] === "systemctl" || c[0] === "shutdown")).toEqual([]);
    } finally {
      await agent.stop();
    }
  });

  it("killed with SIGKILL during a reboot countdown, then restarted: reports the action once and never reboots", async () => {
    const { dataDir, args, first, id } = await rebootOnNewAgent("headless-kill-1", {
      countdownSeconds: 60,
      maxPostpones: 0,
    });
    const journalFile = path.join(dataDir, "journal", `${id}.json`);
    await waitFor(
      () =>
        fs.existsSync(journalFile) &&
        (JSON.parse(fs.readFileSync(journalFile, "utf8")) as { state: string }).state === "executing",
      "the countdown (journal: executing)",
    );
    expect((await admin.actions.get.query({ id })).status).toBe("executing");
    await first.kill();

    const second = startHeadless(args, dataDir);
    try {
      const a = await finished(id, "error", "the replayed result");
      expect(a.result).toBe("agent stopped while running the action; not run again");
      expect(a.events.filter((e) => e.status === "error" || e.status === "done")).toHaveLength(1);
      await waitFor(
        () => (JSON.parse(fs.readFileSync(journalFile, "utf8")) as { state: string }).state === "reported",
        "journal reported",
      );
      // The action is over: the new process neither counts down nor reboots.
      expect(second.output()).not.toContain("rebooting in");
      expect(recorded().filter((c) => c[0] === "systemctl" || c[0] === "shutdown")).toEqual([]);
    } finally {
      await second.stop();
    }
  });

  it("with --allow-reboot: counts down, runs the platform's reboot command by argv, and after the reboot reports done", async () => {
    const { dataDir, args, first, id } = await rebootOnNewAgent("headless-reboot-1", {
      countdownSeconds: 10,
      maxPostpones: 3,
    });
    await waitFor(() => recorded().some((c) => c[0] === "systemctl"), "the reboot command", 30_000);
    expect(recorded().filter((c) => c[0] === "systemctl")).toEqual([["systemctl", "reboot"]]);
    expect(first.output()).toContain("rebooting in 10 s");
    // Not reported before the machine goes down; the "reboot" is the agent stopping.
    expect((await admin.actions.get.query({ id })).status).toBe("executing");
    await first.kill();
    const second = startHeadless(args, dataDir);
    try {
      const a = await finished(id, "done", "the result after the reboot");
      expect(a.outcome).toEqual({ userChoice: "not-asked", postponements: 0 });
      expect(recorded().filter((c) => c[0] === "systemctl")).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });

  it("restart re-executes the process, and the new process reports the restart done", async () => {
    const machineId = "headless-restart-1";
    const dataDir = tempDataDir();
    const first = startHeadless(agentArgs(machineId), dataDir);
    await enrolled(machineId);
    const firstPid = first.child.pid!;
    const { id } = await admin.actions.queue.mutate({ machineId, type: "restart", data: {} });
    await waitFor(() => first.child.exitCode !== null, "the first process to exit");
    expect(first.child.exitCode).toBe(0);
    const pidFile = path.join(dataDir, "agent.pid");
    const newPid = Number(
      await waitFor(
        () =>
          fs.existsSync(pidFile) &&
          fs.readFileSync(pidFile, "utf8").trim() !== String(firstPid) &&
          fs.readFileSync(pidFile, "utf8").trim(),
        "the new process",
      ),
    );
    try {
      const a = await finished(id, "done", "the restart result");
      expect(a).toMatchObject({ result: "agent restarted", outcome: { userChoice: "not-asked" } });
      expect(newPid).not.toBe(firstPid);
      expect(a.events.filter((e) => e.status === "done")).toHaveLength(1);
    } finally {
      process.kill(newPid, "SIGTERM");
    }
  });
});

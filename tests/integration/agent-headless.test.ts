// The headless agent as a real process against the real server: it shows up in fleet.list with
// metrics and answers a message (through notify-send, argv intact); killed with SIGKILL in the middle
// of a reboot countdown and started again, it reports the action once and never runs it again; it
// logs the organisation's branding it uses once.
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
  // `who` (what systeminformation asks for the signed-in users) lists one user while signed-in exists.
  fs.writeFileSync(
    path.join(fakeBin, "who"),
    `#!/bin/sh\n[ -e ${JSON.stringify(path.join(fakeBin, "signed-in"))} ] && echo "alice    pts/0        2026-11-25 09:00 (10.0.0.5)"\nexit 0\n`,
    { mode: 0o755 },
  );
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

/** The reboot commands run so far (all tests of this file). */
const rebootCalls = () => recorded().filter((c) => c[0] === "systemctl" || c[0] === "shutdown");

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
    90_000,
  );
}

/** Waits until action `id` has the final `status`; returns it with its events. */
async function finished(id: string, status: "done" | "error", what: string) {
  return waitFor(async () => {
    const x = await admin.actions.get.query({ id });
    return x.status === status ? x : null;
  }, what);
}

/**
 * Waits until a child's output holds `text`. The output is read from a pipe: a line the child wrote
 * before the effect a test waited for (a command run, its exit) can still be unread at that moment.
 */
const logged = (child: NodeChild, text: string) => waitFor(() => child.output().includes(text), `"${text}" in the log`);

/** Starts an agent with --allow-reboot on a new data dir, waits for it to enroll, and queues a reboot. */
async function rebootOnNewAgent(machineId: string, data: { countdownSeconds: number; maxPostpones: number }) {
  fs.writeFileSync(path.join(fakeBin, "signed-in"), "");
  const dataDir = tempDataDir();
  const args = agentArgs(machineId, { allowReboot: true });
  const first = startHeadless(args, dataDir);
  await enrolled(machineId);
  const { id } = await admin.actions.queue.mutate({ machineId, type: "reboot", data });
  return { dataDir, args, first, id };
}

// Agents (and here a server) as child processes: on a loaded two-core machine one took over 30 s to
// enroll and the whole test over 60 s, so the waits and the tests get more room.
describe("headless agent (npm run agent)", { timeout: 180_000 }, () => {
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
        90_000,
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

  it("killed with SIGKILL during the reboot's final countdown, then restarted: resumes the policy and reboots once", async () => {
    const { dataDir, args, first, id } = await rebootOnNewAgent("headless-kill-1", {
      countdownSeconds: 10,
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
    expect(recorded().filter((c) => c[0] === "systemctl")).toEqual([]);

    const second = startHeadless(args, dataDir);
    try {
      await waitFor(() => recorded().some((c) => c[0] === "systemctl"), "the reboot after the restart", 30_000);
      await logged(second, "resuming the reboot policy");
      expect(recorded().filter((c) => c[0] === "systemctl")).toEqual([["systemctl", "reboot"]]);
      // Done is held until the machine comes back; it never went down here.
      expect((await admin.actions.get.query({ id })).status).toBe("executing");
    } finally {
      await second.kill();
    }
  });

  it("with --allow-reboot and a user signed in: logs each stage, reboots by argv; a reboot that never happened ends in error", async () => {
    const { dataDir, args, first, id } = await rebootOnNewAgent("headless-reboot-1", {
      countdownSeconds: 10,
      maxPostpones: 3,
    });
    const before = rebootCalls().length;
    await waitFor(() => rebootCalls().length > before, "the reboot command", 30_000);
    expect(rebootCalls().slice(before)).toEqual([["systemctl", "reboot"]]);
    await logged(first, "reboot prompt: rebooting in 10 s");
    await logged(first, "reboot: restarting the machine (countdown-elapsed)");
    const during = await waitFor(async () => {
      const a = await admin.actions.get.query({ id });
      return a.events.some((e) => e.kind === "restarting") ? a : null;
    }, "the progress on the timeline");
    expect(during.status).toBe("executing");
    expect(during.events.map((e) => e.kind).filter((k) => k === "shown" || k === "restarting")).toEqual([
      "shown",
      "restarting",
    ]);
    await first.kill();
    // The "reboot" was the agent stopping: this host has been up all along.
    const second = startHeadless(args, dataDir);
    try {
      const a = await finished(id, "error", "the result after the restart");
      expect(a.result).toMatch(/^the reboot did not happen: the machine has been up since /);
      expect(rebootCalls()).toHaveLength(before + 1);
    } finally {
      await second.stop();
    }
  });

  it("with --allow-reboot and nobody signed in: the policy's default reboots at once, without a countdown", async () => {
    fs.rmSync(path.join(fakeBin, "signed-in"), { force: true });
    const machineId = "headless-nouser-1";
    const agent = startHeadless(agentArgs(machineId, { allowReboot: true }), tempDataDir());
    try {
      await enrolled(machineId);
      const before = recorded().filter((c) => c[0] === "systemctl").length;
      await admin.actions.queue.mutate({ machineId, type: "reboot", data: { countdownSeconds: 600 } });
      await waitFor(() => recorded().filter((c) => c[0] === "systemctl").length > before, "the reboot command", 20_000);
      await logged(agent, "reboot: restarting the machine (no-user)");
      expect(agent.output()).not.toContain("rebooting in 600 s");
    } finally {
      await agent.stop();
    }
  });

  it("a second agent on the same data folder refuses to start, naming the folder and --data-dir", async () => {
    const dataDir = tempDataDir();
    const first = startHeadless(agentArgs("headless-lock-1"), dataDir);
    try {
      await enrolled("headless-lock-1");
      const second = startHeadless(agentArgs("headless-lock-2"), dataDir);
      await waitFor(() => second.child.exitCode !== null, "the second agent to exit");
      expect(second.child.exitCode).toBe(2);
      // 'exit' can come before the last of its output is read from the pipe.
      await logged(second, `is already using the data folder ${dataDir}`);
      await logged(second, "--data-dir");
    } finally {
      await first.stop();
    }
  });

  it("writes its data folder 0700 and its config, state, journal and pid files 0600", async () => {
    const dataDir = tempDataDir();
    fs.chmodSync(dataDir, 0o755); // an existing folder that was too open
    const agent = startHeadless(agentArgs("headless-modes-1"), dataDir);
    try {
      await enrolled("headless-modes-1");
      await waitFor(() => fs.existsSync(path.join(dataDir, "state.json")), "state.json");
      const mode = (p: string) => (fs.statSync(path.join(dataDir, p)).mode & 0o777).toString(8);
      expect(mode(".")).toBe("700");
      expect(mode("journal")).toBe("700");
      expect(mode("state.json")).toBe("600");
      expect(mode("agent.pid")).toBe("600");
      expect(mode("agent.lock")).toBe("600");
      expect(mode("agent.log")).toBe("600");
      // The organisation's branding, asked once enrolled: cached owner-only and logged once.
      await waitFor(() => fs.existsSync(path.join(dataDir, "branding.json")), "branding.json");
      expect(mode("branding.json")).toBe("600");
      // The log line may reach the file after branding.json (race seen in CI): wait for it, then count.
      const readLog = () => fs.readFileSync(path.join(dataDir, "agent.log"), "utf8");
      await waitFor(() => readLog().includes("branding from the server"), "the branding log line");
      expect(readLog().match(/branding from the server: "Org \d+", no support text, no logo/g)).toHaveLength(1);
    } finally {
      await agent.stop();
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

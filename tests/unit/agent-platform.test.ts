// Platform commands by argument array: reboot argv per platform with fallback, notify-send argv, and
// proof through a real execFile that a message with shell syntax arrives verbatim. Plus the headless
// desktop and the reboot confirmation policy.
import { describe, expect, it } from "vitest";
import { runReboot, runRestart, type ExecContext } from "../../tray-agent/src/core/executors.ts";
import { HeadlessDesktop } from "../../tray-agent/src/core/headlessDesktop.ts";
import { silentLogger } from "../../tray-agent/src/core/log.ts";
import {
  execArgv,
  MAC_RESTART_SCRIPT,
  notifySendArgv,
  rebootCommands,
  rebootMachine,
  type Argv,
} from "../../tray-agent/src/core/platform.ts";
import { FakeDesktop } from "../helpers/agent.ts";

const NASTY = `"quoted" 'single' $(rm -rf /) \`reboot\` ; & | > out\nsecond line -- --help`;

describe("platform commands", () => {
  it("reboot argv per platform", () => {
    expect(rebootCommands("win32")).toEqual([["shutdown", "/r", "/t", "5"]]);
    expect(rebootCommands("linux")).toEqual([
      ["systemctl", "reboot"],
      ["shutdown", "-r", "+1"],
    ]);
    expect(rebootCommands("darwin")).toEqual([["osascript", "-e", 'tell application "System Events" to restart']]);
    expect(MAC_RESTART_SCRIPT).toBe('tell application "System Events" to restart');
  });

  it("linux falls back to shutdown -r +1 when systemctl fails, and reports every failure if all fail", async () => {
    const tried: Argv[] = [];
    const ok = await rebootMachine(async (argv) => {
      tried.push(argv);
      if (argv[0] === "systemctl") throw Object.assign(new Error("exit 1"), { stderr: "Access denied" });
      return { stdout: "", stderr: "" };
    }, "linux");
    expect(ok).toEqual(["shutdown", "-r", "+1"]);
    expect(tried.map((a) => a[0])).toEqual(["systemctl", "shutdown"]);
    await expect(rebootMachine(async () => Promise.reject(new Error("nope")), "linux")).rejects.toThrow(
      /systemctl reboot: nope; shutdown -r \+1: nope/,
    );
  });

  it("notify-send gets the title and text as single arguments after --", () => {
    expect(notifySendArgv("-t 0", NASTY)).toEqual(["notify-send", "--app-name=DashFleet", "--", "-t 0", NASTY]);
  });

  it("execFile passes a message with shell syntax through verbatim (no shell involved)", async () => {
    const { stdout } = await execArgv([
      process.execPath,
      "-e",
      "process.stdout.write(JSON.stringify(process.argv.slice(1)))",
      NASTY,
      "$HOME",
    ]);
    expect(JSON.parse(stdout)).toEqual([NASTY, "$HOME"]);
  });
});

describe("headless desktop", () => {
  it("sends messages to notify-send by argv, and logs them when notify-send is absent", async () => {
    const calls: Argv[] = [];
    const d = new HeadlessDesktop({
      log: silentLogger,
      sleep: async () => {},
      notifySend: "/usr/bin/notify-send",
      exec: async (a) => (calls.push(a), { stdout: "", stderr: "" }),
    });
    await d.notify({ actionId: "a", title: "T", message: NASTY });
    expect(calls).toEqual([["/usr/bin/notify-send", "--app-name=DashFleet", "--", "T", NASTY]]);
    const none = new HeadlessDesktop({
      log: silentLogger,
      sleep: async () => {},
      notifySend: null,
      exec: async () => Promise.reject(new Error("must not run")),
    });
    await expect(none.notify({ actionId: "a", title: "T", message: "m" })).resolves.toBeUndefined();
  });

  it("restart re-executes the process, then exits", async () => {
    const events: string[] = [];
    const d = new HeadlessDesktop({
      log: silentLogger,
      sleep: async () => {},
      notifySend: null,
      respawn: () => events.push("respawn"),
      exit: (c) => events.push(`exit ${c}`),
    });
    await d.relaunch();
    expect(events).toEqual(["respawn", "exit 0"]);
  });

  it("a reboot countdown waits its seconds in the log, then proceeds", async () => {
    const slept: number[] = [];
    const d = new HeadlessDesktop({ log: silentLogger, sleep: async (ms) => void slept.push(ms), notifySend: null });
    expect(await d.confirmWithCountdown({ title: "t", message: "m", seconds: 30, postponesLeft: 0 })).toBe("elapsed");
    expect(slept).toEqual([30_000]);
  });
});

function ctx(desktop: FakeDesktop | HeadlessDesktop, allowReboot = false, slept: number[] = []): ExecContext {
  return {
    actionId: "a",
    desktop,
    log: silentLogger,
    sleep: async (ms) => void slept.push(ms),
    allowReboot,
    postponeSeconds: 600,
    signal: new AbortController().signal,
  };
}

describe("confirmation policy", () => {
  it("reboot: each postponement waits postponeSeconds before the countdown returns with one fewer left", async () => {
    const desktop = new FakeDesktop();
    desktop.countdownAnswers = ["postpone", "postpone", "elapsed"];
    const slept: number[] = [];
    const out = await runReboot({ countdownSeconds: 60, maxPostpones: 2 }, ctx(desktop, false, slept));
    expect(out).toEqual({ kind: "reboot", outcome: { userChoice: "postponed-max", postponements: 2 } });
    expect(slept).toEqual([600_000, 600_000]);
    expect(desktop.calls.map((c) => (c as { postponesLeft?: number }).postponesLeft)).toEqual([2, 1, 0]);
  });

  it("reboot: the countdown running out before any postponement → countdown-elapsed; 'Now' → accepted", async () => {
    const a = new FakeDesktop();
    a.countdownAnswers = ["elapsed"];
    expect(await runReboot({ countdownSeconds: 60, maxPostpones: 3 }, ctx(a))).toEqual({
      kind: "reboot",
      outcome: { userChoice: "countdown-elapsed", postponements: 0 },
    });
    const b = new FakeDesktop();
    b.countdownAnswers = ["postpone", "now"];
    expect(await runReboot({ countdownSeconds: 60, maxPostpones: 3 }, ctx(b))).toEqual({
      kind: "reboot",
      outcome: { userChoice: "accepted", postponements: 1 },
    });
  });

  it("reboot: a postpone answer with none left cannot delay it further", async () => {
    const d = new FakeDesktop();
    d.countdownAnswers = ["postpone"];
    expect(await runReboot({ countdownSeconds: 60, maxPostpones: 0 }, ctx(d))).toMatchObject({ kind: "reboot" });
  });

  it("headless: reboot refused without --allow-reboot, allowed with it (not-asked); restart not asked", async () => {
    const h = new HeadlessDesktop({ log: silentLogger, sleep: async () => {}, notifySend: null });
    expect(await runReboot({ countdownSeconds: 60, maxPostpones: 3 }, ctx(h, false))).toMatchObject({
      kind: "result",
      status: "error",
      outcome: { userChoice: "not-asked" },
    });
    expect(await runReboot({ countdownSeconds: 60, maxPostpones: 3 }, ctx(h, true))).toEqual({
      kind: "reboot",
      outcome: { userChoice: "not-asked", postponements: 0 },
    });
    expect(await runRestart({}, ctx(h))).toEqual({ kind: "relaunch", outcome: { userChoice: "not-asked" } });
  });
});

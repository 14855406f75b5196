// Platform commands by argument array: reboot argv per platform with fallback, notify-send argv, and
// proof through a real execFile that a message with shell syntax arrives verbatim. Plus the headless
// desktop and the reboot confirmation policy.
import { describe, expect, it } from "vitest";
import type { ProgressEvent } from "../../server/contract/index.ts";
import { runMessage, runReboot, runRestart, type ExecContext } from "../../tray-agent/src/core/executors.ts";
import { createTranslator } from "../../tray-agent/src/core/i18n/index.ts";
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
    await d.notify({ actionId: "a", title: "T", message: NASTY, urgency: "info", requireAcknowledgement: false });
    expect(calls).toEqual([["/usr/bin/notify-send", "--app-name=DashFleet", "--", "T", NASTY]]);
    const none = new HeadlessDesktop({
      log: silentLogger,
      sleep: async () => {},
      notifySend: null,
      exec: async () => Promise.reject(new Error("must not run")),
    });
    await expect(
      none.notify({ actionId: "a", title: "T", message: "m", urgency: "warning", requireAcknowledgement: false }),
    ).resolves.toBeUndefined();
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

  it("a reboot prompt waits its seconds in the log, then runs out (nobody can snooze)", async () => {
    const slept: number[] = [];
    const d = new HeadlessDesktop({ log: silentLogger, sleep: async (ms) => void slept.push(ms), notifySend: null });
    const r = {
      stage: "prompt" as const,
      seconds: 30,
      snoozeOptions: [600],
      snoozesLeft: 3,
      maxSnoozes: 3,
      deadlineAt: null,
      insistence: "normal" as const,
    };
    expect(await d.rebootPrompt(r)).toEqual({ kind: "elapsed" });
    expect(slept).toEqual([30_000]);
  });

  it("someone is signed in when the OS lists a session", async () => {
    const yes = new HeadlessDesktop({
      log: silentLogger,
      sleep: async () => {},
      notifySend: null,
      userSignedIn: async () => true,
    });
    expect(await yes.userSignedIn()).toBe(true);
    // The default asks the OS (systeminformation); whatever it says, it answers a boolean.
    expect(
      typeof (await new HeadlessDesktop({ log: silentLogger, sleep: async () => {}, notifySend: null }).userSignedIn()),
    ).toBe("boolean");
  });
});

/** An executor context on a fake clock: each sleep advances it (and is recorded). */
function ctx(
  desktop: FakeDesktop | HeadlessDesktop,
  allowReboot = false,
  slept: number[] = [],
  events: ProgressEvent[] = [],
): ExecContext {
  let now = Date.parse("2026-11-25T09:00:00.000Z");
  return {
    actionId: "a",
    desktop,
    log: silentLogger,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
      return undefined;
    },
    now: () => new Date(now),
    t: createTranslator("en"),
    allowReboot,
    postponeSeconds: 600,
    signal: new AbortController().signal,
    emit: (e) => events.push(e),
    reboot: { progress: null, deliveredAtMs: now, save: () => {} },
  };
}

describe("confirmation policy", () => {
  it("reboot (original data): each postponement is a snooze of postponeSeconds; then the final stage runs out", async () => {
    const desktop = new FakeDesktop();
    desktop.countdownAnswers = ["snooze", "snooze", "elapsed"];
    const slept: number[] = [];
    const events: ProgressEvent[] = [];
    const out = await runReboot({ countdownSeconds: 60, maxPostpones: 2 }, ctx(desktop, false, slept, events));
    expect(out).toEqual({ kind: "reboot", outcome: { userChoice: "postponed-max", postponements: 2 } });
    // Two snoozes of 600 s, then the final stage's 60 s (this fake desktop answers at once, so the
    // engine waits out the rest of the final countdown itself).
    expect(slept.reduce((a, b) => a + b, 0)).toBe(1_260_000);
    expect(desktop.calls.map((c) => (c as { snoozesLeft?: number }).snoozesLeft)).toEqual([2, 1, 0]);
    expect(desktop.calls.map((c) => (c as { stage?: string }).stage)).toEqual(["prompt", "prompt", "final"]);
    expect(events.map((e) => e.kind)).toEqual(["shown", "snoozed", "shown", "snoozed", "final-stage", "restarting"]);
  });

  it("message: a read receipt when acknowledgement is required; an expired message is not shown", async () => {
    const d = new FakeDesktop();
    const events: ProgressEvent[] = [];
    const out = await runMessage(
      { message: "Read me", title: "IT", display: "dialog", requireAcknowledgement: true, urgency: "critical" },
      ctx(d, false, [], events),
    );
    expect(out).toEqual({ kind: "result", status: "done", result: "read by the user at 2026-11-25T12:00:00.000Z" });
    expect(events).toEqual([
      { kind: "shown", at: "2026-11-25T09:00:00.000Z" },
      { kind: "acknowledged", at: "2026-11-25T12:00:00.000Z" },
    ]);
    expect(d.calls[0]).toMatchObject({ kind: "dialog", urgency: "critical", requireAcknowledgement: true });
    const late = await runMessage(
      { message: "Old", title: "IT", display: "notification", expiresAt: "2026-11-25T08:00:00.000Z" },
      ctx(d),
    );
    expect(late).toMatchObject({
      kind: "result",
      status: "error",
      result: "expired at 2026-11-25T08:00:00.000Z; not shown",
    });
    expect(d.calls).toHaveLength(1);
    // No receipt, no "read": a closed window or a headless agent is an error that says why.
    d.acknowledgeAt = null;
    expect(
      await runMessage({ message: "m", title: "t", display: "dialog", requireAcknowledgement: true }, ctx(d)),
    ).toMatchObject({
      status: "error",
      result: 'not acknowledged: the window closed without "I have read this"',
    });
    const h = new HeadlessDesktop({ log: silentLogger, sleep: async () => {}, notifySend: null });
    expect(
      await runMessage({ message: "m", title: "t", display: "dialog", requireAcknowledgement: true }, ctx(h)),
    ).toMatchObject({
      status: "error",
      result: expect.stringContaining("no desktop (headless agent)") as unknown,
    });
  });

  it("reboot: the countdown running out before any postponement → countdown-elapsed; 'Now' → accepted", async () => {
    const a = new FakeDesktop();
    a.countdownAnswers = ["elapsed"];
    expect(await runReboot({ countdownSeconds: 60, maxPostpones: 3 }, ctx(a))).toEqual({
      kind: "reboot",
      outcome: { userChoice: "countdown-elapsed", postponements: 0 },
    });
    const b = new FakeDesktop();
    b.countdownAnswers = ["snooze", "now"];
    expect(await runReboot({ countdownSeconds: 60, maxPostpones: 3 }, ctx(b))).toEqual({
      kind: "reboot",
      outcome: { userChoice: "accepted", postponements: 1 },
    });
  });

  it("reboot: a snooze answer with none left cannot delay it further", async () => {
    const d = new FakeDesktop();
    d.countdownAnswers = [{ kind: "snooze", seconds: 600 }, "elapsed"];
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

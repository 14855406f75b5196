// The reboot policy engine with a fake clock: every path of issue 11 (snooze to the limit, deadline
// during a snooze, quiet hours, asleep or off at the deadline, restart now, nobody signed in, reminders
// more insistent as the deadline nears), each with the progress events it emits, in order.
import { describe, expect, it } from "vitest";
import {
  policyExecuteLimitSeconds,
  progressKindFits,
  RebootData,
  resolveRebootPolicy,
  type ProgressEvent,
  type RebootPolicyInput,
} from "../../server/contract/index.ts";
import type { RebootPromptAnswer, RebootPromptRequest } from "../../tray-agent/src/core/desktop.ts";
import { silentLogger } from "../../tray-agent/src/core/log.ts";
import {
  inWindow,
  initialProgress,
  nextStep,
  offeredSnoozes,
  type LocalTime,
  type RebootProgress,
} from "../../tray-agent/src/core/rebootPolicy.ts";
import { runRebootPolicy } from "../../tray-agent/src/core/rebootRunner.ts";

const T0 = Date.parse("2026-11-25T09:00:00.000Z");
const MIN = 60_000;
const HOUR = 3_600_000;

/** A UTC "local" clock, so quiet hours are tested the same in every time zone. */
const utc: LocalTime = {
  minutesOfDay: (ms) => {
    const d = new Date(ms);
    return d.getUTCHours() * 60 + d.getUTCMinutes();
  },
  next: (ms, hhmm) => {
    const [h, m] = hhmm.split(":").map(Number) as [number, number];
    const d = new Date(ms);
    let t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), h, m);
    while (t <= ms) t += 24 * HOUR;
    return t;
  },
};

type Answer = RebootPromptAnswer | ((r: RebootPromptRequest) => RebootPromptAnswer);

/**
 * Runs a policy on a fake clock. Each prompt takes `promptMs` of the clock (the user reads), then gets
 * the next scripted answer; "elapsed" advances the clock to the prompt's end. `sleepHook` may jump the
 * clock (the machine sleeps).
 */
async function run(
  input: RebootPolicyInput,
  o: {
    answers: Answer[];
    signedIn?: boolean | (() => boolean);
    start?: number;
    progress?: RebootProgress;
    deliveredAtMs?: number;
    promptMs?: number;
    sleepHook?: (now: number, ms: number) => number;
    restartNow?: AbortSignal;
    /** "elapsed" comes this much before the countdown's end (a timer firing early). */
    elapsedEarlyMs?: number;
  },
) {
  let now = o.start ?? T0;
  const deliveredAtMs = o.deliveredAtMs ?? T0;
  const policy = resolveRebootPolicy(RebootData.parse(input), deliveredAtMs);
  const prompts: (RebootPromptRequest & { at: number })[] = [];
  const events: ProgressEvent[] = [];
  const saved: RebootProgress[] = [];
  const answers = [...o.answers];
  const result = await runRebootPolicy({
    policy,
    progress: o.progress ?? initialProgress(),
    save: (p) => saved.push(p),
    emit: (e) => {
      // Every path below also proves the runner never emits a kind agent.progress refuses for a reboot.
      if (!progressKindFits("reboot", e.kind)) throw new Error(`a reboot may not report "${e.kind}"`);
      events.push(e);
    },
    desktop: {
      rebootPrompt: async (r) => {
        prompts.push({ ...r, at: now });
        const next = answers.shift();
        if (next === undefined) throw new Error(`unexpected prompt ${JSON.stringify(r)}`);
        const a = typeof next === "function" ? next(r) : next;
        now += a.kind === "elapsed" ? r.seconds * 1000 - (o.elapsedEarlyMs ?? 0) : (o.promptMs ?? 5000);
        return a;
      },
      userSignedIn: async () => (typeof o.signedIn === "function" ? o.signedIn() : (o.signedIn ?? true)),
    },
    now: () => now,
    sleep: async (ms) => {
      now = o.sleepHook ? o.sleepHook(now, ms) : now + ms;
      return undefined;
    },
    signal: new AbortController().signal,
    log: silentLogger,
    deliveredAtMs,
    local: utc,
    restartNow: o.restartNow,
  });
  const kinds = events.map((e) => e.kind);
  return { result, prompts, events, kinds, saved, now: () => now };
}

const iso = (ms: number) => new Date(ms).toISOString();
const snooze = (seconds: number): RebootPromptAnswer => ({ kind: "snooze", seconds });
const elapsed: RebootPromptAnswer = { kind: "elapsed" };
const now: RebootPromptAnswer = { kind: "now" };

describe("reboot policy engine (fake clock)", () => {
  it("snooze to the limit: each snooze waits the chosen time, then only the final stage is left", async () => {
    const r = await run(
      { countdownSeconds: 120, maxSnoozes: 2, snoozeOptions: [600, 3600], finalCountdownSeconds: 300 },
      { answers: [snooze(600), snooze(3600), elapsed] },
    );
    expect(r.prompts.map((p) => [p.stage, p.snoozeOptions, p.snoozesLeft])).toEqual([
      ["prompt", [600, 3600], 2],
      ["prompt", [600, 3600], 1],
      ["final", [], 0],
    ]);
    // The second prompt comes back exactly when the first snooze ends (5 s reading + 600 s).
    expect(r.prompts[1]!.at - r.prompts[0]!.at).toBe(5000 + 600_000);
    expect(r.prompts[2]!.at - r.prompts[1]!.at).toBe(5000 + 3_600_000);
    expect(r.prompts[2]!.seconds).toBe(300);
    expect(r.kinds).toEqual(["shown", "snoozed", "shown", "snoozed", "final-stage", "restarting"]);
    expect(r.events[1]).toEqual({ kind: "snoozed", at: iso(T0 + 5000), until: iso(T0 + 5000 + 600_000), n: 1, max: 2 });
    expect(r.events[3]).toMatchObject({ kind: "snoozed", n: 2, max: 2 });
    expect(r.events[5]).toMatchObject({ kind: "restarting", choice: "final-stage-elapsed" });
    expect(r.result).toEqual({ choice: "final-stage-elapsed", snoozes: 2 });
    // The journal got every step, the final stage's end included.
    expect(r.saved.at(-1)).toMatchObject({ snoozes: 2, finalEndsAtMs: r.prompts[2]!.at + 300_000 });
  });

  it("the original {countdownSeconds, maxPostpones} still works: postpones are snoozes of the agent's length", async () => {
    const r = await run({ countdownSeconds: 30, maxPostpones: 1 }, { answers: [snooze(600), elapsed] });
    expect(r.prompts.map((p) => [p.stage, p.seconds, p.snoozeOptions])).toEqual([
      ["prompt", 30, [600]],
      ["final", 30, []],
    ]);
    expect(r.kinds).toEqual(["shown", "snoozed", "final-stage", "restarting"]);
  });

  it("restart now at the first prompt: restarting at once, no final stage", async () => {
    const r = await run({ deadlineSeconds: 86_400, snoozeOptions: [3600] }, { answers: [now] });
    expect(r.kinds).toEqual(["shown", "restarting"]);
    expect(r.events[0]).toEqual({ kind: "shown", at: iso(T0), deadlineAt: iso(T0 + 86_400_000), snoozesLeft: 3 });
    expect(r.result).toEqual({ choice: "restart-now", snoozes: 0 });
  });

  it("restart now is offered in the final stage too", async () => {
    const r = await run({ maxSnoozes: 0 }, { answers: [now] });
    expect(r.prompts[0]!.stage).toBe("final");
    expect(r.kinds).toEqual(["final-stage", "restarting"]);
    expect(r.result.choice).toBe("restart-now");
  });

  it("a prompt whose countdown runs out restarts the machine (countdown-elapsed)", async () => {
    const r = await run({ countdownSeconds: 60 }, { answers: [elapsed] });
    expect(r.kinds).toEqual(["shown", "restarting"]);
    expect(r.result).toEqual({ choice: "countdown-elapsed", snoozes: 0 });
  });

  it("deadline during a snooze: the snooze ends at the deadline and the final stage runs (no more prompts)", async () => {
    const r = await run(
      { deadlineSeconds: 3600, snoozeOptions: [1800, 3600], maxSnoozes: 5, finalCountdownSeconds: 900 },
      { answers: [snooze(1800), snooze(1800), elapsed] },
    );
    // An hour left: up to half of it. Half an hour left: the shortest option, cut at the deadline.
    expect(r.prompts.map((p) => [p.stage, p.snoozeOptions, p.insistence])).toEqual([
      ["prompt", [1800], "high"],
      ["prompt", [1800], "high"],
      ["final", [], "high"],
    ]);
    expect(r.kinds).toEqual(["shown", "snoozed", "shown", "snoozed", "final-stage", "restarting"]);
    expect(r.events[3]).toMatchObject({ kind: "snoozed", until: iso(T0 + HOUR), n: 2, max: 5 });
    expect(r.events[4]).toEqual({ kind: "final-stage", at: iso(T0 + HOUR), endsAt: iso(T0 + HOUR + 900_000) });
    expect(r.prompts[2]!.seconds).toBe(900);
  });

  it("a long snooze is cut at the deadline", async () => {
    const r = await run(
      { deadlineSeconds: 1800, snoozeOptions: [14_400], finalCountdownSeconds: 60 },
      { answers: [snooze(14_400), now] },
    );
    expect(r.events[1]).toMatchObject({ kind: "snoozed", until: iso(T0 + 1800_000), n: 1 });
    expect(r.prompts[1]!.stage).toBe("final");
    expect(r.prompts[1]!.at).toBe(T0 + 1800_000);
    expect(r.kinds).toEqual(["shown", "snoozed", "final-stage", "restarting"]);
  });

  it("reminders get more insistent as the deadline nears", async () => {
    const policy = resolveRebootPolicy(
      RebootData.parse({ deadlineSeconds: 24 * 3600, snoozeOptions: [3600, 14_400], maxSnoozes: 10 }),
      T0,
    );
    const step = (at: number) =>
      nextStep(policy, initialProgress(), at, { userPresent: true, deliveredAtMs: T0, local: utc });
    expect(step(T0)).toMatchObject({ kind: "prompt", insistence: "normal", snoozeOptions: [3600, 14_400] });
    // 5 hours left: a quarter of the day or less → insistent, and only the 1-hour snooze (≤ half of what is left).
    expect(step(T0 + 19 * HOUR)).toMatchObject({ kind: "prompt", insistence: "high", snoozeOptions: [3600] });
    // The last snooze is insistent too, even far from the deadline.
    const last = nextStep(policy, { ...initialProgress(), snoozes: 9 }, T0, {
      userPresent: true,
      deliveredAtMs: T0,
      local: utc,
    });
    expect(last).toMatchObject({ kind: "prompt", insistence: "high", snoozesLeft: 1 });
    expect(offeredSnoozes(policy, T0 + 23.5 * HOUR)).toEqual([3600]); // shortest, cut at the deadline
  });

  it("quiet hours: the prompt waits for the window (emits waiting), then shows", async () => {
    // 09:00 UTC; the window is 22:00–06:00.
    const r = await run({ waitForQuietHours: true, quietHours: { start: "22:00", end: "06:00" } }, { answers: [now] });
    expect(r.events[0]).toEqual({
      kind: "waiting",
      at: iso(T0),
      until: iso(Date.parse("2026-11-25T22:00:00.000Z")),
      reason: "quiet-hours",
    });
    expect(r.kinds).toEqual(["waiting", "shown", "restarting"]);
    expect(r.prompts[0]!.at).toBe(Date.parse("2026-11-25T22:00:00.000Z"));
    expect(inWindow({ start: "22:00", end: "06:00" }, Date.parse("2026-11-26T05:59:00Z"), utc)).toBe(true);
    expect(inWindow({ start: "22:00", end: "06:00" }, Date.parse("2026-11-26T06:00:00Z"), utc)).toBe(false);
  });

  it("the deadline wins over quiet hours: final stage at the deadline although the window is hours away", async () => {
    const r = await run(
      {
        waitForQuietHours: true,
        quietHours: { start: "22:00", end: "06:00" },
        deadlineSeconds: 3 * 3600,
        finalCountdownSeconds: 600,
      },
      { answers: [elapsed] },
    );
    expect(r.kinds).toEqual(["waiting", "final-stage", "restarting"]);
    expect(r.events[0]).toMatchObject({ until: iso(T0 + 3 * HOUR) });
    expect(r.prompts[0]).toMatchObject({ stage: "final", at: T0 + 3 * HOUR, snoozeOptions: [] });
  });

  it("a final countdown (and the sleeps after it) that end a little early show the final stage once", async () => {
    // Timers may fire a little early: the desktop's countdown says "elapsed" 5 ms before the end, and
    // every sleep comes back 1 ms short of what was asked (at least 1 ms passes).
    const r = await run(
      { maxSnoozes: 1, snoozeOptions: [600], countdownSeconds: 10, finalCountdownSeconds: 10 },
      {
        answers: [snooze(600), elapsed],
        elapsedEarlyMs: 5,
        sleepHook: (t, ms) => t + Math.max(1, ms - 1),
      },
    );
    expect(r.prompts.map((p) => p.stage)).toEqual(["prompt", "final"]);
    expect(r.kinds).toEqual(["shown", "snoozed", "final-stage", "restarting"]);
    expect(r.result.choice).toBe("final-stage-elapsed");
  });

  it("asleep at the deadline: on wake the final stage runs (a full countdown), not an instant reboot", async () => {
    // The machine sleeps through the 1-hour snooze and the 30-minute deadline: it wakes 8 hours later.
    const r = await run(
      { deadlineSeconds: 1800, snoozeOptions: [600], finalCountdownSeconds: 300 },
      {
        answers: [snooze(600), elapsed],
        sleepHook: (t, ms) => (ms > 1000 ? t + 8 * HOUR : t + ms),
      },
    );
    const wake = T0 + 5000 + 8 * HOUR;
    expect(r.prompts[1]).toMatchObject({ stage: "final", seconds: 300, at: wake });
    expect(r.kinds).toEqual(["shown", "snoozed", "final-stage", "restarting"]);
    expect(r.events[2]).toMatchObject({ at: iso(wake), endsAt: iso(wake + 300_000) });
  });

  it("off at the deadline: the next start (journaled progress) runs the final stage", async () => {
    // Snoozed once before the machine was switched off; it starts again the next day.
    const progress = { snoozes: 1, snoozedUntilMs: T0 + 600_000, finalEndsAtMs: null };
    const nextDay = T0 + 24 * HOUR;
    const r = await run(
      { deadlineSeconds: 3600, snoozeOptions: [600], finalCountdownSeconds: 120 },
      { answers: [elapsed], progress, start: nextDay },
    );
    expect(r.prompts).toHaveLength(1);
    expect(r.prompts[0]).toMatchObject({ stage: "final", seconds: 120, at: nextDay });
    expect(r.kinds).toEqual(["final-stage", "restarting"]);
  });

  it("off during the final stage: the next start shows a fresh final stage", async () => {
    const progress = { snoozes: 0, snoozedUntilMs: null, finalEndsAtMs: T0 + 60_000 };
    const r = await run({ finalCountdownSeconds: 120 }, { answers: [elapsed], progress, start: T0 + 5 * HOUR });
    expect(r.prompts[0]).toMatchObject({ stage: "final", seconds: 120 });
    expect(r.kinds).toEqual(["final-stage", "restarting"]);
  });

  it("a restart in the middle of the final stage resumes its remaining time (no new event)", async () => {
    const progress = { snoozes: 0, snoozedUntilMs: null, finalEndsAtMs: T0 + 90_000 };
    const r = await run({}, { answers: [elapsed], progress });
    expect(r.prompts[0]).toMatchObject({ stage: "final", seconds: 90 });
    expect(r.kinds).toEqual(["restarting"]);
  });

  it("nobody signed in, policy reboot-now (the default): restarts at once without a prompt", async () => {
    const r = await run({ deadlineSeconds: 86_400 }, { answers: [], signedIn: false });
    expect(r.prompts).toEqual([]);
    expect(r.kinds).toEqual(["restarting"]);
    expect(r.events[0]).toEqual({ kind: "restarting", at: iso(T0), choice: "no-user" });
  });

  it("nobody signed in, policy reboot-in-window: waits for the window, then restarts", async () => {
    const r = await run(
      { noUserAction: "reboot-in-window", quietHours: { start: "02:00", end: "04:00" } },
      { answers: [], signedIn: false },
    );
    expect(r.kinds).toEqual(["waiting", "restarting"]);
    expect(r.events[0]).toMatchObject({ reason: "no-user", until: "2026-11-26T02:00:00.000Z" });
    expect(r.now()).toBe(Date.parse("2026-11-26T02:00:00.000Z"));
  });

  it("nobody signed in until someone signs in during the wait: the prompt is shown to them", async () => {
    let signedIn = false;
    const r = await run(
      { noUserAction: "reboot-in-window", quietHours: { start: "02:00", end: "04:00" } },
      {
        answers: [now],
        signedIn: () => signedIn,
        sleepHook: (t, ms) => {
          if (t >= T0 + 30 * MIN) signedIn = true;
          return t + ms;
        },
      },
    );
    expect(r.kinds).toEqual(["waiting", "shown", "restarting"]);
    expect(r.prompts[0]!.at).toBeLessThanOrEqual(T0 + 32 * MIN);
  });

  it("'Restart now' from the tray during a snooze ends the wait at once (restart-now)", async () => {
    const tray = new AbortController();
    const r = await run(
      { snoozeOptions: [14_400] },
      {
        answers: [snooze(14_400)],
        // Half an hour into the 4-hour snooze the user picks "Restart now" in the tray menu.
        sleepHook: (t, ms) => {
          if (t >= T0 + 30 * MIN) tray.abort();
          return t + ms;
        },
        restartNow: tray.signal,
      },
    );
    expect(r.kinds).toEqual(["shown", "snoozed", "restarting"]);
    expect(r.events[2]).toMatchObject({ choice: "restart-now" });
    expect(r.now()).toBeLessThan(T0 + 32 * MIN);
    expect(r.result).toEqual({ choice: "restart-now", snoozes: 1 });
  });

  it("an answer with a snooze that was not offered is not a snooze", async () => {
    const r = await run({ snoozeOptions: [600] }, { answers: [snooze(86_400)] });
    expect(r.kinds).toEqual(["shown", "restarting"]);
    expect(r.result.snoozes).toBe(0);
  });
});

describe("reboot policy contract", () => {
  it("keeps the stored form of the original data, validates the new fields, maps maxPostpones to snoozes", () => {
    expect(RebootData.parse({})).toEqual({ countdownSeconds: 60, maxPostpones: 3 });
    expect(RebootData.parse({ countdownSeconds: 30, maxPostpones: 1 })).toEqual({
      countdownSeconds: 30,
      maxPostpones: 1,
    });
    expect(RebootData.parse({ maxSnoozes: 5 })).toEqual({ countdownSeconds: 60, maxSnoozes: 5 });
    expect(resolveRebootPolicy(RebootData.parse({ maxPostpones: 2 }), T0).maxSnoozes).toBe(2);
    const bad = (d: unknown) => RebootData.safeParse(d).error?.issues[0]?.path.join(".");
    expect(bad({ snoozeOptions: [30] })).toBe("snoozeOptions.0");
    expect(bad({ quietHours: { start: "25:00", end: "06:00" } })).toBe("quietHours.start");
    expect(bad({ deadlineSeconds: 600, deadlineAt: "2026-11-25T18:00:00Z" })).toBe("deadlineAt");
    expect(bad({ waitForQuietHours: true })).toBe("quietHours");
    expect(bad({ noUserAction: "reboot-in-window" })).toBe("quietHours");
  });

  it("the execute limit follows the policy: deadline + final stage + margin, or every prompt and snooze", () => {
    const at = new Date(T0);
    expect(policyExecuteLimitSeconds(RebootData.parse({ deadlineSeconds: 7200, finalCountdownSeconds: 900 }), at)).toBe(
      7200 + 900 + 900,
    );
    expect(
      policyExecuteLimitSeconds(
        RebootData.parse({ deadlineAt: "2026-11-25T18:00:00.000Z", finalCountdownSeconds: 600 }),
        at,
      ),
    ).toBe(9 * 3600 + 600 + 900);
    // No deadline: 3 snoozes of at most 4 h, 4 prompts of 60 s, a final stage of 60 s.
    expect(policyExecuteLimitSeconds(RebootData.parse({ snoozeOptions: [600, 14_400] }), at)).toBe(
      4 * 60 + 3 * 14_400 + 60 + 900,
    );
  });
});

// The reboot policy engine's decisions, as pure functions of (policy, progress so far, now, who is
// signed in): what to do next, and how an answer changes the progress. No timers, no I/O: the runner
// (rebootRunner.ts) sleeps and asks the desktop; tests drive both with a fake clock.
//
// Rules (issue 11):
// - the deadline wins: at or after it the final stage runs (a countdown with only "Restart now"),
//   also over quiet hours and snoozes; a machine asleep or off at the deadline runs the final stage on
//   wake or next start, never an instant reboot (a final stage whose end passed while asleep starts over);
// - snoozes until the limit, each to a time the user picks among the policy's options, never past the
//   deadline; as the deadline nears only options up to half the time left are offered (reminders come
//   more often) and the prompt turns insistent;
// - with waitForQuietHours, prompts wait for the window (machine local time);
// - nobody signed in: reboot at once, or in the window, as the policy says.
import type { ResolvedRebootPolicy } from "../../../server/contract/index.ts";

/** What the engine remembers between steps (journaled, so it survives a restart). */
export type RebootProgress = {
  snoozes: number;
  /** The user snoozed until this time (ms). */
  snoozedUntilMs: number | null;
  /** The final stage started and ends at this time (ms). */
  finalEndsAtMs: number | null;
};

export const initialProgress = (): RebootProgress => ({ snoozes: 0, snoozedUntilMs: null, finalEndsAtMs: null });

/** Why the machine restarts. */
export type RestartChoice = "restart-now" | "countdown-elapsed" | "final-stage-elapsed" | "no-user";

/** The next thing to do. */
export type RebootStep =
  | { kind: "wait"; untilMs: number; reason: "snooze" | "quiet-hours" | "no-user" }
  | {
      kind: "prompt";
      seconds: number;
      snoozeOptions: number[];
      snoozesLeft: number;
      insistence: "normal" | "high";
    }
  | { kind: "final"; endsAtMs: number; started: boolean }
  | { kind: "reboot"; choice: RestartChoice };

/** A final stage (or deadline) overdue by more than this was slept through: it starts over. */
export const OVERSLEPT_MS = 60_000;

/** Local clock helpers (the machine's time zone); injectable for tests in another zone. */
export type LocalTime = {
  /** Minutes since local midnight. */
  minutesOfDay(ms: number): number;
  /** The next time (ms, strictly after `ms`) the local clock shows `hhmm`. */
  next(ms: number, hhmm: string): number;
};

export const systemLocalTime: LocalTime = {
  minutesOfDay: (ms) => {
    const d = new Date(ms);
    return d.getHours() * 60 + d.getMinutes();
  },
  next: (ms, hhmm) => {
    const [h, m] = hhmm.split(":").map(Number) as [number, number];
    const d = new Date(ms);
    let t = new Date(d.getFullYear(), d.getMonth(), d.getDate(), h, m).getTime();
    // Day by day through the calendar (not +24 h) so a daylight-saving change keeps the wall time.
    for (let i = 1; t <= ms; i++) t = new Date(d.getFullYear(), d.getMonth(), d.getDate() + i, h, m).getTime();
    return t;
  },
};

const toMinutes = (hhmm: string) => {
  const [h, m] = hhmm.split(":").map(Number) as [number, number];
  return h * 60 + m;
};

/** Whether `ms` is inside the window (which may cross midnight; start === end is all day). */
export function inWindow(w: { start: string; end: string }, ms: number, local: LocalTime = systemLocalTime): boolean {
  const s = toMinutes(w.start);
  const e = toMinutes(w.end);
  const t = local.minutesOfDay(ms);
  if (s === e) return true;
  return s < e ? t >= s && t < e : t >= s || t < e;
}

/**
 * Snooze options the user may pick now. Without a deadline: all. With one: those up to half the time
 * left (so reminders come more often as it nears), else the shortest; a snooze never outlasts the
 * deadline (it ends there, and the final stage starts).
 */
export function offeredSnoozes(p: ResolvedRebootPolicy, now: number): number[] {
  if (p.deadlineAtMs === null) return p.snoozeOptions;
  const halfLeftS = (p.deadlineAtMs - now) / 2000;
  const frequent = p.snoozeOptions.filter((s) => s <= halfLeftS);
  return frequent.length > 0 ? frequent : p.snoozeOptions.slice(0, 1);
}

/** The next step. `deliveredAtMs` anchors "how near is the deadline" (insistence). */
export function nextStep(
  p: ResolvedRebootPolicy,
  s: RebootProgress,
  now: number,
  env: { userPresent: boolean; deliveredAtMs: number; local?: LocalTime },
): RebootStep {
  const local = env.local ?? systemLocalTime;
  const final = (): RebootStep => ({ kind: "final", endsAtMs: now + p.finalCountdownSeconds * 1000, started: true });

  if (s.finalEndsAtMs !== null) {
    if (now < s.finalEndsAtMs) return { kind: "final", endsAtMs: s.finalEndsAtMs, started: false };
    if (now - s.finalEndsAtMs <= OVERSLEPT_MS) return { kind: "reboot", choice: "final-stage-elapsed" };
    // Asleep or off when the final stage should have ended: warn again rather than reboot at once.
    return env.userPresent ? final() : { kind: "reboot", choice: "no-user" };
  }
  const pastDeadline = p.deadlineAtMs !== null && now >= p.deadlineAtMs;
  if (!env.userPresent) {
    if (pastDeadline || p.noUserAction === "reboot-now") return { kind: "reboot", choice: "no-user" };
    if (p.quietHours && !inWindow(p.quietHours, now, local))
      return { kind: "wait", untilMs: capAtDeadline(p, local.next(now, p.quietHours.start)), reason: "no-user" };
    return { kind: "reboot", choice: "no-user" };
  }
  if (pastDeadline) return final();
  if (s.snoozedUntilMs !== null && now < s.snoozedUntilMs)
    return { kind: "wait", untilMs: capAtDeadline(p, s.snoozedUntilMs), reason: "snooze" };
  if (p.waitForQuietHours && p.quietHours && !inWindow(p.quietHours, now, local))
    return { kind: "wait", untilMs: capAtDeadline(p, local.next(now, p.quietHours.start)), reason: "quiet-hours" };
  const snoozesLeft = Math.max(0, p.maxSnoozes - s.snoozes);
  const options = snoozesLeft > 0 ? offeredSnoozes(p, now) : [];
  // No snooze possible, or the deadline comes before this prompt's countdown would end: final stage.
  if (options.length === 0) return final();
  if (p.deadlineAtMs !== null && p.deadlineAtMs - now < p.countdownSeconds * 1000) return final();
  return {
    kind: "prompt",
    seconds: p.countdownSeconds,
    snoozeOptions: options,
    snoozesLeft,
    insistence: insistence(p, s, now, env.deliveredAtMs),
  };
}

/** "high" on the last snooze, or once a quarter of the time to the deadline (at most an hour) is left. */
function insistence(p: ResolvedRebootPolicy, s: RebootProgress, now: number, deliveredAtMs: number): "normal" | "high" {
  if (p.maxSnoozes - s.snoozes <= 1) return "high";
  if (p.deadlineAtMs === null) return "normal";
  const left = p.deadlineAtMs - now;
  return left <= Math.max(3600_000, (p.deadlineAtMs - deliveredAtMs) / 4) ? "high" : "normal";
}

function capAtDeadline(p: ResolvedRebootPolicy, ms: number): number {
  return p.deadlineAtMs === null ? ms : Math.min(ms, p.deadlineAtMs);
}

/** What the user (or the clock) answered to a prompt or the final stage. */
export type PromptAnswer = { kind: "now" } | { kind: "elapsed" } | { kind: "snooze"; seconds: number };

/** The progress after a snooze: one more, until now + seconds (capped at the deadline). */
export function snoozed(p: ResolvedRebootPolicy, s: RebootProgress, seconds: number, now: number): RebootProgress {
  return { ...s, snoozes: s.snoozes + 1, snoozedUntilMs: capAtDeadline(p, now + seconds * 1000) };
}

// Runs a reboot policy to its end: waits (snooze, quiet hours, nobody signed in), shows the prompt and
// the final stage through the desktop port, journals its progress after every step (so a restart or a
// machine that was off resumes where it was) and emits a progress event at each stage. The decisions
// are rebootPolicy.ts's; this file only sleeps, asks and records. Clock and sleep are injected.
import type { ProgressEvent, ResolvedRebootPolicy } from "../../../server/contract/index.ts";
import type { Sleep } from "./backoff.ts";
import type { Desktop } from "./desktop.ts";
import type { Logger } from "./log.ts";
import { nextStep, snoozed, type LocalTime, type RebootProgress, type RestartChoice } from "./rebootPolicy.ts";

export type RebootRunDeps = {
  policy: ResolvedRebootPolicy;
  /** Where the policy stands (from the journal; initialProgress() the first time). */
  progress: RebootProgress;
  /** Journals the progress (before the event is sent). */
  save(p: RebootProgress): void;
  /** Records and sends one progress event. */
  emit(e: ProgressEvent): void;
  desktop: Pick<Desktop, "rebootPrompt" | "userSignedIn">;
  now(): number;
  sleep: Sleep;
  signal: AbortSignal;
  log: Logger;
  deliveredAtMs: number;
  local?: LocalTime;
  /** Aborted when the user asks to restart now outside a prompt (the tray menu). */
  restartNow?: AbortSignal;
  /** Longest single sleep: waits are re-decided this often (a user signs in, the clock jumps after sleep). */
  recheckMs?: number;
};

const iso = (ms: number) => new Date(ms).toISOString();

/** Runs until the machine should restart; returns why, and how often the user snoozed. */
export async function runRebootPolicy(d: RebootRunDeps): Promise<{ choice: RestartChoice; snoozes: number }> {
  let progress = d.progress;
  let lastWait = "";
  const recheck = d.recheckMs ?? 60_000;
  for (;;) {
    if (d.signal.aborted) throw new Error("agent stopped during the reboot policy");
    if (d.restartNow?.aborted) return restart(d, "restart-now", progress);
    const now = d.now();
    const userPresent = await d.desktop.userSignedIn();
    const step = nextStep(d.policy, progress, now, { userPresent, deliveredAtMs: d.deliveredAtMs, local: d.local });
    switch (step.kind) {
      case "wait": {
        const key = `${step.reason}@${step.untilMs}`;
        if (key !== lastWait) {
          lastWait = key;
          d.log.info(`reboot: waiting until ${iso(step.untilMs)} (${step.reason})`);
          if (step.reason !== "snooze")
            d.emit({ kind: "waiting", at: iso(now), until: iso(step.untilMs), reason: step.reason });
        }
        const waitSignal = d.restartNow ? AbortSignal.any([d.signal, d.restartNow]) : d.signal;
        await d.sleep(Math.max(1, Math.min(step.untilMs - now, recheck)), waitSignal);
        continue;
      }
      case "prompt": {
        lastWait = "";
        const deadlineAt = d.policy.deadlineAtMs === null ? null : iso(d.policy.deadlineAtMs);
        d.emit({ kind: "shown", at: iso(now), deadlineAt, snoozesLeft: step.snoozesLeft });
        d.log.info(
          `reboot: prompt shown, restarting in ${step.seconds} s unless snoozed (${step.snoozesLeft} snooze(s) left${deadlineAt ? `, deadline ${deadlineAt}` : ""})`,
        );
        const answer = await d.desktop.rebootPrompt({
          stage: "prompt",
          seconds: step.seconds,
          snoozeOptions: step.snoozeOptions,
          snoozesLeft: step.snoozesLeft,
          maxSnoozes: d.policy.maxSnoozes,
          deadlineAt,
          insistence: step.insistence,
        });
        if (answer.kind === "snooze" && step.snoozeOptions.includes(answer.seconds)) {
          progress = snoozed(d.policy, progress, answer.seconds, d.now());
          d.save(progress);
          const until = iso(progress.snoozedUntilMs!);
          d.log.info(`reboot: snoozed by the user until ${until} (${progress.snoozes}/${d.policy.maxSnoozes})`);
          d.emit({ kind: "snoozed", at: iso(d.now()), until, n: progress.snoozes, max: d.policy.maxSnoozes });
          continue;
        }
        return restart(d, answer.kind === "now" ? "restart-now" : "countdown-elapsed", progress);
      }
      case "final": {
        lastWait = "";
        if (step.started) {
          progress = { ...progress, snoozedUntilMs: null, finalEndsAtMs: step.endsAtMs };
          d.save(progress);
          d.emit({ kind: "final-stage", at: iso(now), endsAt: iso(step.endsAtMs) });
        }
        const seconds = Math.max(1, Math.ceil((step.endsAtMs - now) / 1000));
        d.log.warn(`reboot: final stage, restarting in ${seconds} s (no snooze)`);
        const answer = await d.desktop.rebootPrompt({
          stage: "final",
          seconds,
          snoozeOptions: [],
          snoozesLeft: 0,
          maxSnoozes: d.policy.maxSnoozes,
          deadlineAt: d.policy.deadlineAtMs === null ? null : iso(d.policy.deadlineAtMs),
          insistence: "high",
        });
        if (answer.kind === "now") return restart(d, "restart-now", progress);
        // Elapsed. A timer may fire a little early (Node's setTimeout rounds, by up to a millisecond):
        // sleep until the end really passed, or the next step would show the final stage a second time.
        // Then the next step reboots, or starts over if the machine slept.
        for (let early = step.endsAtMs - d.now(); early > 0; early = step.endsAtMs - d.now()) {
          await d.sleep(Math.max(1, early), d.signal);
          if (d.signal.aborted) break;
        }
        continue;
      }
      case "reboot":
        return restart(d, step.choice, progress);
    }
  }
}

function restart(d: RebootRunDeps, choice: RestartChoice, p: RebootProgress) {
  d.log.warn(`reboot: restarting the machine (${choice})`);
  d.emit({ kind: "restarting", at: iso(d.now()), choice });
  return { choice, snoozes: p.snoozes };
}

// Executors: one per action type behind one interface, plus the confirmation policy for restart and
// reboot. An executor either finishes with a result, or asks the agent to relaunch or reboot (the
// agent journals that first, and reports `done` after it comes back).
import {
  resolveRebootPolicy,
  type ActionOutcome,
  type ActionSpec,
  type ActionType,
  type MessageData,
  type ProgressEvent,
  type RebootData,
  type UserChoice,
} from "../../../server/contract/index.ts";
import type { Sleep } from "./backoff.ts";
import type { Desktop } from "./desktop.ts";
import type { Translator } from "./i18n/index.ts";
import type { Logger } from "./log.ts";
import { initialProgress, type RebootProgress, type RestartChoice } from "./rebootPolicy.ts";
import { runRebootPolicy } from "./rebootRunner.ts";

/** How an action ended, as far as the executor can say. */
export type ExecOutcome =
  | { kind: "result"; status: "done" | "error"; result: string; outcome?: ActionOutcome }
  | { kind: "relaunch"; outcome: ActionOutcome }
  | { kind: "reboot"; outcome: ActionOutcome };

export type ExecContext = {
  actionId: string;
  desktop: Desktop;
  log: Logger;
  sleep: Sleep;
  now: () => Date;
  /** The user's language (questions the core words itself). */
  t: Translator;
  /** Headless only: whether a reboot may proceed without a user. */
  allowReboot: boolean;
  /** Snooze length when a reboot policy gives no snoozeOptions (the agent's --postpone-seconds). */
  postponeSeconds: number;
  /** Ends waits when the agent stops. */
  signal: AbortSignal;
  /** Records and sends one progress event of this action (agent.progress). */
  emit: (e: ProgressEvent) => void;
  /** Where a reboot policy stands (journaled) and when the action was first received. */
  reboot: {
    progress: RebootProgress | null;
    deliveredAtMs: number;
    save: (p: RebootProgress) => void;
    /** Aborted when the user chooses "Restart now" in the tray while the reboot waits. */
    restartNow?: AbortSignal;
  };
};

type DataOf<T extends ActionType> = Extract<ActionSpec, { type: T }>["data"];
/** One executor per action type. */
export type Executors = { [T in ActionType]: (data: DataOf<T>, ctx: ExecContext) => Promise<ExecOutcome> };

/**
 * `message`: a notification, or a dialog that waits for OK or, with requireAcknowledgement, for
 * "I have read this" (the result is the read receipt). Not shown after expiresAt. The text is passed
 * on as data, never interpreted.
 */
export async function runMessage(data: MessageData, ctx: ExecContext): Promise<ExecOutcome> {
  if (data.expiresAt && Date.parse(data.expiresAt) <= ctx.now().getTime())
    return { kind: "result", status: "error", result: `expired at ${data.expiresAt}; not shown` };
  const m = {
    actionId: ctx.actionId,
    title: data.title,
    message: data.message,
    urgency: data.urgency ?? "info",
    requireAcknowledgement: data.requireAcknowledgement ?? false,
  };
  if (data.display === "dialog" || m.requireAcknowledgement) {
    ctx.emit({ kind: "shown", at: ctx.now().toISOString() });
    const { acknowledgedAt } = await ctx.desktop.dialog(m);
    if (acknowledgedAt) {
      ctx.emit({ kind: "acknowledged", at: acknowledgedAt });
      return { kind: "result", status: "done", result: `read by the user at ${acknowledgedAt}` };
    }
    // A read receipt was asked for and none exists: say so, never report it as read.
    if (m.requireAcknowledgement)
      return {
        kind: "result",
        status: "error",
        result: ctx.desktop.interactive
          ? 'not acknowledged: the window closed without "I have read this"'
          : "not acknowledged: this machine has no desktop (headless agent); the message was logged",
      };
    if (!ctx.desktop.interactive) return { kind: "result", status: "done", result: "dialog logged (no desktop)" };
    return { kind: "result", status: "done", result: "dialog closed by the user" };
  }
  await ctx.desktop.notify(m);
  return {
    kind: "result",
    status: "done",
    result: ctx.desktop.interactive ? "notification shown" : "notification logged (no desktop)",
  };
}

/** `restart`: ask the user, then relaunch the agent. Declined → error with the user's choice. */
export async function runRestart(_data: unknown, ctx: ExecContext): Promise<ExecOutcome> {
  if (!ctx.desktop.interactive) return { kind: "relaunch", outcome: { userChoice: "not-asked" } };
  const yes = await ctx.desktop.confirm({
    title: ctx.t("restart.title"),
    message: ctx.t("restart.message"),
    yes: ctx.t("restart.yes"),
    no: ctx.t("restart.no"),
  });
  if (!yes) return { kind: "result", status: "error", result: "declined by user", outcome: { userChoice: "declined" } };
  return { kind: "relaunch", outcome: { userChoice: "accepted" } };
}

/**
 * `reboot`: runs the reboot policy (prompt, snoozes, deadline, final stage, quiet hours, nobody signed
 * in: rebootPolicy.ts) and then asks the agent to reboot. The user can only delay a reboot, not refuse
 * it. Choice reported: "accepted" (Restart now), "countdown-elapsed", "postponed-max" (the final stage
 * ran out after the user used every snooze), "not-asked" (nobody signed in). Headless: only with
 * --allow-reboot (else error, "not-asked"); prompts are logged and run out.
 */
export async function runReboot(data: RebootData, ctx: ExecContext): Promise<ExecOutcome> {
  if (!ctx.desktop.interactive && !ctx.allowReboot) {
    return {
      kind: "result",
      status: "error",
      result: "reboot refused: this headless agent was not started with --allow-reboot",
      outcome: { userChoice: "not-asked" },
    };
  }
  const policy = resolveRebootPolicy(data, ctx.reboot.deliveredAtMs, { snoozeSeconds: ctx.postponeSeconds });
  const { choice, snoozes } = await runRebootPolicy({
    policy,
    progress: ctx.reboot.progress ?? initialProgress(),
    save: ctx.reboot.save,
    emit: ctx.emit,
    desktop: ctx.desktop,
    now: () => ctx.now().getTime(),
    sleep: ctx.sleep,
    signal: ctx.signal,
    log: ctx.log,
    deliveredAtMs: ctx.reboot.deliveredAtMs,
    restartNow: ctx.reboot.restartNow,
  });
  return {
    kind: "reboot",
    outcome: { userChoice: userChoiceOf(choice, snoozes, policy.maxSnoozes, ctx), postponements: snoozes },
  };
}

function userChoiceOf(choice: RestartChoice, snoozes: number, max: number, ctx: ExecContext): UserChoice {
  if (choice === "no-user" || !ctx.desktop.interactive) return "not-asked";
  if (choice === "restart-now") return "accepted";
  return max > 0 && snoozes >= max ? "postponed-max" : "countdown-elapsed";
}

/** The executors the agent uses. */
export const defaultExecutors: Executors = {
  message: runMessage,
  restart: runRestart,
  reboot: runReboot,
};

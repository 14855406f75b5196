// Executors: one per action type behind one interface, plus the confirmation policy for restart and
// reboot. An executor either finishes with a result, or asks the agent to relaunch or reboot (the
// agent journals that first, and reports `done` after it comes back).
import type {
  ActionOutcome,
  ActionSpec,
  ActionType,
  MessageData,
  RebootData,
  UserChoice,
} from "../../../server/contract/index.ts";
import type { Sleep } from "./backoff.ts";
import type { Desktop } from "./desktop.ts";
import type { Logger } from "./log.ts";

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
  /** Headless only: whether a reboot may proceed without a user. */
  allowReboot: boolean;
  /** Wait after a postponement before asking again. */
  postponeSeconds: number;
  /** Ends waits when the agent stops. */
  signal: AbortSignal;
};

type DataOf<T extends ActionType> = Extract<ActionSpec, { type: T }>["data"];
/** One executor per action type. */
export type Executors = { [T in ActionType]: (data: DataOf<T>, ctx: ExecContext) => Promise<ExecOutcome> };

/** `message`: a notification, or a dialog that waits for OK. The text is passed on as data, never interpreted. */
export async function runMessage(data: MessageData, ctx: ExecContext): Promise<ExecOutcome> {
  const m = { actionId: ctx.actionId, title: data.title, message: data.message };
  if (data.display === "dialog") {
    await ctx.desktop.dialog(m);
    return {
      kind: "result",
      status: "done",
      result: ctx.desktop.interactive ? "dialog closed by the user" : "dialog logged (no desktop)",
    };
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
    title: "Restart DashFleet Agent",
    message: "Your IT administrator asks to restart the DashFleet agent. Nothing else on your computer is affected.",
    yes: "Restart agent",
    no: "Not now",
  });
  if (!yes) return { kind: "result", status: "error", result: "declined by user", outcome: { userChoice: "declined" } };
  return { kind: "relaunch", outcome: { userChoice: "accepted" } };
}

/**
 * `reboot`: a visible countdown the user can postpone up to maxPostpones times; each postponement
 * hides the countdown for `postponeSeconds`, then it comes back. When no postponement is left, the
 * countdown has no Postpone button and the reboot proceeds when it ends: the admin asked for a
 * reboot, the user can only delay it. Choice: "accepted" (Now), "countdown-elapsed" (time ran out
 * without using every postponement), "postponed-max" (time ran out after the last postponement).
 * Headless: only with --allow-reboot (else error, "not-asked"), after the countdown in the log.
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
  const maxPostpones = data.maxSnoozes ?? data.maxPostpones ?? 3;
  let postponements = 0;
  for (;;) {
    if (ctx.signal.aborted) throw new Error("agent stopped during the reboot countdown");
    const postponesLeft = ctx.desktop.interactive ? maxPostpones - postponements : 0;
    const answer = await ctx.desktop.confirmWithCountdown({
      title: "Your computer will restart",
      message: "Your IT administrator scheduled a restart of this computer. Save your work.",
      seconds: data.countdownSeconds,
      postponesLeft,
    });
    if (answer === "postpone" && postponesLeft > 0) {
      postponements += 1;
      ctx.log.info(`reboot postponed by the user (${postponements}/${maxPostpones})`, { actionId: ctx.actionId });
      await ctx.sleep(ctx.postponeSeconds * 1000, ctx.signal);
      continue;
    }
    const choice: UserChoice = !ctx.desktop.interactive
      ? "not-asked"
      : answer === "now"
        ? "accepted"
        : postponements >= maxPostpones && maxPostpones > 0
          ? "postponed-max"
          : "countdown-elapsed";
    return { kind: "reboot", outcome: { userChoice: choice, postponements } };
  }
}

/** The executors the agent uses. */
export const defaultExecutors: Executors = {
  message: runMessage,
  restart: runRestart,
  reboot: runReboot,
};

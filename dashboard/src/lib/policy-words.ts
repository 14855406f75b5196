// Human words for the end-user experience (issue 11): durations ("10 min", "1 h 30 min"), a reboot
// policy as one paragraph the admin reads before sending, message options, and the live line of an
// action while its user decides ("waiting for the user — snoozed 1 of 3, next prompt 14:05, deadline
// 18:00"). Plain TypeScript, unit-tested in tests/unit/dashboard-policy-words.test.ts; progress kinds
// other than a pending decision reuse words.ts's progressWords.
import {
  ProgressEvent,
  resolveRebootPolicy,
  type ActionStatus,
  type RebootPolicy,
  type Urgency,
} from "../../../server/contract/index.ts";
import { english, type ConsoleTranslator } from "./i18n/index.ts";
import { actorWord, progressWords } from "./words.ts";

const MIN = 60;
const HOUR = 3600;
const DAY = 86400;

/** "45 s", "10 min", "1 h", "1 h 30 min", "1 day", "2 days 4 h" (days in the agent's words). */
export function durationWords(seconds: number, t: ConsoleTranslator = english): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < MIN) return `${s} s`;
  if (s < HOUR) return s % MIN === 0 ? `${s / MIN} min` : `${Math.floor(s / MIN)} min ${s % MIN} s`;
  if (s < DAY) {
    const h = Math.floor(s / HOUR);
    const m = Math.round((s % HOUR) / MIN);
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const d = Math.floor(s / DAY);
  const h = Math.round((s % DAY) / HOUR);
  return `${t.agent("duration.days", { n: d })}${h ? ` ${h} h` : ""}`;
}

/** Time of day of an ISO time, 24-hour ("14:05"). */
export function timeOfDay(iso: string): string {
  return new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
}

/** A date and time in the console's language ("1 Dec 2026, 18:00", "1 déc. 2026, 18:00"). */
function dateAndTime(iso: string, t: ConsoleTranslator): string {
  return new Date(iso).toLocaleString(t.lang === "fr" ? "fr-FR" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
}

/** A policy in words, as the user will live it: one sentence per stage, in the console's language. */
export function policyWords(policy: RebootPolicy, t: ConsoleTranslator = english): string[] {
  const r = resolveRebootPolicy(policy, Date.now());
  const d = (s: number) => durationWords(s, t);
  const or = new Intl.ListFormat(t.lang === "fr" ? "fr-FR" : "en-GB", { type: "disjunction" });
  const out = [t("policy.countdown", { d: d(r.countdownSeconds), restartNow: t.agent("reboot.restartNow") })];
  out.push(
    r.maxSnoozes === 0
      ? t("policy.noSnooze")
      : t("policy.snoozes", { n: r.maxSnoozes, choices: or.format(r.snoozeOptions.map(d)) }),
  );
  const final = d(r.finalCountdownSeconds);
  if (policy.deadlineAt) out.push(t("policy.deadlineAt", { when: dateAndTime(policy.deadlineAt, t), final }));
  else if (policy.deadlineSeconds !== undefined)
    out.push(t("policy.deadlineAfter", { after: d(policy.deadlineSeconds), final }));
  else out.push(t("policy.noDeadline"));
  const window = r.quietHours ? `${r.quietHours.start}–${r.quietHours.end}` : "";
  if (r.quietHours) out.push(t(r.waitForQuietHours ? "policy.windowWait" : "policy.window", { window }));
  out.push(r.noUserAction === "reboot-now" ? t("policy.noUserNow") : t("policy.noUserWindow", { window }));
  // ICU sentences may start with a number or a duration; the first letter is a capital either way.
  return out.map((x) => x.charAt(0).toUpperCase() + x.slice(1));
}

/** Urgency in words, from the agent's catalogue (the same word the user sees beside its icon). */
export function urgencyWord(u: Urgency, t: ConsoleTranslator = english): string {
  return t.agent(`urgency.${u}`);
}

/** What the user will see for a message, in one sentence (the agent's own button words). */
export function messageOptionsWords(
  o: {
    display: "notification" | "dialog";
    requireAcknowledgement?: boolean | undefined;
    urgency?: Urgency | undefined;
    expiresAt?: string | undefined;
  },
  t: ConsoleTranslator = english,
): string {
  const how = o.requireAcknowledgement
    ? t("message.howAck", { ack: t.agent("message.acknowledge") })
    : o.display === "dialog"
      ? t("message.howDialog", { ok: t.agent("message.ok") })
      : t("message.howNotification");
  return t("message.words", {
    how,
    urgency: urgencyWord(o.urgency ?? "info", t).toLowerCase(),
    until: o.expiresAt ? t("message.until", { when: dateAndTime(o.expiresAt, t) }) : "",
  });
}

/**
 * The live line of an action while its user decides, from its latest progress (Action.progress):
 * "waiting for the user — snoozed 1 of 3, next prompt 14:05, deadline 18:00", in the console's
 * language. "" when there is no decision to show (not running, or no progress yet).
 */
export function liveProgressWords(status: ActionStatus, progress: unknown, t: ConsoleTranslator = english): string {
  if (status !== "executing" || !progress || typeof progress !== "object") return "";
  const parsed = ProgressEvent.safeParse(stripStored(progress));
  if (!parsed.success) return "";
  const e = parsed.data;
  const stored = progress as { deadlineAt?: string | null };
  const deadline = stored.deadlineAt ? t("live.deadline", { time: timeOfDay(stored.deadlineAt) }) : "";
  const line = (head: string, parts: string[]) => [head, parts.filter(Boolean).join(", ")].filter(Boolean).join(" — ");
  switch (e.kind) {
    case "snoozed":
      return line(t("live.waitingUser"), [
        t("live.snoozed", { n: e.n, max: e.max }),
        t("live.nextPrompt", { time: timeOfDay(e.until) }),
        deadline,
      ]);
    case "shown":
      return line(t("live.waitingUser"), [
        t("live.promptShown"),
        e.snoozesLeft !== undefined ? t("live.snoozesLeft", { n: e.snoozesLeft }) : "",
        deadline,
      ]);
    case "waiting":
      return e.reason === "quiet-hours"
        ? line(t("live.waitingWindow"), [e.until ? t("live.opens", { time: timeOfDay(e.until) }) : "", deadline])
        : line(t("live.waitingSignIn"), [deadline]);
    case "final-stage":
      return line(t("live.finalCountdown"), [
        t("live.restartsAt", { time: timeOfDay(e.endsAt) }),
        t("live.cannotSnooze"),
      ]);
    default:
      return progressWords(e);
  }
}

/**
 * An action's result line. The server's own verdicts are worded from the action's data, in the
 * console's language: an error without an ack was never confirmed by the agent (delivered n times,
 * the only way to error before an ack); `unknown` had no result within its execute limit (from the ack
 * to the deadline). Any other result (the agent's text, the server's reboot verdicts) is shown as it
 * is, its times local. "" when there is none.
 */
export function resultWords(
  a: {
    status: ActionStatus;
    result: string | null;
    ackedAt: string | null;
    deliveryCount: number;
    executeDeadline: string | null;
  },
  t: ConsoleTranslator = english,
  now = new Date(),
): string {
  if (!a.result) return "";
  if (a.status === "error" && !a.ackedAt && a.deliveryCount > 0)
    return t("actionTable.neverAcked", { n: a.deliveryCount });
  if (a.status === "unknown" && a.ackedAt && a.executeDeadline) {
    const limit = (Date.parse(a.executeDeadline) - Date.parse(a.ackedAt)) / 1000;
    return t("actionTable.noResultWithin", { limit: durationWords(limit, t) });
  }
  return localTimes(a.result, now, t);
}

/** A timeline event as actions.get sends it. */
type TimelineEvent = { status: string; kind: string | null; detail: string | null };
/** Timeline kinds the server writes itself (not the agent's progress). */
const serverKinds = new Set(["late-result", "held-result"]);

/** The action's facts a timeline detail is worded from (as actions.get sends them). */
type TimelineAction = Parameters<typeof resultWords>[0] & { createdBy: string; progress: unknown };

/**
 * The detail line of a timeline event, in the console's language wherever the server sends its facts
 * as data (the moves are those of the contract's `transitions`):
 * - the first event, the queueing: who queued it (the action's `createdBy`);
 * - a later `pending`: the only way back to pending is a lease that ran out, offered again;
 * - `expired`: only from pending, never picked up (the status's own explanation);
 * - the final `done` / `error` / `unknown`: the action's result (resultWords);
 * - the agent's latest progress event: the action's `progress`.
 * Everything else is the server's English sentence, its times local (localTimes): the server keeps no
 * data for older progress events, for who cancelled, or for late and held results. "" for no detail.
 */
export function timelineDetail(
  events: readonly TimelineEvent[],
  i: number,
  action: TimelineAction,
  t: ConsoleTranslator = english,
  now = new Date(),
): string {
  const e = events[i];
  if (!e?.detail) return "";
  if (!e.kind) {
    if (e.status === "pending")
      return i === 0 ? t("event.queuedBy", { who: actorWord(action.createdBy, t) }) : t("event.offeredAgain");
    if (e.status === "expired") return t("statusWhy.expired");
    if (e.status === action.status && (e.status === "done" || e.status === "error" || e.status === "unknown"))
      return resultWords(action, t, now) || localTimes(e.detail, now, t);
  } else if (!serverKinds.has(e.kind) && i === events.findLastIndex((x) => x.kind && !serverKinds.has(x.kind))) {
    const latest = action.progress && typeof action.progress === "object" ? stripStored(action.progress) : null;
    const words = (latest as { kind?: unknown } | null)?.kind === e.kind ? progressWords(latest, t) : "";
    if (words) return words;
  }
  return localTimes(e.detail, now, t);
}

/** Action.progress carries the event plus the server's bookkeeping (seq, receivedAt, deadlineAt). */
function stripStored(p: object): unknown {
  const { seq: _seq, receivedAt: _r, deadlineAt, ...event } = p as Record<string, unknown>;
  // "shown" carries its own deadlineAt; the server copies it forward onto later events.
  return (event as { kind?: unknown }).kind === "shown" ? { ...event, deadlineAt } : event;
}

const ISO_TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/g;

/**
 * The server's sentences keep times as ISO ("next prompt 2026-11-25T22:46:27.217Z"); shown here in
 * the admin's time: today as "22:46", another day as "26 Nov 2026, 05:46" ("26 nov. 2026, 05:46" in
 * French). Text in, text out.
 */
export function localTimes(text: string, now = new Date(), t: ConsoleTranslator = english): string {
  return text.replace(ISO_TIME, (iso) => {
    const at = new Date(iso);
    if (Number.isNaN(at.getTime())) return iso;
    return at.toDateString() === now.toDateString() ? timeOfDay(iso) : dateAndTime(iso, t);
  });
}

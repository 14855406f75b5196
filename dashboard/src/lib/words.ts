// Human words for everything the console shows: action statuses, user choices, health bands, action
// types, audit actions, and error text (zod's "Too small: expected number to be >=10" becomes "Must be
// at least 10"). One module, so no page prints a raw code such as `postponed-max`. Every function takes
// the console's translator (English by default; components pass `language.t`), the texts live in the
// catalogues (i18n/components.en.ts and .fr.ts). The maps (`statusWords`…) are the English view, kept
// for code that needs every code at once. Plain TypeScript (no runes), unit-tested in
// tests/unit/dashboard-words.test.ts.
import {
  MessageData,
  ProgressEvent,
  RebootData,
  actionStatuses,
  type ActionStatus,
  type ActionType,
  type UserChoice,
} from "../../../server/contract/index.ts";
import { en } from "./i18n/en.ts";
import { consoleLanguages, consoleTranslator, english, type ConsoleKey, type ConsoleTranslator } from "./i18n/index.ts";

/** The Intl locale of a translator: numbers "2,000" / "2 000", times "14:05" in both. */
export function localeOf(t: ConsoleTranslator = english): string {
  return t.lang === "fr" ? "fr-FR" : "en-US";
}

/** A number in the console's language ("100,000" / "100 000"). */
export function numberWord(n: number, t: ConsoleTranslator = english): string {
  return n.toLocaleString(localeOf(t));
}

/** A catalogue key for a code when it has one (own keys only: "__proto__" has none). */
function known(t: ConsoleTranslator, key: string): string | null {
  return Object.hasOwn(en, key) ? t(key as ConsoleKey) : null;
}

/** Short status name for a badge ("Waiting", "En attente"). */
export function statusWord(status: ActionStatus, t: ConsoleTranslator = english): string {
  return t(`status.${status}`);
}

/** One sentence per status, for tooltips and the timeline. */
export function statusExplanation(status: ActionStatus, t: ConsoleTranslator = english): string {
  return t(`statusWhy.${status}`);
}

const everyStatus = <T>(f: (s: ActionStatus) => T) =>
  Object.fromEntries(actionStatuses.map((s) => [s, f(s)])) as { readonly [S in ActionStatus]: T };
/** Short status names for badges (English). */
export const statusWords = everyStatus((s) => statusWord(s));
/** Status explanations (English). */
export const statusExplanations = everyStatus((s) => statusExplanation(s));

const userChoices: readonly UserChoice[] = ["accepted", "declined", "countdown-elapsed", "postponed-max", "not-asked"];
/** What the end user chose, in words (English; "postponed-max" is never shown as such). */
export const userChoiceWords = Object.fromEntries(userChoices.map((c) => [c, english(`choice.${c}`)])) as {
  readonly [C in UserChoice]: string;
};

/** A user choice from stored data (unknown values are shown without their code). */
export function userChoiceWord(choice: string | null | undefined, t: ConsoleTranslator = english): string {
  if (!choice) return "";
  return known(t, `choice.${choice}`) ?? t("choice.other");
}

/** "postponed 2 times" / "reporté 2 fois". */
export function postponedWords(n: number, t: ConsoleTranslator = english): string {
  return t("choice.postponed", { n });
}

/** An action type as a noun ("Reboot", "Redémarrage"); unknown types read "Action". */
export function actionTypeWord(type: string, t: ConsoleTranslator = english): string {
  return known(t, `type.${type}`) ?? t("type.other");
}

/** The action types, as a noun (English). */
export const actionTypeWords: { readonly [T in ActionType]: string } = {
  message: actionTypeWord("message"),
  restart: actionTypeWord("restart"),
  reboot: actionTypeWord("reboot"),
};

/** What an action sends, in words, read back through the contract schemas (stored data is untrusted). */
export function sentWords(type: string, data: unknown, t: ConsoleTranslator = english): string {
  if (type === "message") {
    const d = MessageData.safeParse(data);
    return d.success ? `${d.data.title}${t.lang === "fr" ? "\u00a0: " : ": "}${d.data.message}` : "";
  }
  if (type === "reboot") {
    const d = RebootData.safeParse(data);
    if (!d.success) return "";
    // maxSnoozes (issue 11) or the original maxPostpones; the deadline when there is one.
    const snoozes = d.data.maxSnoozes ?? d.data.maxPostpones ?? 0;
    const deadline = d.data.deadlineSeconds !== undefined || d.data.deadlineAt !== undefined ? "yes" : "no";
    return t("sent.reboot", { countdown: numberWord(d.data.countdownSeconds, t), snoozes, deadline });
  }
  return type === "restart" ? t("sent.restart") : "";
}

/** Health bands of the fleet contract (offline is a separate state, never a band). */
export type HealthBandName = "good" | "degraded" | "critical" | "nodata";
/** A health band in words ("Healthy", "Sain"). */
export function healthWord(band: HealthBandName, t: ConsoleTranslator = english): string {
  return t(`health.${band}`);
}
/** Health bands in words (English). */
export const healthWords: { readonly [B in HealthBandName]: string } = {
  good: healthWord("good"),
  degraded: healthWord("degraded"),
  critical: healthWord("critical"),
  nodata: healthWord("nodata"),
};

/**
 * One health reason from the server ("CPU 98 % over the last 3 reports", written in English by
 * server/services/health.ts) in the console's language; an unknown shape is shown as it came.
 */
export function healthReasonWord(reason: string, t: ConsoleTranslator = english): string {
  if (t.lang === "en") return reason;
  const metric = (name: string) =>
    ({
      CPU: t("metric.cpu"),
      Memory: t("metric.memory"),
      memory: t("metric.memoryLower"),
      disk: t("metric.diskLower"),
    })[name] ?? name;
  const pct = (p: string) => p.replace(" %", "\u00a0%");
  let r: RegExpMatchArray | null;
  if ((r = reason.match(/^(CPU|Memory) (\d+ %) over the last (\d+) reports$/)))
    return t("reason.sustained", { name: metric(r[1]!), pct: pct(r[2]!), n: r[3]! });
  if ((r = reason.match(/^(CPU|Memory) (\d+ %) in the latest report$/)))
    return t("reason.latest", { name: metric(r[1]!), pct: pct(r[2]!) });
  if ((r = reason.match(/^Disk (\d+ %) full$/))) return t("reason.diskFull", { pct: pct(r[1]!) });
  if ((r = reason.match(/^High load together: (.+)$/))) {
    const parts = r[1]!
      .split(", ")
      .map((p) => p.replace(/^(CPU|memory|disk) (\d+ %)$/, (_, n: string, v: string) => `${metric(n)} ${pct(v)}`));
    return t("reason.together", { parts: parts.join(", ") });
  }
  return reason;
}

/** Online state in words; `null` when the console cannot know (the server is unreachable). */
export function onlineWord(online: boolean | null, t: ConsoleTranslator = english): string {
  if (online === null) return t("online.unknown");
  return online ? t("online.online") : t("online.offline");
}

/** Sort keys of fleet.list. */
export type SortKey = "hostname" | "health" | "lastSeen" | "cpu" | "memory" | "disk";
/** A sort key as a menu shows it ("Health (worst first)"). */
export function sortWord(sort: SortKey, t: ConsoleTranslator = english): string {
  return t(`sort.${sort}`);
}
/** An agent progress kind recorded on an action's timeline; unknown kinds are shown as they came. */
export function eventKindWord(kind: string, t: ConsoleTranslator = english): string {
  return known(t, `event.${kind}`) ?? kind;
}

const time = (iso: string | null | undefined, t: ConsoleTranslator) =>
  iso
    ? new Date(iso).toLocaleTimeString(t.lang === "fr" ? "fr-FR" : "en-GB", { hour: "2-digit", minute: "2-digit" })
    : "";

/** The agent's latest progress report in words ("Snoozed by the user until 14:30 (2 of 3)"); "" if none. */
export function progressWords(progress: unknown, t: ConsoleTranslator = english): string {
  const p = ProgressEvent.safeParse(progress);
  if (!p.success) return "";
  const e = p.data;
  switch (e.kind) {
    case "shown":
      return [
        t("event.shown"),
        e.deadlineAt ? t("live.deadline", { time: time(e.deadlineAt, t) }) : "",
        e.snoozesLeft !== undefined ? t("progress.left", { n: e.snoozesLeft }) : "",
      ]
        .filter(Boolean)
        .join(", ");
    case "waiting":
      if (e.reason !== "quiet-hours") return t("progress.waitSignIn");
      return e.until ? t("progress.waitQuietUntil", { time: time(e.until, t) }) : t("progress.waitQuiet");
    case "snoozed":
      return t("progress.snoozed", { time: time(e.until, t), n: e.n, max: e.max });
    case "final-stage":
      return t("progress.final", { time: time(e.endsAt, t) });
    case "restarting":
      return t(`progress.restart.${e.choice}`);
    case "came-back":
      return t("progress.cameBack", { time: time(e.bootedAt, t) });
    case "acknowledged":
      return t("event.acknowledged");
  }
}

/** The audit actions the console knows words for (the audit page offers them as a filter). */
export const auditActions: readonly string[] = Object.keys(en)
  .filter((k) => k.startsWith("auditAction."))
  .map((k) => k.slice("auditAction.".length));

/** An audit log action in words; unknown ones are de-dotted ("machines.retire" → "Machines retire"). */
export function auditWord(action: string, t: ConsoleTranslator = english): string {
  const words = known(t, `auditAction.${action}`);
  if (words) return words;
  const plain = action
    .replace(/[._-]+/g, " ")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .trim();
  return plain.charAt(0).toUpperCase() + plain.slice(1);
}

/** Who did something: "user:ana@example.com" → "ana@example.com", "key:CI" → "key CI" / "clé CI". */
export function actorWord(actor: string, t: ConsoleTranslator = english): string {
  if (actor.startsWith("user:")) return actor.slice(5);
  if (actor.startsWith("key:")) return t("actor.key", { name: actor.slice(4) });
  if (actor === "cli") return t("actor.cli");
  return actor;
}

/**
 * What an admin types in a "Who" / "Sent by" filter, as the stored actor: the inverse of actorWord, so
 * the name shown in a row ("ana@example.com", "key CI", "command line") finds that row. The stored
 * form ("user:…", "key:…") is kept as typed. Both languages' words are understood, whatever the
 * console's language.
 */
export function actorFilter(text: string | undefined, t: ConsoleTranslator = english): string | undefined {
  const s = text?.trim();
  if (!s) return undefined;
  if (/^(user|key|machine):/.test(s) || s === "cli" || s === "setup") return s;
  for (const tr of [t, ...consoleLanguages.map((l) => consoleTranslator(l.code))]) {
    if (s === tr("actor.cli")) return "cli";
    const prefix = tr("actor.key", { name: "" });
    if (s.startsWith(prefix) && s.length > prefix.length) return `key:${s.slice(prefix.length)}`;
  }
  if (s.includes("@")) return `user:${s}`;
  return s;
}
/** A form or API field path in words ("data.countdownSeconds" → "Countdown"). */
export function fieldWord(path: string, t: ConsoleTranslator = english): string {
  const direct = known(t, `field.${path}`);
  if (direct) return direct;
  // "labels.3" → Labels; "target.filter.search" → Search
  const parts = path.split(".").filter((p) => !/^\d+$/.test(p));
  const last = parts.at(-1) ?? "input";
  const found = known(t, `field.${parts.join(".")}`) ?? known(t, `field.${last}`);
  if (found) return found;
  const plain = last.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return plain.charAt(0).toUpperCase() + plain.slice(1);
}

/** The contract's own messages (server/contract/*), each with its catalogue key. */
const ownMessages: Record<string, ConsoleKey> = {
  "message is required": "issue.own.messageRequired",
  "must not contain bidirectional override characters (U+202A–U+202E, U+2066–U+2069)": "issue.own.bidi",
  "use HH:MM (24-hour)": "issue.own.hhmm",
  "snooze options must differ": "issue.own.snoozesDiffer",
  "give deadlineSeconds or deadlineAt, not both": "issue.own.deadlineBoth",
  "waiting for quiet hours needs quietHours": "issue.own.quietNeedsHours",
  "rebooting in the window needs quietHours": "issue.own.windowNeedsHours",
  "password needs at least 8 characters": "issue.own.password",
  "pick at least one machine": "issue.own.pickMachine",
  "machine id uses letters, digits and _ . : @ -": "issue.own.machineId",
  "labels are lowercase letters, digits and - _ . (starting with a letter or digit)": "issue.own.labels",
  "the logo is larger than 64 KB": "issue.own.logoSize",
  "a PNG, JPEG or WebP data: URL": "issue.own.logoType",
  "give either machineIds (a list) or filter, not both": "issue.own.targetBoth",
};

/**
 * One validation message in words. zod's default texts ("Too small: expected number to be >=10",
 * "Invalid input: expected string, received undefined") are rewritten; the contract's own messages
 * ("message is required") are translated, others only get a capital letter.
 */
export function issueWords(message: string, t: ConsoleTranslator = english): string {
  const m = message.trim();
  let r: RegExpMatchArray | null;
  if ((r = m.match(/^Too (small|big): expected (\w+) to (?:be|have) ([<>]=?)(-?[\d.]+)(?: (\w+))?/))) {
    const [, side, kind, op, raw] = r;
    const strict = op === "<" || op === ">";
    let n = Number(raw);
    if (strict) n = side === "small" ? n + 1 : n - 1;
    if (kind === "string") {
      if (side === "small") return n <= 1 ? t("issue.required") : t("issue.minChars", { n });
      return t("issue.maxChars", { n });
    }
    if (kind === "array" || kind === "set") {
      if (side === "small") return n <= 1 ? t("issue.chooseOne") : t("issue.chooseAtLeast", { n: String(n) });
      return t("issue.maxItems", { n });
    }
    return side === "small" ? t("issue.atLeast", { n: String(n) }) : t("issue.atMost", { n: String(n) });
  }
  if ((r = m.match(/^Invalid input: expected (\w+), received (\w+)/))) {
    const [, want, got] = r;
    if (got === "undefined" || got === "null") return t("issue.required");
    if (want === "number" || want === "int") return t("issue.number");
    return t("issue.wrongKind");
  }
  if (/^Invalid option|^Invalid enum/i.test(m)) return t("issue.notChoice");
  if (/^Invalid (UUID|uuid)/.test(m)) return t("issue.notId");
  if (/^Invalid email/i.test(m)) return t("issue.notEmail");
  if (/^Invalid string: must match pattern/.test(m)) return t("issue.badChars");
  if (/^Unrecognized keys?/.test(m)) return t("issue.notExpected");
  if (/^Invalid (input|string|value)/.test(m)) return t("issue.notValid");
  if (/^Expected (number|integer)/i.test(m)) return t("issue.wholeNumber");
  const own = Object.hasOwn(ownMessages, m) ? ownMessages[m] : undefined;
  if (own) return t(own);
  return m.charAt(0).toUpperCase() + m.slice(1);
}

/**
 * A server error message in words. BAD_REQUEST messages read "data.message: message is required;
 * machineIds: Too big: …": each part becomes "Message: required".
 */
export function errorWords(message: string, t: ConsoleTranslator = english): string {
  const colon = t.lang === "fr" ? "\u00a0: " : ": ";
  return message
    .split("; ")
    .map((part) => {
      const r = part.match(/^([A-Za-z][\w.]*): (.+)$/s);
      if (!r) return issueWords(part, t);
      return `${fieldWord(r[1]!, t)}${colon}${issueWords(r[2]!, t).replace(/^(.)/, (c) => c.toLowerCase())}`;
    })
    .join(t.lang === "fr" ? "\u202f; " : "; ");
}

/** "1 machine", "2,000 machines", "2 000 machines". */
export function machinesWord(n: number, t: ConsoleTranslator = english): string {
  return t("count.machines", { n });
}

/** "1 agent", "3 agents". */
export function agentsWord(n: number, t: ConsoleTranslator = english): string {
  return t("count.agents", { n });
}

/** A bulk job's title, the same on its page and in the list: "Message to 3 machines". */
export function bulkJobTitle(type: string, machines: number, t: ConsoleTranslator = english): string {
  return t("bulk.title", { type: actionTypeWord(type, t), machines: machinesWord(machines, t) });
}

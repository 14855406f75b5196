// Human words for everything the console shows: action statuses, user choices, health bands, action
// types, audit actions, and error text (zod's "Too small: expected number to be >=10" becomes "Must be
// at least 10"). One module, so no page prints a raw code such as `postponed-max`. Plain TypeScript
// (no runes), unit-tested in tests/unit/dashboard-words.test.ts.
import {
  MessageData,
  ProgressEvent,
  RebootData,
  type ActionStatus,
  type ActionType,
  type UserChoice,
} from "../../../server/contract/index.ts";

/** Short status names for badges. */
export const statusWords: { readonly [S in ActionStatus]: string } = {
  pending: "Waiting",
  delivered: "Delivered",
  executing: "Running",
  done: "Done",
  error: "Failed",
  cancelled: "Cancelled",
  expired: "Expired",
  unknown: "Outcome unknown",
};

/** One sentence per status, for tooltips and the timeline. */
export const statusExplanations: { readonly [S in ActionStatus]: string } = {
  pending: "Queued; the machine has not picked it up yet.",
  delivered: "The agent has received it and has not started yet.",
  executing: "The agent is carrying it out.",
  done: "The agent finished it.",
  error: "The agent reported a failure, or it could not be delivered.",
  cancelled: "Cancelled before the agent ran it.",
  expired: "Not picked up before its deadline.",
  unknown: "The agent started it but never reported how it ended.",
};

/** What the end user chose, in words ("postponed-max" is never shown as such). */
export const userChoiceWords: { readonly [C in UserChoice]: string } = {
  accepted: "the user accepted",
  declined: "the user declined",
  "countdown-elapsed": "the countdown ran out",
  "postponed-max": "the user postponed as often as allowed",
  "not-asked": "the user was not asked",
};

/** A user choice from stored data (unknown values are shown without their code). */
export function userChoiceWord(choice: string | null | undefined): string {
  if (!choice) return "";
  return (userChoiceWords as Record<string, string>)[choice] ?? "the user answered";
}

/** The action types, as a noun. */
export const actionTypeWords: { readonly [T in ActionType]: string } = {
  message: "Message",
  restart: "Agent restart",
  reboot: "Reboot",
};

/** What an action sends, in words, read back through the contract schemas (stored data is untrusted). */
export function sentWords(type: string, data: unknown): string {
  if (type === "message") {
    const d = MessageData.safeParse(data);
    return d.success ? `${d.data.title}: ${d.data.message}` : "";
  }
  if (type === "reboot") {
    const d = RebootData.safeParse(data);
    if (!d.success) return "";
    // maxSnoozes (issue 11) or the original maxPostpones; the deadline when there is one.
    const snoozes = d.data.maxSnoozes ?? d.data.maxPostpones ?? 0;
    const deadline = d.data.deadlineSeconds !== undefined || d.data.deadlineAt !== undefined ? ", with a deadline" : "";
    return `${d.data.countdownSeconds} s countdown, up to ${snoozes} snooze${snoozes === 1 ? "" : "s"}${deadline}`;
  }
  return type === "restart" ? "Relaunch the agent" : "";
}

/** Health bands of the fleet contract (offline is a separate state, never a band). */
export type HealthBandName = "good" | "degraded" | "critical" | "nodata";
export const healthWords: { readonly [B in HealthBandName]: string } = {
  good: "Healthy",
  degraded: "Degraded",
  critical: "Critical",
  nodata: "No data",
};

/** Online state in words; `null` when the console cannot know (the server is unreachable). */
export function onlineWord(online: boolean | null): string {
  if (online === null) return "Unknown";
  return online ? "Online" : "Offline";
}

/** Sort keys of fleet.list, as a menu shows them. */
export const sortWords = {
  hostname: "Name",
  health: "Health (worst first)",
  lastSeen: "Last seen (newest first)",
  cpu: "CPU (highest first)",
  memory: "Memory (highest first)",
  disk: "Disk (highest first)",
} as const;

/** Agent progress kinds recorded on an action's timeline. */
export const eventKindWords: Record<string, string> = {
  shown: "Shown to the user",
  waiting: "Waiting before showing it",
  snoozed: "Postponed by the user",
  "final-stage": "Final countdown started",
  restarting: "Restarting",
  "came-back": "The machine came back",
  acknowledged: "The user acknowledged it",
  "late-result": "A result arrived after the action was closed",
};

const time = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" }) : "";

/** The agent's latest progress report in words ("Snoozed by the user until 14:30 (2 of 3)"); "" if none. */
export function progressWords(progress: unknown): string {
  const p = ProgressEvent.safeParse(progress);
  if (!p.success) return "";
  const e = p.data;
  switch (e.kind) {
    case "shown":
      return [
        "Shown to the user",
        e.deadlineAt ? `deadline ${time(e.deadlineAt)}` : "",
        e.snoozesLeft !== undefined ? `${e.snoozesLeft} postponement${e.snoozesLeft === 1 ? "" : "s"} left` : "",
      ]
        .filter(Boolean)
        .join(", ");
    case "waiting":
      return e.reason === "quiet-hours"
        ? `Waiting for quiet hours to end${e.until ? ` (${time(e.until)})` : ""}`
        : "Waiting for a user to sign in";
    case "snoozed":
      return `Postponed by the user until ${time(e.until)} (${e.n} of ${e.max})`;
    case "final-stage":
      return `Final countdown, ends at ${time(e.endsAt)}`;
    case "restarting":
      return {
        "restart-now": "Restarting: the user chose to restart now",
        "countdown-elapsed": "Restarting: the countdown ran out",
        "final-stage-elapsed": "Restarting: the final countdown ran out",
        "no-user": "Restarting: nobody was signed in",
      }[e.choice];
    case "came-back":
      return `The machine came back (booted ${time(e.bootedAt)})`;
    case "acknowledged":
      return "The user acknowledged it";
  }
}

/** Audit log actions in words; unknown ones are de-dotted ("machines.retire" → "Machines retire"). */
const auditWords: Record<string, string> = {
  "actions.queue": "Queued an action",
  "actions.queueBulk": "Queued actions for several machines",
  "actions.cancel": "Cancelled an action",
  "bulk.create": "Started a bulk job",
  "bulk.cancel": "Cancelled a bulk job",
  "keys.create": "Created a key",
  "keys.revoke": "Revoked a key",
  "orgs.create": "Created the organization",
  "orgs.rename": "Renamed the organization",
  "users.create": "Added a user",
  "users.remove": "Removed a user",
  "machines.update": "Changed a machine's name or labels",
  "machines.retire": "Retired a machine",
  "machines.reenroll": "Re-enrolled a machine",
  "machines.approveReenroll": "Approved a machine's re-enrollment",
  "machines.dismissReenroll": "Dismissed a re-enrollment request",
  "machines.enrollToken": "Issued a one-time enrollment token",
  "rest.actions.queue": "Queued an action (REST API)",
  "orgs.legacyAgents": "Turned legacy agent mode on or off",
  "orgs.machineQuota": "Changed the machine quota",
  "orgs.settings": "Changed the organization's settings",
  "users.setRole": "Changed a user's role",
  "users.resetPassword": "Reset a user's password",
};
/** The audit actions the console knows words for (the audit page offers them as a filter). */
export const auditActions: readonly string[] = Object.keys(auditWords);
export function auditWord(action: string): string {
  if (auditWords[action]) return auditWords[action];
  const plain = action
    .replace(/[._-]+/g, " ")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .trim();
  return plain.charAt(0).toUpperCase() + plain.slice(1);
}

/** Who did something: "user:ana@example.com" → "ana@example.com", "key:CI" → "key CI". */
export function actorWord(actor: string): string {
  if (actor.startsWith("user:")) return actor.slice(5);
  if (actor.startsWith("key:")) return `key ${actor.slice(4)}`;
  if (actor === "cli") return "command line";
  return actor;
}

/**
 * What an admin types in a "Who" / "Sent by" filter, as the stored actor: the inverse of actorWord, so
 * the name shown in a row ("ana@example.com", "key CI", "command line") finds that row. The stored
 * form ("user:…", "key:…") is kept as typed.
 */
export function actorFilter(text: string | undefined): string | undefined {
  const t = text?.trim();
  if (!t) return undefined;
  if (/^(user|key|machine):/.test(t) || t === "cli" || t === "setup") return t;
  if (t === "command line") return "cli";
  if (t.startsWith("key ")) return `key:${t.slice(4)}`;
  if (t.includes("@")) return `user:${t}`;
  return t;
}

/** Form and API field paths in words. */
const fieldWords: Record<string, string> = {
  "data.message": "Message",
  "data.title": "Title",
  "data.display": "Show as",
  "data.countdownSeconds": "Countdown",
  "data.maxPostpones": "Postpones allowed",
  machineId: "Machine",
  machineIds: "Machines",
  displayName: "Display name",
  labels: "Labels",
  search: "Search",
  expiresInSeconds: "Expiry",
  name: "Name",
  email: "Email",
  password: "Password",
  role: "Role",
  cursor: "Page",
  limit: "Page size",
  from: "From",
  to: "To",
};
export function fieldWord(path: string): string {
  if (fieldWords[path]) return fieldWords[path];
  // "labels.3" → Labels; "target.filter.search" → Search
  const parts = path.split(".").filter((p) => !/^\d+$/.test(p));
  const whole = parts.join(".");
  if (fieldWords[whole]) return fieldWords[whole];
  const last = parts.at(-1) ?? "input";
  if (fieldWords[last]) return fieldWords[last];
  const plain = last.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return plain.charAt(0).toUpperCase() + plain.slice(1);
}

const UNITS: Record<string, [string, string]> = {
  characters: ["character", "characters"],
  items: ["item", "items"],
};
const plural = (n: number, unit: string) => {
  const [one, many] = UNITS[unit] ?? [unit, unit];
  return `${n} ${n === 1 ? one : many}`;
};

/**
 * One validation message in words. zod's default texts ("Too small: expected number to be >=10",
 * "Invalid input: expected string, received undefined") are rewritten; our own messages ("message is
 * required") only get a capital letter.
 */
export function issueWords(message: string): string {
  const m = message.trim();
  let r: RegExpMatchArray | null;
  if ((r = m.match(/^Too (small|big): expected (\w+) to (?:be|have) ([<>]=?)(-?[\d.]+)(?: (\w+))?/))) {
    const [, side, kind, op, raw, unit] = r;
    const strict = op === "<" || op === ">";
    let n = Number(raw);
    if (strict) n = side === "small" ? n + 1 : n - 1;
    if (kind === "string") {
      if (side === "small") return n <= 1 ? "Required" : `Needs at least ${plural(n, "characters")}`;
      return `At most ${plural(n, "characters")}`;
    }
    if (kind === "array" || kind === "set") {
      if (side === "small") return n <= 1 ? "Choose at least one" : `Choose at least ${n}`;
      return `At most ${plural(n, unit ?? "items")}`;
    }
    return side === "small" ? `Must be at least ${n}` : `Must be at most ${n}`;
  }
  if ((r = m.match(/^Invalid input: expected (\w+), received (\w+)/))) {
    const [, want, got] = r;
    if (got === "undefined" || got === "null") return "Required";
    if (want === "number" || want === "int") return "Must be a number";
    return "Has the wrong kind of value";
  }
  if (/^Invalid option|^Invalid enum/i.test(m)) return "Is not one of the choices";
  if (/^Invalid (UUID|uuid)/.test(m)) return "Is not a valid id";
  if (/^Invalid email/i.test(m)) return "Is not a valid email address";
  if (/^Invalid string: must match pattern/.test(m)) return "Contains characters that are not allowed";
  if (/^Unrecognized keys?/.test(m)) return "Is not expected here";
  if (/^Invalid (input|string|value)/.test(m)) return "Is not valid";
  if (/^Expected (number|integer)/i.test(m)) return "Must be a whole number";
  return m.charAt(0).toUpperCase() + m.slice(1);
}

/**
 * A server error message in words. BAD_REQUEST messages read "data.message: message is required;
 * machineIds: Too big: …": each part becomes "Message: required".
 */
export function errorWords(message: string): string {
  return message
    .split("; ")
    .map((part) => {
      const r = part.match(/^([A-Za-z][\w.]*): (.+)$/s);
      if (!r) return issueWords(part);
      return `${fieldWord(r[1]!)}: ${issueWords(r[2]!).replace(/^(.)/, (c) => c.toLowerCase())}`;
    })
    .join("; ");
}

/** A count with its noun: "1 machine", "2,000 machines". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

/** A bulk job's title, the same on its page and in the list: "Message to 3 machines". */
export function bulkJobTitle(type: string, machines: number): string {
  const word = Object.hasOwn(actionTypeWords, type) ? actionTypeWords[type as keyof typeof actionTypeWords] : "Action";
  return `${word} to ${count(machines, "machine")}`;
}

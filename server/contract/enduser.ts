// End-user experience contract: the reboot policy (the reboot action's data), message urgency, the
// progress events an agent reports while the user decides, and the execute limit a policy implies.
// Server, agent and dashboard import these; nothing here imports another contract module (actions.ts
// builds on this file, so a cycle would break module loading).
import { z } from "zod";

const MINUTE = 60;
const HOUR = 3600;
const DAY = 24 * HOUR;

/** "HH:MM", 24-hour, machine local time. */
export const ClockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "use HH:MM (24-hour)");

/**
 * The maintenance window, in the machine's local time; may cross midnight (22:00 → 06:00).
 * start === end means the whole day.
 */
export const QuietHours = z.object({ start: ClockTime, end: ClockTime }).strict();
export type QuietHours = z.infer<typeof QuietHours>;

/** What happens when nobody is signed in: reboot at once, or wait for the window (the deadline still wins). */
export const NoUserAction = z.enum(["reboot-now", "reboot-in-window"]);
export type NoUserAction = z.infer<typeof NoUserAction>;

/** Snooze durations a user may pick, in seconds (1 minute to 1 day each). */
export const SnoozeOptions = z
  .array(z.number().int().min(MINUTE).max(DAY))
  .min(1)
  .max(6)
  .refine((a) => new Set(a).size === a.length, "snooze options must differ");

/** The policy's fields before defaults and cross-field rules (org defaults and per-action overrides build on it). */
export const rebootPolicyFields = z
  .object({
    /** First prompt: how long its countdown runs before the machine restarts. */
    countdownSeconds: z.number().int().min(10).max(HOUR).default(60),
    /** Original name of maxSnoozes, still accepted (used when maxSnoozes is absent). */
    maxPostpones: z.number().int().min(0).max(10).optional(),
    /** How many times the user may snooze. */
    maxSnoozes: z.number().int().min(0).max(20).optional(),
    /** The durations the user may pick when snoozing (default: the agent's, 600 s). */
    snoozeOptions: SnoozeOptions.optional(),
    /** Deadline counted from delivery to the agent; after it, the final stage runs. */
    deadlineSeconds: z
      .number()
      .int()
      .min(MINUTE)
      .max(14 * DAY)
      .optional(),
    /** Deadline as an ISO time (alternative to deadlineSeconds). */
    deadlineAt: z.iso.datetime({ offset: true }).optional(),
    /** Final stage: a countdown the user cannot close or snooze, only "Restart now" (default: countdownSeconds). */
    finalCountdownSeconds: z.number().int().min(10).max(HOUR).optional(),
    /** The maintenance window in the machine's local time. */
    quietHours: QuietHours.optional(),
    /** Prompts wait for the quiet hours (the window); the deadline wins over the window. */
    waitForQuietHours: z.boolean().optional(),
    /** Nobody signed in: reboot at once (default) or in the window. */
    noUserAction: NoUserAction.optional(),
  })
  .strict();

/**
 * The reboot action's data. Backward compatible with `{countdownSeconds, maxPostpones}`: `{}` still
 * stores `{countdownSeconds: 60, maxPostpones: 3}`, and a policy that names maxSnoozes stores no
 * maxPostpones of its own. Read it through resolveRebootPolicy(), never field by field.
 */
export const RebootPolicy = rebootPolicyFields
  .superRefine((p, ctx) => {
    if (p.deadlineSeconds !== undefined && p.deadlineAt !== undefined)
      ctx.addIssue({ code: "custom", path: ["deadlineAt"], message: "give deadlineSeconds or deadlineAt, not both" });
    if (p.waitForQuietHours && !p.quietHours)
      ctx.addIssue({ code: "custom", path: ["quietHours"], message: "waiting for quiet hours needs quietHours" });
    if (p.noUserAction === "reboot-in-window" && !p.quietHours)
      ctx.addIssue({ code: "custom", path: ["quietHours"], message: "rebooting in the window needs quietHours" });
  })
  .transform((p) => (p.maxSnoozes === undefined && p.maxPostpones === undefined ? { ...p, maxPostpones: 3 } : p));
export type RebootPolicy = z.output<typeof RebootPolicy>;
export type RebootPolicyInput = z.input<typeof RebootPolicy>;

/** Snooze duration used when a policy gives no snoozeOptions (the original fixed postponement). */
export const DEFAULT_SNOOZE_SECONDS = 600;
/** Time allowed after the final stage for the reboot itself and the agent's "came back" report. */
export const REBOOT_MARGIN_SECONDS = 15 * MINUTE;

/** A policy with every default applied and the deadline as an absolute time (ms), or null. */
export type ResolvedRebootPolicy = {
  countdownSeconds: number;
  maxSnoozes: number;
  snoozeOptions: number[];
  deadlineAtMs: number | null;
  finalCountdownSeconds: number;
  quietHours: QuietHours | null;
  waitForQuietHours: boolean;
  noUserAction: NoUserAction;
};

/** Applies the defaults; `deliveredAtMs` anchors deadlineSeconds (the agent's first receipt). */
export function resolveRebootPolicy(
  p: RebootPolicy,
  deliveredAtMs: number,
  defaults: { snoozeSeconds?: number } = {},
): ResolvedRebootPolicy {
  const deadlineAtMs =
    p.deadlineAt !== undefined
      ? Date.parse(p.deadlineAt)
      : p.deadlineSeconds !== undefined
        ? deliveredAtMs + p.deadlineSeconds * 1000
        : null;
  return {
    countdownSeconds: p.countdownSeconds,
    maxSnoozes: p.maxSnoozes ?? p.maxPostpones ?? 3,
    snoozeOptions: [...(p.snoozeOptions ?? [defaults.snoozeSeconds ?? DEFAULT_SNOOZE_SECONDS])].sort((a, b) => a - b),
    deadlineAtMs,
    finalCountdownSeconds: p.finalCountdownSeconds ?? p.countdownSeconds,
    quietHours: p.quietHours ?? null,
    waitForQuietHours: p.waitForQuietHours ?? false,
    noUserAction: p.noUserAction ?? "reboot-now",
  };
}

/**
 * How long (seconds from now, i.e. from the agent's ack) an executing reboot may take before the
 * server calls it `unknown`: the deadline (or, without one, every prompt and the longest snoozes,
 * plus a day of waiting for the window when asked), then the final stage, then a margin for the
 * reboot and the "came back" report. The server uses max(this, its configured execute limit).
 */
export function policyExecuteLimitSeconds(p: RebootPolicy, now: Date = new Date()): number {
  const r = resolveRebootPolicy(p, now.getTime());
  let untilFinal: number;
  if (r.deadlineAtMs !== null) {
    untilFinal = Math.max(0, Math.ceil((r.deadlineAtMs - now.getTime()) / 1000));
  } else {
    const longestSnooze = Math.max(...r.snoozeOptions);
    const windowWaits = r.waitForQuietHours ? (r.maxSnoozes + 1) * DAY : 0;
    untilFinal = (r.maxSnoozes + 1) * r.countdownSeconds + r.maxSnoozes * longestSnooze + windowWaits;
  }
  return untilFinal + r.finalCountdownSeconds + REBOOT_MARGIN_SECONDS;
}

export const urgencies = ["info", "warning", "critical"] as const;
/** How a message is shown: colour and icon (info, warning, critical). */
export const Urgency = z.enum(urgencies);
export type Urgency = z.infer<typeof Urgency>;

/** Fields the message action gained for end users (merged into MessageData in actions.ts). */
export const messageEndUserFields = {
  /** The dialog stays until the user clicks "I have read this"; the result records when. */
  requireAcknowledgement: z.boolean().optional(),
  /** Colour and icon; default info. */
  urgency: Urgency.optional(),
  /** Not shown after this time (the agent reports it as expired). */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
};

/** Organisation branding shown in the end-user windows (logo optional, a data: URL of PNG/JPEG/WebP). */
export const Branding = z
  .object({
    orgName: z.string().trim().min(1).max(80),
    supportText: z.string().trim().max(300).optional(),
    logoDataUrl: z
      .string()
      .max(200_000)
      .regex(/^data:image\/(png|jpeg|webp);base64,[A-Za-z0-9+/=]+$/, "a PNG, JPEG or WebP data: URL")
      .optional(),
  })
  .strict();
export type Branding = z.infer<typeof Branding>;

/**
 * agent.branding input (optional: without it the answer is the plain Branding). `etag`: the one the
 * agent holds, from its last answer; absent on a first fetch.
 */
export const BrandingQuery = z.object({ etag: z.string().max(64).optional() }).strict();
export type BrandingQuery = z.infer<typeof BrandingQuery>;

/**
 * agent.branding answer to an agent that sent a BrandingQuery: the branding and its etag. When the
 * etag is the one the agent sent, the logo (the only heavy part, up to 64 KB) is left out: the agent
 * keeps what it holds.
 */
export const BrandingAnswer = Branding.extend({ etag: z.string().min(1).max(64) });
export type BrandingAnswer = z.infer<typeof BrandingAnswer>;

/**
 * The image type of a logo by its magic bytes (PNG, JPEG or WebP), or null; the declared type is never
 * trusted. The one rule, used by the server when an owner uploads a logo and by the agent before it
 * shows one.
 */
export function logoTypeOf(bytes: Uint8Array): "image/png" | "image/jpeg" | "image/webp" | null {
  const at = (i: number, ...b: number[]) => b.every((v, j) => bytes[i + j] === v);
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (at(0, 0xff, 0xd8, 0xff)) return "image/jpeg";
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return "image/webp"; // RIFF....WEBP
  return null;
}

const IsoTime = z.iso.datetime({ offset: true });

/**
 * What the agent reports while an action waits for the user, in order. `at` is the agent's clock.
 * - shown: a prompt (reboot) or a message is on screen; for a reboot, the deadline and snoozes left.
 * - waiting: nothing shown yet, waiting for the window (quiet hours) or for a user to sign in.
 * - snoozed: the user snoozed until `until`, snooze n of max.
 * - final-stage: the last countdown (no snooze, no close) ends at `endsAt`.
 * - restarting: the agent is about to run the reboot command (choice says why).
 * - came-back: the machine booted at `bootedAt`, after the reboot was requested.
 * - acknowledged: the user clicked "I have read this" at `at`.
 */
export const ProgressEvent = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("shown"),
      at: IsoTime,
      deadlineAt: IsoTime.nullable().optional(),
      snoozesLeft: z.number().int().min(0).max(20).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal("waiting"),
      at: IsoTime,
      until: IsoTime.nullable(),
      reason: z.enum(["quiet-hours", "no-user"]),
    })
    .strict(),
  z
    .object({
      kind: z.literal("snoozed"),
      at: IsoTime,
      until: IsoTime,
      n: z.number().int().min(1).max(20),
      max: z.number().int().min(0).max(20),
    })
    .strict(),
  z.object({ kind: z.literal("final-stage"), at: IsoTime, endsAt: IsoTime }).strict(),
  z
    .object({
      kind: z.literal("restarting"),
      at: IsoTime,
      choice: z.enum(["restart-now", "countdown-elapsed", "final-stage-elapsed", "no-user"]),
    })
    .strict(),
  z.object({ kind: z.literal("came-back"), at: IsoTime, bootedAt: IsoTime }).strict(),
  z.object({ kind: z.literal("acknowledged"), at: IsoTime }).strict(),
]);
export type ProgressEvent = z.infer<typeof ProgressEvent>;
export type ProgressKind = ProgressEvent["kind"];

/**
 * The progress kinds each action type may report; agent.progress refuses the others (BAD_REQUEST on
 * `event.kind`): a message is shown and read, never snoozed; a reboot is never "acknowledged"; a
 * restart's confirmation can only be shown. The agent checks the same table before sending.
 */
export const progressKindsByType = {
  message: ["shown", "acknowledged"],
  restart: ["shown"],
  reboot: ["shown", "waiting", "snoozed", "final-stage", "restarting", "came-back"],
} as const satisfies Record<string, readonly ProgressKind[]>;

/** Whether an action of `type` may report an event of `kind` (an unknown type fits nothing). */
export function progressKindFits(type: string, kind: ProgressKind): boolean {
  const kinds: readonly ProgressKind[] | undefined = (progressKindsByType as Record<string, readonly ProgressKind[]>)[
    type
  ];
  return kinds?.includes(kind) ?? false;
}

/**
 * agent.progress input. `seq` numbers the events of one action from 0, so a resent event (after a
 * network error) is recognised and stored once. Fenced by the claim token like results.
 */
export const ProgressInput = z
  .object({
    actionId: z.string().uuid(),
    claimToken: z.string().min(1).max(100),
    seq: z.number().int().min(0).max(10_000),
    event: ProgressEvent,
  })
  .strict();
export type ProgressInput = z.infer<typeof ProgressInput>;

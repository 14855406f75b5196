// Action contract shared by server, agent and dashboard: types, payloads, statuses, results.
// Defined once here; the agent and the dashboard import these schemas, never server internals.
import { z } from "zod";
import { messageEndUserFields, RebootPolicy } from "./enduser.ts";
import { safeText } from "./text.ts";

/** Longest message text an admin may send (characters). */
export const MESSAGE_MAX = 4000;
/** Longest result text an agent may report (characters). */
export const RESULT_MAX = 4000;

export const actionTypes = ["message", "restart", "reboot"] as const;
/** The kinds of action an admin can queue. */
export const ActionType = z.enum(actionTypes);
export type ActionType = z.infer<typeof ActionType>;

/** Bidirectional embeddings, overrides and isolates (the same set names refuse, contract/text.ts). */
const BIDI_OVERRIDES = /[\u202A-\u202E\u2066-\u2069]/u;

/** `message`: text shown to the end user, as a notification or a dialog that waits for OK. */
export const MessageData = z
  .object({
    // Newlines and tabs are fine in a message; bidi overrides are not: shown verbatim to the end user,
    // "pay at evil.example/\u202Emoc.knab" reads as a different address (and reversed the activity row).
    message: z
      .string()
      .trim()
      .min(1, "message is required")
      .max(MESSAGE_MAX)
      .refine((text) => !BIDI_OVERRIDES.test(text), {
        message: "must not contain bidirectional override characters (U+202A–U+202E, U+2066–U+2069)",
      }),
    title: safeText(200).default("DashFleet"),
    display: z.enum(["notification", "dialog"]).default("notification"),
    ...messageEndUserFields,
  })
  .strict();
export type MessageData = z.infer<typeof MessageData>;

/** `restart`: relaunch the agent (after the user agrees). No options. */
export const RestartData = z.object({}).strict();
export type RestartData = z.infer<typeof RestartData>;

/** `reboot`: reboot the machine under a policy (countdown, snoozes, deadline, final stage): see enduser.ts. */
export const RebootData = RebootPolicy;
export type RebootData = z.infer<typeof RebootData>;

/** One action as an admin describes it: its type and that type's data. */
export const ActionSpec = z.discriminatedUnion("type", [
  z.object({ type: z.literal("message"), data: MessageData }),
  z.object({ type: z.literal("restart"), data: RestartData.default({}) }),
  z.object({ type: z.literal("reboot"), data: RebootData.default({ countdownSeconds: 60, maxPostpones: 3 }) }),
]);
export type ActionSpec = z.infer<typeof ActionSpec>;
export type ActionSpecInput = z.input<typeof ActionSpec>;

/** Schema of each type's data, for code that holds a type and raw data separately. */
export const actionDataSchemas = {
  message: MessageData,
  restart: RestartData,
  reboot: RebootData,
} as const;

/** Expiry an admin may set on an action: 1 minute to 30 days, default 24 hours. */
export const ExpiresInSeconds = z.number().int().min(60).max(30 * 24 * 3600);
export const DEFAULT_EXPIRES_IN_SECONDS = 24 * 3600;

/** What the end user chose when asked to confirm a restart or a reboot. */
export const UserChoice = z.enum(["accepted", "declined", "countdown-elapsed", "postponed-max", "not-asked"]);
export type UserChoice = z.infer<typeof UserChoice>;

/** Detail an agent adds to a result: the user's choice and how often they postponed. */
export const ActionOutcome = z
  .object({
    userChoice: UserChoice.optional(),
    postponements: z.number().int().min(0).max(100).optional(),
  })
  .strict();
export type ActionOutcome = z.infer<typeof ActionOutcome>;

export const ResultStatus = z.enum(["done", "error"]);
export type ResultStatus = z.infer<typeof ResultStatus>;

/** Server-generated action id (a UUID). */
export const ActionId = z.string().uuid();

/** An action as handed to an agent: with the claim token that its ack and result must carry. */
export const DeliveredAction = z.object({
  id: z.string(),
  type: ActionType,
  data: z.unknown(),
  claimToken: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
});
export type DeliveredAction = z.infer<typeof DeliveredAction>;

/** agent.ack input: the agent is about to run the action. */
export const AckInput = z.object({ actionId: ActionId, claimToken: z.string().min(1).max(100) }).strict();

/** agent.reportResult input. */
export const ResultInput = z
  .object({
    actionId: ActionId,
    claimToken: z.string().min(1).max(100),
    status: ResultStatus,
    result: z.string().max(RESULT_MAX),
    outcome: ActionOutcome.optional(),
  })
  .strict();
export type ResultInput = z.infer<typeof ResultInput>;

// Organisation settings contract: the reboot policy's org-wide defaults, the per-action overrides an
// admin queues (merged over those defaults on the server), and the branding an owner sets for the
// agent's windows. Built on enduser.ts (one definition of each policy field) and actions.ts.
import { z } from "zod";
import { MessageData, RestartData } from "./actions.ts";
import { rebootPolicyFields } from "./enduser.ts";
import { safeText } from "./text.ts";

/**
 * The reboot fields an admin gives for one action: any subset of the policy. The server merges them
 * over the organisation's defaults and validates the result once with RebootPolicy.
 */
export const RebootOverrides = rebootPolicyFields.extend({
  // The one field with a default: without it, "not given" would read as 60 s and hide the org's default.
  countdownSeconds: rebootPolicyFields.shape.countdownSeconds.unwrap().optional(),
  // null: none for this action, whatever the org's default (no window, no deadline).
  quietHours: rebootPolicyFields.shape.quietHours.unwrap().nullable().optional(),
  deadlineSeconds: rebootPolicyFields.shape.deadlineSeconds.unwrap().nullable().optional(),
  deadlineAt: rebootPolicyFields.shape.deadlineAt.unwrap().nullable().optional(),
});
export type RebootOverrides = z.infer<typeof RebootOverrides>;

/** The organisation's defaults: the same fields, minus deadlineAt (an absolute time is per action); null = none. */
export const RebootDefaults = RebootOverrides.omit({ deadlineAt: true });
export type RebootDefaults = z.infer<typeof RebootDefaults>;

/**
 * An action as an admin queues it (actions.queue, queueBulk, bulk.create): like ActionSpec, but a
 * reboot's data is the overrides, resolved against the org defaults by resolveActionData().
 */
export const QueueSpec = z.discriminatedUnion("type", [
  z.object({ type: z.literal("message"), data: MessageData }),
  z.object({ type: z.literal("restart"), data: RestartData.default({}) }),
  z.object({ type: z.literal("reboot"), data: RebootOverrides.default({}) }),
]);
export type QueueSpec = z.infer<typeof QueueSpec>;

/** Logo limits: at most 64 KB, PNG, JPEG or WebP (checked by magic bytes on the server). */
export const LOGO_MAX_BYTES = 64 * 1024;
export const logoTypes = ["image/png", "image/jpeg", "image/webp"] as const;
export type LogoType = (typeof logoTypes)[number];

/** Branding as an owner edits it. `logoBase64`: new logo bytes; null removes it; absent keeps it. */
export const BrandingUpdate = z
  .object({
    brandName: safeText(80).nullable().optional(),
    supportText: safeText(300).nullable().optional(),
    logoBase64: z
      .string()
      .max(Math.ceil(LOGO_MAX_BYTES / 3) * 4 + 4, "the logo is larger than 64 KB")
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, "not base64")
      .nullable()
      .optional(),
  })
  .strict();
export type BrandingUpdate = z.infer<typeof BrandingUpdate>;

/** settings.update input: either part may be left out; `rebootPolicy: null` goes back to built-in defaults. */
export const SettingsUpdate = z
  .object({ rebootPolicy: RebootDefaults.nullable().optional(), branding: BrandingUpdate.optional() })
  .strict()
  // An update that names nothing to change is a mistake on the caller's side, not a silent success.
  .refine((u) => u.rebootPolicy !== undefined || (u.branding !== undefined && Object.keys(u.branding).length > 0), {
    message: "nothing to change: give rebootPolicy or branding",
  });
export type SettingsUpdate = z.infer<typeof SettingsUpdate>;

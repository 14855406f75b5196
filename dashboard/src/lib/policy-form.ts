// Form state of the reboot policy editor and the message options: what a form starts from (the org's
// defaults, else the contract's built-in ones) and the draft as the contract reads it (an emptied
// number input is null in the DOM; the contract wants the field absent).
import type { RebootDefaults, RebootOverrides } from "../../../server/contract/index.ts";

/** The built-in policy, as the contract stores `{}`: a 60 s countdown and 3 snoozes. */
export const BUILT_IN_POLICY: RebootOverrides = { countdownSeconds: 60, maxSnoozes: 3 };

/** A fresh, editable copy of the org's defaults (or the built-in policy). */
export function initialPolicy(defaults: RebootDefaults | null | undefined): RebootOverrides {
  return structuredClone({ ...BUILT_IN_POLICY, ...(defaults ?? {}) });
}

/** The draft without empty fields (null, NaN, ""), deep, so validation sees what would be sent. */
export function withoutEmpty<T extends object>(draft: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(draft)) {
    if (v === null || v === undefined || v === "" || (typeof v === "number" && Number.isNaN(v))) continue;
    out[k] = typeof v === "object" && !Array.isArray(v) ? withoutEmpty(v as object) : v;
  }
  return out as T;
}

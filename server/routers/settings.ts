// settings.*: the organisation's reboot-policy defaults and the branding of the agent's windows.
// Everyone signed in reads them (the Actions dialog shows the defaults); only owners change them.
import { SettingsUpdate } from "../contract/index.ts";
import { getSettings, updateSettings } from "../services/settings.ts";
import { adminProcedure, ownerProcedure, router } from "../trpc.ts";

export const settingsRouter = router({
  /** → {rebootPolicy: defaults | null, branding: {brandName, supportText, logoDataUrl, logoBytes}} */
  get: adminProcedure.query(({ ctx }) => getSettings(ctx.db, ctx.admin.orgId)),

  /**
   * {rebootPolicy?: defaults | null, branding?: {brandName?, supportText?, logoBase64? | null}} → the
   * settings. A logo must be PNG, JPEG or WebP (by its bytes) of at most 64 KB. Audited.
   */
  update: ownerProcedure
    .input(SettingsUpdate)
    .mutation(({ ctx, input }) => updateSettings(ctx.db, ctx.clock, ctx.admin, input)),
});

// Organisation settings: the reboot policy's org-wide defaults and the branding of the agent's
// windows (name, support text, a logo checked by its magic bytes). resolveActionData() is the one
// place a queued action's data is completed: org defaults merged under the admin's fields, then
// validated once with the contract's schema, so every queue path (tRPC, bulk, REST) stores the same.
import type { Clock } from "../clock.ts";
import { createHash } from "node:crypto";
import {
  Branding,
  cutText,
  logoTypeOf,
  LOGO_MAX_BYTES,
  RebootDefaults,
  RebootPolicy,
  type ActionSpec,
  type BrandingAnswer,
  type BrandingQuery,
  type LogoType,
  type SettingsUpdate,
} from "../contract/index.ts";
import type { Db } from "../db.ts";
import { invalid, notFound } from "../domain/errors.ts";
import { parseSpec } from "./actionLifecycle.ts";
import { writeAudit } from "./audit.ts";

type Actor = { orgId: string; actor: string };

/** The org's settings as the dashboard shows them. The logo travels as a data: URL of its checked type. */
export type OrgSettings = {
  rebootPolicy: RebootDefaults | null;
  branding: {
    brandName: string | null;
    supportText: string | null;
    logoDataUrl: string | null;
    logoBytes: number | null;
  };
};

/** Parses stored defaults (a bad row reads as "none": it was validated on the way in). */
function storedDefaults(json: string | null): RebootDefaults | null {
  if (!json) return null;
  try {
    const parsed = RebootDefaults.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

const dataUrl = (type: string | null, logo: Uint8Array | null) =>
  logo && type ? `data:${type};base64,${Buffer.from(logo).toString("base64")}` : null;

const settingsSelect = {
  name: true,
  rebootPolicy: true,
  brandName: true,
  supportText: true,
  logo: true,
  logoType: true,
} as const;

/** The org's reboot defaults and branding. */
export async function getSettings(db: Db, orgId: string): Promise<OrgSettings> {
  const org = await db.organization.findUnique({ where: { id: orgId }, select: settingsSelect });
  if (!org) throw notFound("No such organization");
  return {
    rebootPolicy: storedDefaults(org.rebootPolicy),
    branding: {
      brandName: org.brandName,
      supportText: org.supportText,
      logoDataUrl: dataUrl(org.logoType, org.logo),
      logoBytes: org.logo ? org.logo.length : null,
    },
  };
}

/** Checks a policy's cross-field rules, naming the field ("rebootPolicy.quietHours"). */
function checkPolicy(policy: unknown, prefix: string): void {
  const parsed = RebootPolicy.safeParse(policy);
  if (parsed.success) return;
  const i = parsed.error.issues[0];
  throw invalid([prefix, ...(i?.path ?? [])].map(String).join("."), i?.message ?? "invalid", parsed.error);
}

/** Decodes and checks a logo: PNG, JPEG or WebP by magic bytes, at most 64 KB. */
function checkLogo(base64: string): { bytes: Uint8Array<ArrayBuffer>; type: LogoType } {
  const bytes = new Uint8Array(Buffer.from(base64, "base64"));
  if (bytes.length === 0) throw invalid("branding.logoBase64", "the logo is empty");
  if (bytes.length > LOGO_MAX_BYTES) throw invalid("branding.logoBase64", "the logo is larger than 64 KB");
  const type = logoTypeOf(bytes); // by its magic bytes (the contract's rule, shared with the agent)
  if (!type) throw invalid("branding.logoBase64", "the logo must be a PNG, JPEG or WebP image");
  return { bytes, type };
}

/** Owner: replaces the reboot defaults and/or the branding (fields left out are kept). Audited. */
export async function updateSettings(db: Db, clock: Clock, who: Actor, input: SettingsUpdate): Promise<OrgSettings> {
  const data: {
    rebootPolicy?: string | null;
    brandName?: string | null;
    supportText?: string | null;
    logo?: Uint8Array<ArrayBuffer> | null;
    logoType?: string | null;
  } = {};
  if (input.rebootPolicy !== undefined) {
    // Stored without nulls (a null field of the defaults means "none", i.e. absent).
    const policy =
      input.rebootPolicy && Object.fromEntries(Object.entries(input.rebootPolicy).filter(([, v]) => v !== null));
    if (policy) checkPolicy(policy, "rebootPolicy");
    data.rebootPolicy = policy ? JSON.stringify(policy) : null;
  }
  const b = input.branding;
  if (b?.brandName !== undefined) data.brandName = b.brandName;
  if (b?.supportText !== undefined) data.supportText = b.supportText;
  if (b?.logoBase64 === null) Object.assign(data, { logo: null, logoType: null });
  else if (b?.logoBase64 !== undefined) {
    const logo = checkLogo(b.logoBase64);
    Object.assign(data, { logo: logo.bytes, logoType: logo.type });
  }
  await db.$transaction(async (tx) => {
    // Nothing that differs from what is stored: no write, no audit row.
    const now = await tx.organization.findUnique({ where: { id: who.orgId }, select: settingsSelect });
    if (!now) throw notFound("No such organization");
    const changed = (Object.keys(data) as (keyof typeof data)[]).filter((k) => {
      const [a, b] = [data[k], now[k]];
      return a instanceof Uint8Array && b instanceof Uint8Array ? Buffer.compare(a, b) !== 0 : a !== b;
    });
    if (changed.length === 0) return;
    await tx.organization.update({ where: { id: who.orgId }, data, select: { id: true } });
    await writeAudit(tx, {
      orgId: who.orgId,
      actor: who.actor,
      action: "orgs.settings",
      target: who.orgId,
      detail: {
        rebootPolicy: input.rebootPolicy,
        brandName: b?.brandName,
        supportText: b?.supportText,
        logo:
          data.logoType === undefined
            ? undefined
            : data.logo
              ? `${data.logoType}, ${data.logo.length} bytes`
              : "removed",
      },
      at: clock.now(),
    });
  });
  return getSettings(db, who.orgId);
}

/**
 * What the agent's windows show (the contract's Branding): the brand name, or the org's name. With a
 * query (the agent's), the answer carries an etag, a hash of what it shows, and leaves the logo out
 * when the agent already holds that etag. One primary-key read and a hash of at most 64 KB: cheap
 * enough for every machine every few minutes, with nothing cached that several processes would have
 * to invalidate (see tray-agent/src/core/branding.ts for why the agent asks this way).
 */
export function brandingForMachine(db: Db, orgId: string): Promise<Branding>;
export function brandingForMachine(db: Db, orgId: string, query: BrandingQuery): Promise<BrandingAnswer>;
export async function brandingForMachine(
  db: Db,
  orgId: string,
  query?: BrandingQuery,
): Promise<Branding | BrandingAnswer> {
  const org = await db.organization.findUnique({ where: { id: orgId }, select: settingsSelect });
  if (!org) throw notFound("No such organization");
  const logo = dataUrl(org.logoType, org.logo);
  const branding = Branding.parse({
    orgName: cutText(org.brandName ?? org.name, 80),
    ...(org.supportText ? { supportText: org.supportText } : {}),
    ...(logo ? { logoDataUrl: logo } : {}),
  });
  if (!query) return branding;
  const etag = createHash("sha256")
    .update(JSON.stringify([branding.orgName, branding.supportText ?? null, branding.logoDataUrl ?? null]))
    .digest("base64url")
    .slice(0, 22);
  if (query.etag !== etag) return { ...branding, etag };
  const { logoDataUrl: _unchanged, ...light } = branding;
  return { ...light, etag };
}

/**
 * The data a queued action stores: for a reboot, the org's defaults with the admin's own fields over
 * them (a field the admin gives replaces its alternative too: maxPostpones vs maxSnoozes, deadlineSeconds
 * vs deadlineAt), validated once by parseSpec (other types as they are). Bad data names its field
 * ("data.quietHours"); a user-given `type` (REST) that is no action type names action_type. A reboot's
 * deadlineAt or a message's expiresAt more than MAX_AHEAD_DAYS ahead is refused (see assertWithinReach).
 */
export async function resolveActionData(
  deps: { db: Db; clock: Clock },
  orgId: string,
  spec: { type: unknown; data: unknown },
): Promise<ActionSpec> {
  const { type } = spec;
  let data = spec.data ?? {};
  if (type === "reboot" && typeof data === "object" && !Array.isArray(data)) {
    const own = data as Record<string, unknown>;
    const org = await deps.db.organization.findUnique({ where: { id: orgId }, select: { rebootPolicy: true } });
    const defaults: Record<string, unknown> = { ...storedDefaults(org?.rebootPolicy ?? null) };
    const given = (k: string) => own[k] !== undefined;
    if (given("maxPostpones") || given("maxSnoozes")) {
      delete defaults.maxPostpones;
      delete defaults.maxSnoozes;
    }
    if (given("deadlineAt") || given("deadlineSeconds")) delete defaults.deadlineSeconds;
    if (own.quietHours === null) {
      delete defaults.waitForQuietHours;
      if (defaults.noUserAction === "reboot-in-window") delete defaults.noUserAction;
    }
    // The admin's null clears a default (no window, no deadline for this reboot).
    const merged = { ...defaults, ...Object.fromEntries(Object.entries(own).filter(([, v]) => v !== undefined)) };
    data = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== null));
  }
  const resolved = parseSpec(type, data);
  assertWithinReach(resolved, deps.clock.now());
  return resolved;
}

/** How far ahead a reboot's deadlineAt or a message's expiresAt may be, in days. */
export const MAX_AHEAD_DAYS = 365;

/**
 * The execute limit of an acknowledged reboot (or a message waiting to be read) runs to its deadline or
 * expiry (actionLifecycle.executeLimitSeconds): with "9999-12-31T23:59:59Z" the ack computed a time past
 * year 9999, which neither database stores (agent.ack was a 500 on both, so the action could never run).
 */
function assertWithinReach(spec: ActionSpec, now: Date): void {
  const [field, time] =
    spec.type === "reboot"
      ? ["deadlineAt", spec.data.deadlineAt]
      : spec.type === "message"
        ? ["expiresAt", spec.data.expiresAt]
        : [null, undefined];
  if (field && time !== undefined && Date.parse(time) > now.getTime() + MAX_AHEAD_DAYS * 86_400_000)
    throw invalid(`data.${field}`, `must be at most ${MAX_AHEAD_DAYS} days from now`);
}

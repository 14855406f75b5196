// The organisation's branding in the agent's windows (name, support text, logo): asked of the server
// (agent.branding), cached in the data folder (branding.json, 0600) so the windows stay branded while
// the server is unreachable, and checked before any window sees it: the name and support text lose
// control and bidirectional-override characters (the page shows them as text anyway), and the logo is
// only ever an image re-encoded from bytes whose magic numbers say PNG, JPEG or WebP (at most 64 KB).
//
// Where it comes from, first found wins: the server's answer; the cached last answer of this server;
// the config file's `branding` (a fallback for a first start before the server was ever reached, e.g.
// written by an installer; the owner's console setting replaces it as soon as the server answers);
// nothing (the windows then say "your organisation").
//
// When it is asked, and why this way: once enrolled at every start, then every 15 minutes, sending the
// etag of what the agent holds; while nothing changed the answer leaves the logo out (a few hundred
// bytes). The other ways considered:
// - a branding version in the poll or report answers: those are the hot path (every 10-30 s per
//   machine, answered by server/http/fastPoll.ts without reading the organization). A version there
//   costs an organization read, or a per-process cache kept coherent across server processes, on every
//   poll of every machine, for a value an owner changes a few times a year.
// - the push stream: it only wakes the poller (push.ts) and is optional (--no-push).
// The conditional query costs one primary-key read per machine per 15 minutes (10,000 machines: about
// 11 small requests a second), keeps no state on the server, and a change reaches every machine within
// 15 minutes (at once on its next start).
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { logoTypeOf, LOGO_MAX_BYTES, type Branding } from "../../../server/contract/index.ts";
import { classifyFailure, errorCodeOf, type AgentApi } from "./api.ts";
import { writeFileAtomic } from "./fsatomic.ts";
import type { Logger } from "./log.ts";

/** How often the agent asks for the branding again (with its etag). */
export const BRANDING_REFRESH_MS = 15 * 60_000;
/** After a failed ask (server unreachable): ask again this soon. */
const RETRY_MS = 60_000;
const CACHE_FILE = "branding.json";

/** Where the branding in use came from. */
export type BrandingOrigin = "server" | "cache" | "config";

/** C0/C1 controls and bidi embeddings, overrides and isolates (the server's text.ts refuses the same). */
const HIDING = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/gu;
const clean = (s: string, max: number) => s.replace(HIDING, "").trim().slice(0, max);

/**
 * A logo the windows may show: a data: URL re-encoded from its bytes, typed by their magic numbers
 * (never by the declared type), or null (not PNG/JPEG/WebP, empty, over 64 KB, not base64).
 */
export function checkedLogo(dataUrl: string): string | null {
  if (dataUrl.length > 100_000) return null;
  const m = /^data:image\/[a-z]+;base64,([A-Za-z0-9+/]+={0,2})$/.exec(dataUrl);
  if (!m) return null;
  const bytes = Buffer.from(m[1]!, "base64");
  if (bytes.length === 0 || bytes.length > LOGO_MAX_BYTES) return null;
  const type = logoTypeOf(bytes);
  return type ? `data:${type};base64,${bytes.toString("base64")}` : null;
}

/**
 * Branding fit for a window, from anything (a server answer, the cache, the config file): the name
 * and support text cleaned and cut to the contract's lengths, the logo checked (dropped if unfit, the
 * rest kept). Null without a usable name.
 */
export function safeBranding(raw: unknown, log?: Logger): Branding | null {
  const o = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>) : null;
  if (typeof o?.orgName !== "string") return null;
  const orgName = clean(o.orgName, 80);
  if (!orgName) return null;
  const supportText = typeof o.supportText === "string" ? clean(o.supportText, 300) : "";
  const logo = typeof o.logoDataUrl === "string" ? checkedLogo(o.logoDataUrl) : null;
  if (typeof o.logoDataUrl === "string" && !logo)
    log?.warn("branding: the logo is not a PNG, JPEG or WebP image of at most 64 KB; it is not shown");
  return { orgName, ...(supportText ? { supportText } : {}), ...(logo ? { logoDataUrl: logo } : {}) };
}

/** One line for the log: what the windows show. */
export function describeBranding(b: Branding, origin: BrandingOrigin): string {
  const logo = b.logoDataUrl
    ? `logo ${b.logoDataUrl.slice(5, b.logoDataUrl.indexOf(";"))} (${Buffer.from(b.logoDataUrl.slice(b.logoDataUrl.indexOf(",") + 1), "base64").length} bytes)`
    : "no logo";
  const from = { server: "from the server", cache: "cached from the server", config: "from the config file" }[origin];
  return `branding ${from}: ${JSON.stringify(b.orgName)}, ${b.supportText ? "support text" : "no support text"}, ${logo}`;
}

/** branding.json: the last answer of one server. */
const CacheFile = z.object({
  v: z.literal(1),
  server: z.string(),
  etag: z.string(),
  fetchedAt: z.string(),
  branding: z.unknown(),
});
type CacheFile = z.infer<typeof CacheFile>;

/** The cached branding of `server`, checked again (the file is read as untrusted), or null. */
export function readBrandingCache(dataDir: string, server: string): { etag: string; branding: Branding } | null {
  let parsed: CacheFile;
  try {
    parsed = CacheFile.parse(JSON.parse(fs.readFileSync(path.join(dataDir, CACHE_FILE), "utf8")));
  } catch {
    return null; // absent or unreadable: the next answer rewrites it
  }
  // Another server (the agent was moved to another organization): its branding is not ours.
  if (parsed.server !== server) return null;
  const branding = safeBranding(parsed.branding);
  return branding ? { etag: parsed.etag, branding } : null;
}

/** Writes branding.json atomically, readable by this user only. */
export function writeBrandingCache(dataDir: string, server: string, etag: string, branding: Branding, at: Date): void {
  const file: CacheFile = { v: 1, server, etag, fetchedAt: at.toISOString(), branding };
  writeFileAtomic(path.join(dataDir, CACHE_FILE), `${JSON.stringify(file, null, 2)}\n`, 0o600);
}

export type BrandingKeeperDeps = {
  dataDir: string;
  server: string;
  /** The config file's branding (fallback until the server's is known). */
  fallback: Branding | null;
  log: Logger;
  now: () => Date;
  /** Hands the branding to the desktop (called when it changes). */
  apply: (b: Branding | null) => void;
  refreshMs?: number;
};

/** Holds the branding in use; the connection loop calls refresh() when it is due. */
export class BrandingKeeper {
  private held: { etag: string; branding: Branding } | null = null;
  private inUse: Branding | null = null;
  private shownKey = "";
  private unsupported = false;
  private readonly refreshMs: number;

  constructor(private readonly d: BrandingKeeperDeps) {
    this.refreshMs = d.refreshMs ?? BRANDING_REFRESH_MS;
  }

  /** The branding the windows show now. */
  current(): Branding | null {
    return this.inUse;
  }

  /** At start, before any network: this server's cached branding, else the config file's. */
  load(): void {
    this.held = readBrandingCache(this.d.dataDir, this.d.server);
    if (this.held) this.use(this.held.branding, "cache");
    else {
      const fallback = safeBranding(this.d.fallback, this.d.log);
      if (fallback) this.use(fallback, "config");
    }
  }

  /** Asks the server (with the held etag); returns the delay until the next ask. Never throws. */
  async refresh(api: Pick<AgentApi, "branding">): Promise<number> {
    let answer;
    try {
      answer = await api.branding(this.held?.etag || null);
    } catch (err) {
      if (classifyFailure(err) !== "rejected") return Math.min(RETRY_MS, this.refreshMs);
      if (errorCodeOf(err) === "NOT_FOUND" && /procedure/i.test(String((err as Error).message))) {
        if (!this.unsupported)
          this.d.log.warn("the server has no agent.branding (older server): the windows keep the branding they have");
        this.unsupported = true;
      } else this.d.log.warn(`branding refused by the server (${errorCodeOf(err) ?? String(err)})`);
      return this.refreshMs;
    }
    // An older server answers without an etag (and always with the logo): compared by content then.
    const etag = typeof answer.etag === "string" ? answer.etag : "";
    // Unchanged: the answer has no logo and the held branding stays as it is.
    if (etag && this.held && etag === this.held.etag) return this.refreshMs;
    const branding = safeBranding(answer, this.d.log);
    if (!branding) {
      this.d.log.warn("branding from the server has no usable name; ignored");
      return this.refreshMs;
    }
    const changed = etag !== this.held?.etag || JSON.stringify(branding) !== JSON.stringify(this.held?.branding);
    this.held = { etag, branding };
    if (changed) {
      try {
        writeBrandingCache(this.d.dataDir, this.d.server, etag, branding, this.d.now());
      } catch (err) {
        this.d.log.warn(`branding not cached: ${(err as Error).message}`);
      }
    }
    this.use(branding, "server");
    return this.refreshMs;
  }

  /** Applies and logs a branding once per change (a refresh that changes nothing says nothing). */
  private use(b: Branding, origin: BrandingOrigin): void {
    const key = JSON.stringify(b);
    this.inUse = b;
    if (key === this.shownKey) return;
    this.shownKey = key;
    this.d.log.info(describeBranding(b, origin));
    try {
      this.d.apply(b);
    } catch (err) {
      this.d.log.warn(`branding not applied to the windows: ${(err as Error).message}`);
    }
  }
}

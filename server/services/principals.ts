// Turns credentials (Bearer key, machine token, session cookie) into a Principal, with caches so the hot
// agent paths do not query the database on every request. Three caches, each bounded by what it holds:
//   - machine tokens: one entry per enrolled machine (valid tokens only, so garbage cannot evict them);
//   - API keys: valid keys only (a handful per org);
//   - unknown secrets: a small LRU (lru-cache), so random bearer tokens neither grow memory nor cost a
//     database lookup each when repeated (hostile review, finding 6); lookups of uncached secrets are
//     also capped per second, so a flood of random ones cannot turn into a flood of queries.
// Malformed secrets are refused before hashing. A secret that resolved is remembered with its hash (a
// bounded LRU of secret → hash), so an agent's next poll skips the sha256; the hash still names the
// cache entry, so every forgetting below applies unchanged. Revocation, retirement and re-enrollment
// reach every process through the invalidation notifier (services/invalidations.ts) within a second
// (finding 2).
import { LRUCache } from "lru-cache";
import type { Clock } from "../clock.ts";
import type { Principal } from "../context.ts";
import { KeyScope } from "../contract/index.ts";
import type { Db } from "../db.ts";
import { hashSecret, KEY_PREFIX, MACHINE_TOKEN_PREFIX, sameDigest } from "./crypto.ts";
import type { Invalidation, InvalidationNotifier } from "./invalidations.ts";
import { MachineDirectory } from "./machineDirectory.ts";

/** Keys are re-checked this often even without an invalidation (belt and braces). */
const KEY_CACHE_TTL_MS = 60_000;
/**
 * Machine tokens are cached longer than one poll interval, or every poll of a large fleet would miss and
 * query the database. Re-enrollment and retirement forget the entry in every process (invalidations).
 */
const MACHINE_CACHE_TTL_MS = 10 * 60_000;
/** Preloaded at start-up at most (a 100,000-machine fleet fits with room to spare). */
const PRELOAD_MAX = 500_000;
/** Unknown (or revoked) secrets remembered, so a repeated bad token costs no lookup; the oldest go first. */
export const UNKNOWN_CACHE_MAX = 10_000;
const UNKNOWN_TTL_MS = 60_000;
/**
 * Database lookups for secrets found in no cache, per second and process. The fleet's machine tokens
 * are preloaded and tokens enrolled here are learned at once, so misses are rare for real agents; a
 * flood of random tokens costs at most this many lookups a second, the rest are refused unlooked.
 */
export const MISS_LOOKUPS_PER_SECOND = 200;
/** lastUsedAt is written at most this often per key, not on every request. */
const TOUCH_EVERY_MS = 60_000;
/** What our secrets look like: a known prefix, then URL-safe base64 (43 characters for 32 bytes). */
const SECRET_SHAPE = /^(?:dfk_|dfm_)[A-Za-z0-9_-]{16,100}$/;

/**
 * Secrets remembered with their hash (see the header): sha256 was ~5 % of an empty poll's CPU. Only
 * secrets that resolved are remembered, so random ones cannot evict the fleet's; sized for the
 * preloaded fleet (~170 bytes an entry: the secret's string and the LRU's slots; the hash string is
 * the one the credential cache already holds). Looked up like any Map key: a miss compares no contents.
 */
export const HASH_MEMO_MAX = PRELOAD_MAX;

/** `hash` is the key the entry is cached under (the memo hands out this same string). */
type Entry = { principal: Principal; until: number; hash: string };

export class PrincipalResolver {
  readonly #machines = new Map<string, Entry>();
  /** machineRef → the hash its token is cached under, so forgetting one machine is one lookup. */
  readonly #machineHash = new Map<string, string>();
  readonly #keys = new Map<string, Entry>();
  readonly #unknown: LRUCache<string, true>;
  /** secret → its hash, for secrets that resolved (see HASH_MEMO_MAX). */
  // Bounded by maxSize, not max: lru-cache preallocates `max` slots up front (14 MB at 500,000).
  readonly #hashes = new LRUCache<string, string>({ maxSize: HASH_MEMO_MAX, sizeCalculation: () => 1 });
  readonly #touched = new Map<string, number>();
  readonly #listeners: ((e: Invalidation) => void)[] = [];
  #notifier: InvalidationNotifier | null = null;
  /** Token bucket of lookups for uncached secrets (see MISS_LOOKUPS_PER_SECOND). */
  #missBudget = MISS_LOOKUPS_PER_SECOND;
  #missRefilledAt = 0;
  /** agent key + machine_id → machine (legacy mode), and each org's legacy switch. */
  readonly directory: MachineDirectory;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    opts: { unknownMax?: number } = {},
  ) {
    this.#unknown = new LRUCache({
      max: opts.unknownMax ?? UNKNOWN_CACHE_MAX,
      ttl: UNKNOWN_TTL_MS,
      ttlAutopurge: false,
    });
    this.directory = new MachineDirectory(db);
  }

  /** Listens for invalidations made by any process (this one included) and applies them. */
  async listen(notifier: InvalidationNotifier): Promise<void> {
    this.#notifier = notifier;
    await notifier.start((events) => {
      for (const e of events) this.apply(e);
    });
  }

  /** Called for every invalidation applied (e.g. to close a retired machine's push streams). */
  onInvalidation(listener: (e: Invalidation) => void): void {
    this.#listeners.push(listener);
  }

  /** Applies one invalidation to the caches of this process. */
  apply(e: Invalidation): void {
    if (e.kind === "key") this.forgetKeys();
    else if (e.kind === "machine") {
      this.forgetMachine(e.target);
      this.directory.forgetMachine(e.target);
    } else this.directory.forgetOrg(e.target);
    for (const l of this.#listeners) l(e);
  }

  close(): void {
    this.#notifier?.close();
  }

  /** Entry counts of the caches (memory-boundedness is tested by these, not by timing). */
  cacheSizes(): { machines: number; keys: number; unknown: number } {
    return { machines: this.#machines.size, keys: this.#keys.size, unknown: this.#unknown.size };
  }

  /** Forget every cached credential. */
  invalidate(): void {
    this.#machines.clear();
    this.#machineHash.clear();
    this.#keys.clear();
    this.#unknown.clear();
    this.#hashes.clear();
  }

  /** Forget cached keys (one was revoked); the fleet's machine tokens stay cached. */
  forgetKeys(): void {
    this.#keys.clear();
  }

  /** Forget one machine's cached token (re-enrolled or retired), leaving the rest of the fleet cached. */
  forgetMachine(machineRef: string): void {
    const hash = this.#machineHash.get(machineRef);
    if (hash === undefined) return;
    this.#machineHash.delete(machineRef);
    this.#machines.delete(hash);
  }

  #rememberMachine(hash: string, principal: Principal & { kind: "machine" }, until: number): void {
    const old = this.#machineHash.get(principal.machineRef);
    if (old !== undefined && old !== hash) this.#machines.delete(old);
    this.#machines.set(hash, { principal, until, hash });
    this.#machineHash.set(principal.machineRef, hash);
  }

  /**
   * Caches every enrolled machine's token at start-up, so a whole fleet reconnecting to a restarted
   * server does not become a herd of lookups. Lifetimes are spread over the second half of the cache
   * life so the entries do not all expire in the same second either. Returns how many were loaded.
   * `replace`: drop every cached credential first, in the same step (no window in which a valid
   * agent's lookup misses): after a lost PostgreSQL LISTEN connection, when invalidations may be missed.
   */
  async preloadMachines(opts: { replace?: boolean } = {}): Promise<number> {
    const rows = await this.db.$queryRawUnsafe<{ id: string; orgId: string; machineId: string; tokenHash: string }[]>(
      `SELECT "id", "orgId", "machineId", "tokenHash" FROM "Machine" WHERE "tokenHash" IS NOT NULL AND "retiredAt" IS NULL LIMIT ${PRELOAD_MAX}`,
    );
    if (opts.replace) this.invalidate();
    const now = this.clock.now().getTime();
    for (const m of rows) {
      const principal = { kind: "machine", orgId: m.orgId, machineRef: m.id, machineId: m.machineId } as const;
      this.#rememberMachine(m.tokenHash, principal, now + MACHINE_CACHE_TTL_MS * (0.5 + Math.random() / 2));
    }
    return rows.length;
  }

  /**
   * The principal of a secret that resolved before and whose cache entry is still valid, found without
   * hashing or awaiting (the agents' hot path); undefined when only fromBearer can tell (never cached,
   * forgotten since, expired, or unknown).
   */
  cached(secret: string): Principal | undefined {
    const hash = this.#hashes.get(secret);
    if (hash === undefined) return undefined;
    const known = (secret.startsWith(KEY_PREFIX) ? this.#keys : this.#machines).get(hash);
    return known && known.until > this.clock.now().getTime() ? known.principal : undefined;
  }

  /** Entries of the secret → hash memo (bounded by HASH_MEMO_MAX). */
  memoSize(): number {
    return this.#hashes.size;
  }

  /** Resolves `Authorization: Bearer <secret>`; null for anything unknown, revoked or malformed. */
  async fromBearer(secret: string): Promise<Principal | null> {
    const memo = this.#hashes.get(secret);
    // Malformed: refused before hashing or caching anything (a remembered secret was well formed).
    if (memo === undefined && !SECRET_SHAPE.test(secret)) return null;
    const hash = memo ?? hashSecret(secret);
    const now = this.clock.now().getTime();
    const isKey = secret.startsWith(KEY_PREFIX);
    const known = (isKey ? this.#keys : this.#machines).get(hash);
    if (known && known.until > now) {
      if (memo === undefined) this.#hashes.set(secret, known.hash);
      return known.principal;
    }
    if (this.#unknown.has(hash)) return null;
    if (!known && !this.#takeMissBudget(now)) return null;
    const principal = isKey
      ? await this.#key(hash)
      : secret.startsWith(MACHINE_TOKEN_PREFIX)
        ? await this.#machine(hash)
        : null;
    if (!principal) {
      if (known) this.#forgetHash(hash, known.principal);
      this.#unknown.set(hash, true);
      this.#hashes.delete(secret);
      return null;
    }
    if (principal.kind === "machine") this.#rememberMachine(hash, principal, now + MACHINE_CACHE_TTL_MS);
    else {
      this.#keys.set(hash, { principal, until: now + KEY_CACHE_TTL_MS, hash });
      if (principal.kind === "key") this.#touch(principal.keyId, now);
    }
    this.#hashes.set(secret, hash);
    return principal;
  }

  /** A machine enrolled by this process: its token is cached at once, so its first poll costs no lookup. */
  learnMachine(token: string, m: { orgId: string; machineRef: string; machineId: string }): void {
    const principal = { kind: "machine", ...m } as const;
    const hash = hashSecret(token);
    this.#rememberMachine(hash, principal, this.clock.now().getTime() + MACHINE_CACHE_TTL_MS);
    this.#hashes.set(token, hash);
  }

  #takeMissBudget(now: number): boolean {
    const refill = ((now - this.#missRefilledAt) / 1000) * MISS_LOOKUPS_PER_SECOND;
    if (refill > 0) {
      this.#missBudget = Math.min(MISS_LOOKUPS_PER_SECOND, this.#missBudget + refill);
      this.#missRefilledAt = now;
    }
    if (this.#missBudget < 1) return false;
    this.#missBudget -= 1;
    return true;
  }

  #forgetHash(hash: string, p: Principal): void {
    if (p.kind === "machine") this.forgetMachine(p.machineRef);
    else this.#keys.delete(hash);
  }

  /** Resolves a session cookie value. Not cached: logout must take effect at once. */
  async fromSession(token: string): Promise<Principal | null> {
    if (token.length < 10 || token.length > 200) return null;
    const hash = hashSecret(token);
    const session = await this.db.session.findUnique({
      where: { tokenHash: hash },
      select: {
        id: true,
        tokenHash: true,
        expiresAt: true,
        user: { select: { id: true, orgId: true, email: true, role: true } },
      },
    });
    if (!session || !sameDigest(session.tokenHash, hash)) return null;
    if (session.expiresAt.getTime() <= this.clock.now().getTime()) return null;
    const role = session.user.role;
    if (role !== "owner" && role !== "admin" && role !== "viewer") return null;
    return {
      kind: "user",
      orgId: session.user.orgId,
      userId: session.user.id,
      email: session.user.email,
      role,
      sessionId: session.id,
    };
  }

  async #key(hash: string): Promise<Principal | null> {
    const key = await this.db.apiKey.findUnique({
      where: { keyHash: hash },
      select: { id: true, orgId: true, name: true, keyHash: true, scopes: true, revokedAt: true },
    });
    if (!key || key.revokedAt || !sameDigest(key.keyHash, hash)) return null;
    const scopes = key.scopes.split(",").flatMap((s) => (KeyScope.safeParse(s).success ? [s as KeyScope] : []));
    return { kind: "key", orgId: key.orgId, keyId: key.id, name: key.name, scopes };
  }

  async #machine(hash: string): Promise<(Principal & { kind: "machine" }) | null> {
    // Raw SQL: this runs once per machine per cache lifetime, for the whole fleet, and a plain query
    // costs a fraction of a compiled findUnique. A retired machine's token no longer works.
    const rows = await this.db.$queryRawUnsafe<
      { id: string; orgId: string; machineId: string; tokenHash: string | null }[]
    >(
      `SELECT "id", "orgId", "machineId", "tokenHash" FROM "Machine" WHERE "tokenHash" = ? AND "retiredAt" IS NULL LIMIT 1`,
      hash,
    );
    const m = rows[0];
    if (!m || !m.tokenHash || !sameDigest(m.tokenHash, hash)) return null;
    return { kind: "machine", orgId: m.orgId, machineRef: m.id, machineId: m.machineId };
  }

  #touch(keyId: string, now: number): void {
    const last = this.#touched.get(keyId) ?? 0;
    if (now - last < TOUCH_EVERY_MS) return;
    this.#touched.set(keyId, now);
    // Best effort: a lost lastUsedAt update must never fail the request.
    this.db.apiKey
      .update({ where: { id: keyId }, data: { lastUsedAt: new Date(now) }, select: { id: true } })
      .catch(() => {});
  }
}

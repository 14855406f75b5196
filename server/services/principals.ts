// Turns credentials (Bearer key, machine token, session cookie) into a Principal, with a short cache
// so the hot agent paths do not query the database on every request.
import type { Clock } from "../clock.ts";
import type { Principal } from "../context.ts";
import { KeyScope } from "../contract/index.ts";
import type { Db } from "../db.ts";
import { hashSecret, KEY_PREFIX, MACHINE_TOKEN_PREFIX, sameDigest } from "./crypto.ts";

const CACHE_TTL_MS = 10_000;
/**
 * Machine tokens are cached longer than one poll interval (30 s), or every poll of a large fleet would
 * miss and query the database. Only this server changes a machine's token (enroll), and it forgets the
 * machine's entry when it does, so the longer life costs no correctness.
 */
const MACHINE_CACHE_TTL_MS = 10 * 60_000;
/** Past this many entries the oldest are dropped (a 100,000-machine fleet fits with room to spare). */
const CACHE_MAX = 1_000_000;
/** lastUsedAt is written at most this often per key, not on every request. */
const TOUCH_EVERY_MS = 60_000;

export class PrincipalResolver {
  readonly #cache = new Map<string, { principal: Principal | null; until: number }>();
  /** machineRef → the hash its token is cached under, so forgetting one machine is one lookup. */
  readonly #machineHash = new Map<string, string>();
  readonly #touched = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** Forget every cached credential. */
  invalidate(): void {
    this.#cache.clear();
    this.#machineHash.clear();
  }

  /** Forget cached keys (one was revoked) and unknown secrets; the fleet's machine tokens stay cached. */
  forgetKeys(): void {
    for (const [hash, hit] of this.#cache) if (hit.principal?.kind !== "machine") this.#cache.delete(hash);
  }

  #remember(hash: string, principal: Principal | null, until: number): void {
    this.#cache.set(hash, { principal, until });
    if (principal?.kind === "machine") this.#machineHash.set(principal.machineRef, hash);
  }

  /**
   * Caches every enrolled machine's token at start-up, so a whole fleet reconnecting to a restarted
   * server does not become a herd of lookups. Lifetimes are spread over the second half of the cache
   * life so the entries do not all expire in the same second either. Returns how many were loaded.
   */
  async preloadMachines(): Promise<number> {
    const rows = await this.db.$queryRawUnsafe<{ id: string; orgId: string; machineId: string; tokenHash: string }[]>(
      `SELECT "id", "orgId", "machineId", "tokenHash" FROM "Machine" WHERE "tokenHash" IS NOT NULL LIMIT ${CACHE_MAX / 2}`,
    );
    const now = this.clock.now().getTime();
    for (const m of rows) {
      const principal: Principal = { kind: "machine", orgId: m.orgId, machineRef: m.id, machineId: m.machineId };
      this.#remember(m.tokenHash, principal, now + MACHINE_CACHE_TTL_MS * (0.5 + Math.random() / 2));
    }
    return rows.length;
  }

  /** Forget one machine's cached token (it was re-enrolled or removed), leaving the rest of the fleet cached. */
  forgetMachine(machineRef: string): void {
    const hash = this.#machineHash.get(machineRef);
    if (hash === undefined) return;
    this.#machineHash.delete(machineRef);
    this.#cache.delete(hash);
  }

  /** Resolves `Authorization: Bearer <secret>`; null for anything unknown, revoked or malformed. */
  async fromBearer(secret: string): Promise<Principal | null> {
    if (secret.length < 10 || secret.length > 200) return null;
    const hash = hashSecret(secret);
    const now = this.clock.now().getTime();
    const hit = this.#cache.get(hash);
    if (hit && hit.until > now) return hit.principal;
    let principal: Principal | null = null;
    if (secret.startsWith(KEY_PREFIX)) principal = await this.#key(hash);
    else if (secret.startsWith(MACHINE_TOKEN_PREFIX)) principal = await this.#machine(hash);
    if (this.#cache.size >= CACHE_MAX) {
      // Maps iterate in insertion order: drop the oldest tenth.
      let drop = CACHE_MAX / 10;
      for (const k of this.#cache.keys()) {
        if (drop-- <= 0) break;
        this.#cache.delete(k);
      }
    }
    this.#cache.delete(hash);
    this.#remember(hash, principal, now + (principal?.kind === "machine" ? MACHINE_CACHE_TTL_MS : CACHE_TTL_MS));
    if (principal?.kind === "key") this.#touch(principal.keyId, now);
    return principal;
  }

  /** Resolves a session cookie value. Not cached: logout must take effect at once. */
  async fromSession(token: string): Promise<Principal | null> {
    if (token.length < 10 || token.length > 200) return null;
    const hash = hashSecret(token);
    const session = await this.db.session.findUnique({
      where: { tokenHash: hash },
      select: { id: true, tokenHash: true, expiresAt: true, user: { select: { id: true, orgId: true, email: true, role: true } } },
    });
    if (!session || !sameDigest(session.tokenHash, hash)) return null;
    if (session.expiresAt.getTime() <= this.clock.now().getTime()) return null;
    const role = session.user.role;
    if (role !== "owner" && role !== "admin" && role !== "viewer") return null;
    return { kind: "user", orgId: session.user.orgId, userId: session.user.id, email: session.user.email, role, sessionId: session.id };
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

  async #machine(hash: string): Promise<Principal | null> {
    // Raw SQL: this runs once per machine per cache lifetime, for the whole fleet, and a plain query
    // costs a fraction of a compiled findUnique.
    const rows = await this.db.$queryRawUnsafe<{ id: string; orgId: string; machineId: string; tokenHash: string | null }[]>(
      `SELECT "id", "orgId", "machineId", "tokenHash" FROM "Machine" WHERE "tokenHash" = ? LIMIT 1`,
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
    this.db.apiKey.update({ where: { id: keyId }, data: { lastUsedAt: new Date(now) }, select: { id: true } }).catch(() => {});
  }
}

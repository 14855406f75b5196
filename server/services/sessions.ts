// Dashboard sessions: password login (scrypt, limited per address and email with backoff), logout, and "who am I".
// The cookie value is a random secret; only its sha256 is stored, so a database leak opens no session.
import type { Clock } from "../clock.ts";
import type { Role } from "../contract/index.ts";
import type { Db } from "../db.ts";
import { DUMMY_PASSWORD_HASH, hashSecret, newSecret, verifyPassword } from "./crypto.ts";
import { unauthenticated } from "../domain/errors.ts";
import type { LoginLimits } from "./loginLimits.ts";

/** Sessions last a week; the cookie's Max-Age matches. */
export const SESSION_TTL_SECONDS = 7 * 24 * 3600;
/** Session cookie values carry a prefix like keys do, so a leaked one is recognisable. */
export const SESSION_PREFIX = "dfs_";

/** The signed-in user as the dashboard sees it. */
export type SessionUser = { id: string; email: string; role: Role; orgId: string; orgName: string };

const userSelect = { id: true, email: true, role: true, orgId: true, org: { select: { name: true } } } as const;

function toSessionUser(u: {
  id: string;
  email: string;
  role: string;
  orgId: string;
  org: { name: string };
}): SessionUser {
  return { id: u.id, email: u.email, role: u.role as Role, orgId: u.orgId, orgName: u.org.name };
}

/** At most this many accounts share one email (one per organization) for a password sign-in. */
const MAX_ACCOUNTS_PER_EMAIL = 4;

/**
 * Checks a password and opens a session. Guesses are limited per (address, email) and per address
 * with backoff (loginLimits.ts), so a third party elsewhere cannot lock a user out. An unknown email
 * is checked against a dummy hash so that the answer takes as long as for a real user.
 *
 * Emails are unique per organization (finding 13), so one email may hold accounts in a few orgs: the
 * password is checked against each (at most MAX_ACCOUNTS_PER_EMAIL, oldest first) in parallel, on
 * libuv's thread pool (4 threads by default), so the answer takes about one hash's time whatever the
 * count; the first account whose password matches signs in.
 */
export async function login(
  deps: { db: Db; clock: Clock; limits: LoginLimits },
  args: { email: string; password: string; ip: string },
): Promise<{ token: string; maxAgeSeconds: number; user: SessionUser }> {
  const { db, clock, limits } = deps;
  const email = args.email.trim().toLowerCase();
  await limits.beforeAttempt(args.ip, email);
  const accounts = await db.user.findMany({
    where: { email },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    take: MAX_ACCOUNTS_PER_EMAIL,
    select: { ...userSelect, passwordHash: true },
  });
  const hashes = accounts.length > 0 ? accounts.map((a) => a.passwordHash) : [DUMMY_PASSWORD_HASH];
  const matches = await Promise.all(hashes.map((h) => verifyPassword(args.password, h)));
  const user = accounts.find((_, i) => matches[i]);
  if (!user) throw unauthenticated("Wrong email or password");
  await limits.succeeded(args.ip, email);
  const token = newSecret(SESSION_PREFIX);
  const now = clock.now();
  await db.$transaction([
    // Housekeeping: this user's expired sessions go when they sign in again.
    db.session.deleteMany({ where: { userId: user.id, expiresAt: { lte: now } } }),
    db.session.create({
      data: {
        tokenHash: hashSecret(token),
        userId: user.id,
        createdAt: now,
        expiresAt: new Date(now.getTime() + SESSION_TTL_SECONDS * 1000),
      },
      select: { id: true },
    }),
  ]);
  return { token, maxAgeSeconds: SESSION_TTL_SECONDS, user: toSessionUser(user) };
}

/** Ends one session (by id: the caller's own, already resolved from a same-site cookie). */
export async function logout(db: Db, sessionId: string): Promise<void> {
  await db.session.deleteMany({ where: { id: sessionId } });
}

/** The user behind a session principal, with the org's name; null when the user is gone. */
export async function sessionUser(db: Db, userId: string): Promise<SessionUser | null> {
  const u = await db.user.findUnique({ where: { id: userId }, select: userSelect });
  return u ? toSessionUser(u) : null;
}

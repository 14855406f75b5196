// Dashboard sessions: password login (scrypt, rate-limited), logout, and "who am I".
// The cookie value is a random secret; only its sha256 is stored, so a database leak opens no session.
import { TRPCError } from "@trpc/server";
import type { Clock } from "../clock.ts";
import type { Role } from "../contract/index.ts";
import type { Db } from "../db.ts";
import { DUMMY_PASSWORD_HASH, hashSecret, newSecret, verifyPassword } from "./crypto.ts";
import type { RateLimiter } from "./rateLimit.ts";

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

/**
 * Checks a password and opens a session. Rate-limited per client address and per email before any
 * work, so guessing is slow whichever of the two an attacker varies. An unknown email is checked
 * against a dummy hash so that the answer takes as long as for a real user.
 */
export async function login(
  deps: { db: Db; clock: Clock; limiter: RateLimiter; loginPerMinute: number },
  args: { email: string; password: string; ip: string },
): Promise<{ token: string; maxAgeSeconds: number; user: SessionUser }> {
  const { db, clock, limiter } = deps;
  const email = args.email.trim().toLowerCase();
  limiter.hit(`login-ip:${args.ip}`, deps.loginPerMinute, "sign-in attempts");
  limiter.hit(`login-email:${email}`, deps.loginPerMinute, "sign-in attempts");
  const user = await db.user.findUnique({ where: { email }, select: { ...userSelect, passwordHash: true } });
  const ok = await verifyPassword(args.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!user || !ok) throw new TRPCError({ code: "UNAUTHORIZED", message: "Wrong email or password" });
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

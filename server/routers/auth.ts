// auth.*: dashboard sign-in with a password, sign-out, and "who am I". Sessions live in an
// httpOnly SameSite=Strict cookie; cookies only count for same-site requests (server/http/context.ts).
import { z } from "zod";
import { Email } from "../contract/index.ts";
import { clearedSessionCookie, sessionCookie } from "../http/cookies.ts";
import { login, logout, sessionUser } from "../services/sessions.ts";
import { publicProcedure, router } from "../trpc.ts";

/** auth.login input. The password is not length-checked here: old passwords must still work. */
export const LoginInput = z
  .object({ email: Email, password: z.string().min(1, "password is required").max(200) })
  .strict();

export const authRouter = router({
  /** {email, password} → {user}; sets the session cookie. UNAUTHORIZED "Wrong email or password". */
  login: publicProcedure.input(LoginInput).mutation(async ({ ctx, input }) => {
    const s = await login(
      { db: ctx.db, clock: ctx.clock, limits: ctx.services.loginLimits },
      { email: input.email, password: input.password, ip: ctx.req.ip },
    );
    ctx.req.setCookie(sessionCookie(s.token, s.maxAgeSeconds, ctx.config.secureCookies));
    return { user: s.user };
  }),

  /** Ends the caller's session (if any) and clears the cookie. */
  logout: publicProcedure.mutation(async ({ ctx }) => {
    if (ctx.principal?.kind === "user") await logout(ctx.db, ctx.principal.sessionId);
    ctx.req.setCookie(clearedSessionCookie(ctx.config.secureCookies));
    return { ok: true as const };
  }),

  /** The signed-in user, or null (no session, an expired one, or a key caller). */
  me: publicProcedure.query(async ({ ctx }) =>
    ctx.principal?.kind === "user" ? sessionUser(ctx.db, ctx.principal.userId) : null,
  ),
});

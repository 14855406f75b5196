// The session cookie: httpOnly, SameSite=Strict, Secure when configured. Parsed and written with the
// `cookie` library (quoting, encoding and attribute rules are its job, not ours).
import { parseCookie, stringifySetCookie } from "cookie";

export const SESSION_COOKIE = "dashfleet_session";

/** The value of cookie `name` in a Cookie header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  return parseCookie(header)[name] ?? null;
}

/** Set-Cookie for a new session lasting `maxAgeSeconds`. */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return stringifySetCookie(SESSION_COOKIE, value, {
    path: "/",
    httpOnly: true,
    sameSite: "strict",
    maxAge: maxAgeSeconds,
    secure,
  });
}

/** Set-Cookie that removes the session cookie (logout). */
export function clearedSessionCookie(secure: boolean): string {
  return stringifySetCookie(SESSION_COOKIE, "", { path: "/", httpOnly: true, sameSite: "strict", maxAge: 0, secure });
}

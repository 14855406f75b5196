// The session cookie is written and read with the `cookie` library: its attributes round-trip through
// the library's own Set-Cookie parser, and hostile Cookie headers (prototype names, bad encodings,
// duplicates, huge headers) never throw and never yield a session that was not sent.
import { parseSetCookie } from "cookie";
import { describe, expect, it } from "vitest";
import { clearedSessionCookie, readCookie, SESSION_COOKIE, sessionCookie } from "../../server/http/cookies.ts";

describe("session cookie", () => {
  it("is HttpOnly, SameSite=Strict, Path=/, with the session's lifetime, Secure only when configured", () => {
    const plain = parseSetCookie(sessionCookie("dfs_abc-_9", 604_800, false));
    expect(plain).toMatchObject({
      name: SESSION_COOKIE,
      value: "dfs_abc-_9",
      path: "/",
      httpOnly: true,
      sameSite: "strict",
      maxAge: 604_800,
    });
    expect(plain.secure).toBeFalsy();
    expect(parseSetCookie(sessionCookie("dfs_abc", 60, true)).secure).toBe(true);
    expect(parseSetCookie(clearedSessionCookie(true))).toMatchObject({
      name: SESSION_COOKIE,
      value: "",
      maxAge: 0,
      secure: true,
      httpOnly: true,
    });
  });

  it("reads the session among other cookies, and nothing from hostile headers", () => {
    expect(readCookie(`theme=dark; ${SESSION_COOKIE}=dfs_x; other=1`, SESSION_COOKIE)).toBe("dfs_x");
    expect(readCookie(undefined, SESSION_COOKIE)).toBeNull();
    expect(readCookie("", SESSION_COOKIE)).toBeNull();
    expect(readCookie("__proto__=dfs_x; constructor=dfs_y", SESSION_COOKIE)).toBeNull();
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"])
      expect(readCookie("a=1", name), name).toBeNull();
    expect(readCookie(`${SESSION_COOKIE}_old=dfs_old`, SESSION_COOKIE)).toBeNull();
    expect(() => readCookie(`${SESSION_COOKIE}=%E0%A4%A; ;;=; =x`, SESSION_COOKIE)).not.toThrow();
    expect(readCookie(`x=${"a".repeat(100_000)}`, SESSION_COOKIE)).toBeNull();
  });
});

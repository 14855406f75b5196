// auth.*: password sign-in with a session cookie, sign-out, "who am I", the rate limit on guesses,
// and that a session cookie counts only for same-site requests.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import { LoginLimits } from "../../server/services/loginLimits.ts";
import { login } from "../../server/services/sessions.ts";
import {
  errorCode,
  failure,
  PASSWORD,
  startTestServer,
  trpcClient,
  type TestOrg,
  type TestServer,
} from "../helpers/server.ts";
import { signIn } from "../helpers/session.ts";

const LOGIN_PER_MINUTE = 5;
let server: TestServer;
let org: TestOrg;
const clock = new ManualClock();

beforeAll(async () => {
  server = await startTestServer({ clock, env: { DASHFLEET_LOGIN_PER_MINUTE: String(LOGIN_PER_MINUTE) } });
  org = await server.createOrg("Auth Org");
});
afterAll(() => server.stop());

describe("auth.login", () => {
  it("returns the user with org name and sets an HttpOnly SameSite=Strict session cookie", async () => {
    const r = await server.client().auth.login.mutate({ email: org.ownerEmail, password: PASSWORD });
    expect(r.user).toMatchObject({ email: org.ownerEmail, role: "owner", orgId: org.orgId, orgName: "Auth Org" });
    expect(r.user.id).toBeTruthy();
    const s = await signIn(server, org.ownerEmail, PASSWORD);
    expect(s.setCookie).toMatch(/^dashfleet_session=dfs_[\w-]+;/);
    expect(s.setCookie).toContain("HttpOnly");
    expect(s.setCookie).toContain("SameSite=Strict");
    expect(s.setCookie).toContain("Path=/");
    expect(s.setCookie).toContain(`Max-Age=${7 * 24 * 3600}`);
    // Plain HTTP in tests: not Secure unless configured.
    expect(s.setCookie).not.toContain("Secure");
  });

  it("stores only a hash of the session token", async () => {
    const s = await signIn(server, org.ownerEmail, PASSWORD);
    const token = decodeURIComponent(s.cookie.split("=")[1]!);
    const rows = await server.deps.db.session.findMany({ select: { tokenHash: true } });
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((r) => r.tokenHash === token)).toBe(false);
  });

  it("accepts the email in any case", async () => {
    const r = await server.client().auth.login.mutate({ email: org.ownerEmail.toUpperCase(), password: PASSWORD });
    expect(r.user.email).toBe(org.ownerEmail);
  });

  it("refuses a wrong password and an unknown email with the same UNAUTHORIZED message", async () => {
    const wrong = await failure(
      server.client().auth.login.mutate({ email: org.ownerEmail, password: "not the password" }),
    );
    const unknown = await failure(
      server.client().auth.login.mutate({ email: "nobody@example.test", password: PASSWORD }),
    );
    expect(wrong.data?.code).toBe("UNAUTHORIZED");
    expect(unknown.data?.code).toBe("UNAUTHORIZED");
    expect(wrong.message).toBe("Wrong email or password");
    expect(unknown.message).toBe(wrong.message);
  });

  it("names the bad field for malformed input", async () => {
    const err = await failure(server.client().auth.login.mutate({ email: "not-an-email", password: "x" }));
    expect(err.data?.code).toBe("BAD_REQUEST");
    expect(err.message).toMatch(/^email:/);
  });

  it("rate-limits guesses per address and email, even with the right password, with a retry hint", async () => {
    // A user of its own: the pair (127.0.0.1, email) stays blocked for a minute after this test.
    const email = "limited@example.test";
    await server.addUser(org.orgId, email, "viewer");
    const c = server.client();
    for (let i = 0; i < LOGIN_PER_MINUTE; i++)
      expect(await errorCode(c.auth.login.mutate({ email, password: `guess ${i}` }))).toBe("UNAUTHORIZED");
    const limited = await failure(c.auth.login.mutate({ email, password: PASSWORD }));
    expect(limited.data?.code).toBe("TOO_MANY_REQUESTS");
    expect(limited.data?.retryAfterSeconds).toBeGreaterThan(0);
  });

  it("counts per (address, email) and per address across emails, never per email alone", async () => {
    // Finding 12: a per-email count let anyone lock a known user out; tests/security/login-limits.test.ts
    // proves it over HTTP, with the backoff.
    const limits = new LoginLimits({ failuresPerWindow: 2 });
    const deps = { db: server.deps.db, clock, limits };
    const guess = (email: string, ip: string) => login(deps, { email, password: "wrong guess", ip });
    // One email from one address: the third guess is refused; from other addresses it is still answered.
    await expect(guess(org.ownerEmail, "10.0.0.1")).rejects.toMatchObject({ kind: "unauthenticated" });
    await expect(guess(org.ownerEmail, "10.0.0.1")).rejects.toMatchObject({ kind: "unauthenticated" });
    await expect(guess(org.ownerEmail, "10.0.0.1")).rejects.toMatchObject({ kind: "rate-limited" });
    await expect(guess(org.ownerEmail, "10.0.0.2")).rejects.toMatchObject({ kind: "unauthenticated" });
    await expect(guess(org.ownerEmail, "10.0.0.3")).rejects.toMatchObject({ kind: "unauthenticated" });
    // One address trying many emails: 3 × 2 guesses, then refused.
    for (const e of ["a", "b", "c", "d", "e", "f"])
      await expect(guess(`${e}@example.test`, "10.0.0.9")).rejects.toMatchObject({ kind: "unauthenticated" });
    await expect(guess("g@example.test", "10.0.0.9")).rejects.toMatchObject({ kind: "rate-limited" });
  });
});

describe("auth.me and auth.logout", () => {
  it("me is null without a session and the user with one", async () => {
    expect(await server.client().auth.me.query()).toBeNull();
    expect(await server.client(org.adminKey).auth.me.query()).toBeNull();
    const s = await signIn(server, org.ownerEmail, PASSWORD);
    expect(await s.client.auth.me.query()).toMatchObject({
      email: org.ownerEmail,
      role: "owner",
      orgId: org.orgId,
      orgName: "Auth Org",
    });
  });

  it("logout deletes the session (the old cookie stops working) and clears the cookie", async () => {
    const s = await signIn(server, org.ownerEmail, PASSWORD);
    expect(await s.client.fleet.list.query()).toBeTruthy();
    const res = await fetch(`${server.url}/trpc/auth.logout`, {
      method: "POST",
      headers: { cookie: s.cookie, "content-type": "application/json" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()[0]).toMatch(/^dashfleet_session=; .*Max-Age=0/);
    expect(await s.client.auth.me.query()).toBeNull();
    expect(await errorCode(s.client.fleet.list.query())).toBe("UNAUTHORIZED");
  });

  it("a session expires after seven days", async () => {
    const s = await signIn(server, org.ownerEmail, PASSWORD);
    clock.advance(7 * 24 * 3600 - 10);
    expect(await s.client.auth.me.query()).not.toBeNull();
    clock.advance(20);
    expect(await s.client.auth.me.query()).toBeNull();
  });
});

describe("cookie sessions and other sites (CSRF)", () => {
  it("refuses a mutation with a session cookie from a foreign Origin, and accepts the same-origin one", async () => {
    const s = await signIn(server, org.ownerEmail, PASSWORD);
    const foreign = trpcClient(server.url, { cookie: s.cookie, origin: "https://evil.example" });
    expect(await errorCode(foreign.keys.create.mutate({ name: "csrf", scopes: ["admin"] }))).toBe("UNAUTHORIZED");
    expect(await errorCode(foreign.orgs.rename.mutate({ name: "pwned" }))).toBe("UNAUTHORIZED");
    const crossSite = trpcClient(server.url, { cookie: s.cookie, "sec-fetch-site": "cross-site" });
    expect(await errorCode(crossSite.orgs.rename.mutate({ name: "pwned" }))).toBe("UNAUTHORIZED");
    const sameOrigin = trpcClient(server.url, { cookie: s.cookie, origin: server.url });
    expect((await sameOrigin.orgs.current.query()).name).toBe("Auth Org");
    const names = await server.deps.db.apiKey.findMany({ where: { orgId: org.orgId }, select: { name: true } });
    expect(names.map((n) => n.name)).not.toContain("csrf");
  });

  it("a cross-site logout does not end the session", async () => {
    const s = await signIn(server, org.ownerEmail, PASSWORD);
    await trpcClient(server.url, { cookie: s.cookie, origin: "https://evil.example" }).auth.logout.mutate();
    expect(await s.client.auth.me.query()).not.toBeNull();
  });
});

describe("secure cookies", () => {
  it("marks the cookie Secure when DASHFLEET_SECURE_COOKIES is set", async () => {
    const secure = await startTestServer({ env: { DASHFLEET_SECURE_COOKIES: "1" } });
    try {
      const o = await secure.createOrg();
      const s = await signIn(secure, o.ownerEmail, PASSWORD);
      expect(s.setCookie).toMatch(/; Secure(;|$)/);
    } finally {
      await secure.stop();
    }
  });
});

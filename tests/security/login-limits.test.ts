// Finding 12 (hostile review): the login limit counted guesses per email, so anyone could keep a known
// user locked out from anywhere. Guesses are now limited per (address, email) and per address, with a
// backoff that doubles on each further block: a third party elsewhere cannot lock the victim out.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { LoginLimits } from "../../server/services/loginLimits.ts";
import { login } from "../../server/services/sessions.ts";
import { PASSWORD, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let victim: TestOrg;

/** POSTs auth.login from a chosen loopback address (all of 127.0.0.0/8 reaches the server). */
function loginFrom(localAddress: string, email: string, password: string): Promise<{ status: number; body: string }> {
  const body = JSON.stringify({ email, password });
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${server.url}/trpc/auth.login`,
      {
        method: "POST",
        localAddress,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

beforeAll(async () => {
  server = await startTestServer({ sweep: false, env: { DASHFLEET_LOGIN_PER_MINUTE: "5" } });
  victim = await server.createOrg("Victim Org");
}, 180_000);

afterAll(async () => {
  await server?.stop();
});

describe("login limits", () => {
  it("an attacker hammering the victim's email from one address does not lock the victim out elsewhere", async () => {
    const attacker: number[] = [];
    for (let i = 0; i < 20; i++) attacker.push((await loginFrom("127.0.0.2", victim.ownerEmail, `guess ${i}`)).status);
    expect(attacker.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(attacker.slice(5).every((s) => s === 429)).toBe(true);
    // Even the right password waits at the attacker's address...
    const attackerRight = await loginFrom("127.0.0.2", victim.ownerEmail, PASSWORD);
    expect(attackerRight.status).toBe(429);
    expect(attackerRight.body).toMatch(/Too many sign-in attempts/);
    // ...but the victim at their own address signs in.
    const own = await loginFrom("127.0.0.3", victim.ownerEmail, PASSWORD);
    expect(own.status).toBe(200);
    expect(JSON.parse(own.body)).toMatchObject({ result: { data: { user: { email: victim.ownerEmail } } } });
  });

  it("limits one address across many emails", async () => {
    // The address budget is 3 × the pair budget (5): 15 guesses, then refused whatever the email.
    const statuses: number[] = [];
    for (let i = 0; i < 16; i++)
      statuses.push((await loginFrom("127.0.0.4", `nobody${i}@example.test`, "wrong")).status);
    expect(statuses.slice(0, 15).every((s) => s === 401)).toBe(true);
    expect(statuses[15]).toBe(429);
    // A right password from that address waits too; the same user from another address does not.
    expect((await loginFrom("127.0.0.4", victim.ownerEmail, PASSWORD)).status).toBe(429);
    expect((await loginFrom("127.0.0.5", victim.ownerEmail, PASSWORD)).status).toBe(200);
  });

  it("backs off: each further block of the same pair lasts twice as long, and the right password works after it", async () => {
    // The limiter's clock is Date.now: hold it still and move it by hand, so each block's length is
    // checked exactly whatever the machine's load (with real sleeps, "still blocked 1.1 s into a 2 s
    // block" failed whenever the calls around the sleep took more than 0.9 s on a loaded machine).
    let now = Date.now();
    const clock = vi.spyOn(Date, "now").mockImplementation(() => now);
    try {
      const limits = new LoginLimits({ failuresPerWindow: 2, windowSeconds: 30, firstBlockSeconds: 1 });
      const deps = { db: server.deps.db, clock: server.deps.clock, limits };
      const attempt = (password: string) => login(deps, { email: victim.ownerEmail, password, ip: "10.9.9.9" });
      await expect(attempt("wrong 1")).rejects.toMatchObject({ kind: "unauthenticated" });
      await expect(attempt("wrong 2")).rejects.toMatchObject({ kind: "unauthenticated" });
      await expect(attempt(PASSWORD)).rejects.toMatchObject({ kind: "rate-limited", retryAfterSeconds: 1 });
      now += 1100;
      // The block is over, and the window is fresh; two more wrong guesses block it again, for 2 s.
      await expect(attempt("wrong 3")).rejects.toMatchObject({ kind: "unauthenticated" });
      await expect(attempt("wrong 4")).rejects.toMatchObject({ kind: "unauthenticated" });
      await expect(attempt(PASSWORD)).rejects.toMatchObject({ kind: "rate-limited", retryAfterSeconds: 2 });
      now += 1100;
      await expect(attempt(PASSWORD)).rejects.toMatchObject({ kind: "rate-limited" });
      now += 1000;
      const ok = await attempt(PASSWORD);
      expect(ok.user.email).toBe(victim.ownerEmail);
    } finally {
      clock.mockRestore();
    }
  });
});

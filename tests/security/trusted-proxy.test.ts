// Behind a reverse proxy every connection comes from the proxy's address. Without
// DASHFLEET_TRUSTED_PROXIES all clients would share one per-address sign-in budget, so one guesser could
// block everyone's sign-in. With it, X-Forwarded-For names the client, but only when the connection
// comes from a listed proxy, and only the entry that proxy appended (a client's own entries are ignored).
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/config.ts";
import { PASSWORD, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

const PROXY = "127.0.0.1";
let server: TestServer;
let org: TestOrg;

/** auth.login from `localAddress`, as a proxy forwarding for `forwardedFor` (X-Forwarded-For) when given. */
function login(localAddress: string, forwardedFor: string | null, password: string): Promise<number> {
  const body = JSON.stringify({ email: org.ownerEmail, password });
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  };
  if (forwardedFor !== null) headers["x-forwarded-for"] = forwardedFor;
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}/trpc/auth.login`, { method: "POST", localAddress, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });
}

beforeAll(async () => {
  server = await startTestServer({
    sweep: false,
    env: { DASHFLEET_LOGIN_PER_MINUTE: "2", DASHFLEET_TRUSTED_PROXIES: `${PROXY}, ::1` },
  });
  org = await server.createOrg("Proxy Org");
}, 180_000);
afterAll(() => server?.stop());

describe("client addresses behind a trusted proxy", () => {
  it("counts guesses per forwarded client: one client's block leaves another client of the same proxy alone", async () => {
    expect([await login(PROXY, "203.0.113.5", "wrong"), await login(PROXY, "203.0.113.5", "wrong")]).toEqual([
      401, 401,
    ]);
    expect(await login(PROXY, "203.0.113.5", PASSWORD)).toBe(429);
    // A client putting another address in front does not escape: the proxy appended the real one last.
    expect(await login(PROXY, "198.51.100.77, 203.0.113.5", PASSWORD)).toBe(429);
    // Another client behind the same proxy signs in.
    expect(await login(PROXY, "203.0.113.6", PASSWORD)).toBe(200);
  });

  it("ignores X-Forwarded-For from a peer that is not a listed proxy", async () => {
    // 127.0.0.9 is not listed: each new forwarded address is ignored, all guesses count against 127.0.0.9.
    expect([await login("127.0.0.9", "192.0.2.1", "wrong"), await login("127.0.0.9", "192.0.2.2", "wrong")]).toEqual([
      401, 401,
    ]);
    expect(await login("127.0.0.9", "192.0.2.3", PASSWORD)).toBe(429);
  });

  it("refuses a DASHFLEET_TRUSTED_PROXIES entry that is not an IP address, naming the variable", () => {
    expect(() => loadConfig({ DASHFLEET_TRUSTED_PROXIES: "127.0.0.1,proxy.lan" })).toThrow(
      /DASHFLEET_TRUSTED_PROXIES: must be IP addresses/,
    );
    expect(loadConfig({ DASHFLEET_TRUSTED_PROXIES: " 10.0.0.2 ,::1" }).trustedProxies).toEqual(["10.0.0.2", "::1"]);
    expect(loadConfig({}).trustedProxies).toEqual([]);
  });
});

// Dashboard sign-in for tests: logs in over plain HTTP (as a browser would) and hands back the
// session cookie, the raw Set-Cookie header, and a cookie-carrying tRPC client; and the usual
// fixture of a server with one organization signed in as each role plus another org for isolation.
import { PASSWORD, startTestServer, type TestOrg, type TestServer, type TRPCClient } from "./server.ts";

export type Session = { cookie: string; setCookie: string; client: TRPCClient; status: number };

/** POSTs auth.login; on success returns the cookie ("dashfleet_session=...") and a client that sends it. */
export async function signIn(
  server: Pick<TestServer, "url" | "cookieClient">,
  email: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<Session> {
  const res = await fetch(`${server.url}/trpc/auth.login`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ email, password }),
  });
  const setCookie = res.headers.getSetCookie()[0] ?? "";
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`login failed with HTTP ${res.status}`);
  const cookie = setCookie.split(";")[0] ?? "";
  return { cookie, setCookie, client: server.cookieClient(cookie), status: res.status };
}

export type RolesFixture = {
  server: TestServer;
  org: TestOrg;
  /** A second organization ("Other Org"), for isolation checks. */
  other: TestOrg;
  owner: TRPCClient;
  admin: TRPCClient;
  viewer: TRPCClient;
};

/**
 * Starts a test server with the org `name` whose owner, `admin@<domain>` and `viewer@<domain>` are
 * signed in (session clients), and a second org "Other Org".
 */
export async function startWithRoles(
  name: string,
  domain: string,
  serverOpts?: Parameters<typeof startTestServer>[0],
): Promise<RolesFixture> {
  const server = await startTestServer(serverOpts);
  const org = await server.createOrg(name);
  const other = await server.createOrg("Other Org");
  await server.addUser(org.orgId, `admin@${domain}`, "admin");
  await server.addUser(org.orgId, `viewer@${domain}`, "viewer");
  const owner = (await signIn(server, org.ownerEmail, PASSWORD)).client;
  const admin = (await signIn(server, `admin@${domain}`, PASSWORD)).client;
  const viewer = (await signIn(server, `viewer@${domain}`, PASSWORD)).client;
  return { server, org, other, owner, admin, viewer };
}

// Dashboard sign-in for tests: logs in over plain HTTP (as a browser would) and hands back the
// session cookie, the raw Set-Cookie header, and a cookie-carrying tRPC client.
import type { TestServer, TRPCClient } from "./server.ts";

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

// Builds the tRPC context from an HTTP request: Bearer key or machine token, else the session cookie.
import type { IncomingMessage, ServerResponse } from "node:http";
import net from "node:net";
import type { AppDeps, Context, Principal } from "../context.ts";
import { readCookie, SESSION_COOKIE } from "./cookies.ts";

/** True when a cookie-authenticated request comes from another site (CSRF): refuse its session. */
export function isCrossSite(req: IncomingMessage): boolean {
  const site = req.headers["sec-fetch-site"];
  if (typeof site === "string" && site !== "same-origin" && site !== "none") return true;
  const origin = req.headers.origin;
  if (typeof origin === "string" && origin !== "null") {
    try {
      return new URL(origin).host !== req.headers.host;
    } catch {
      return true;
    }
  }
  return origin === "null";
}

export function bearerOf(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1] ?? null;
}

/**
 * The client's address: the connection's peer, unless the peer is a trusted reverse proxy
 * (DASHFLEET_TRUSTED_PROXIES); then the right-most X-Forwarded-For entry that is not itself a trusted
 * proxy (entries to its left are whatever the client chose to send, so they are never believed).
 */
export function clientIp(req: IncomingMessage, trustedProxies: readonly string[] = []): string {
  const peer = plainIp(req.socket.remoteAddress ?? "unknown");
  if (trustedProxies.length === 0 || !trustedProxies.includes(peer)) return peer;
  const header = req.headers["x-forwarded-for"];
  const hops = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((h) => plainIp(h.trim()))
    .filter((h) => net.isIP(h) !== 0);
  for (let i = hops.length - 1; i >= 0; i--) if (!trustedProxies.includes(hops[i]!)) return hops[i]!;
  return hops[0] ?? peer;
}

/** An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; it is a.b.c.d. */
function plainIp(ip: string): string {
  return ip.startsWith("::ffff:") && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

/** Resolves the principal of a request. Cookies count only for same-site requests. */
export async function principalOf(deps: AppDeps, req: IncomingMessage): Promise<Principal | null> {
  const bearer = bearerOf(req);
  if (bearer) return deps.services.principals.fromBearer(bearer);
  const session = readCookie(req.headers.cookie, SESSION_COOKIE);
  if (session && !isCrossSite(req)) return deps.services.principals.fromSession(session);
  return null;
}

export async function createHttpContext(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<Context> {
  const cookies: string[] = [];
  return {
    ...deps,
    principal: await principalOf(deps, req),
    req: {
      ip: clientIp(req, deps.config.trustedProxies),
      sessionToken: readCookie(req.headers.cookie, SESSION_COOKIE),
      setCookie: (c) => {
        cookies.push(c);
        res.setHeader("Set-Cookie", cookies);
      },
    },
  };
}

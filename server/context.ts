// Request context: a pure inner part ({ db, clock, principal, ... }) built without HTTP, so tests and
// the REST shim can build it directly, and an adapter (server/http/) that builds it from a request.
import type { Logger } from "pino";
import type { Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import type { Role, KeyScope } from "./contract/index.ts";
import type { Db } from "./db.ts";
import type { Services } from "./services/index.ts";

/** Who is calling. */
export type Principal =
  | { kind: "user"; orgId: string; userId: string; email: string; role: Role; sessionId: string }
  | { kind: "key"; orgId: string; keyId: string; name: string; scopes: readonly KeyScope[] }
  | { kind: "machine"; orgId: string; machineRef: string; machineId: string };

/** Long-lived parts shared by every request. */
export type AppDeps = {
  db: Db;
  clock: Clock;
  config: Config;
  log: Logger;
  services: Services;
};

/**
 * What a service function takes: the one dependency object, built once in app.ts. A request's
 * context is one too, so a procedure hands `ctx` straight to its service.
 */
export type Deps = Pick<AppDeps, "db" | "clock" | "config" | "services">;

/** Per-request extras that only the HTTP adapter knows. */
export type RequestMeta = {
  /** Client address, for rate limiting login. */
  ip: string;
  /** Sets a cookie on the response (login/logout). */
  setCookie: (cookie: string) => void;
  /** The raw session cookie value, for logout. */
  sessionToken: string | null;
};

export type Context = AppDeps & { principal: Principal | null; req: RequestMeta };

/** Builds a context without HTTP (tests, scripts). */
export function createInnerContext(deps: AppDeps, principal: Principal | null, req?: Partial<RequestMeta>): Context {
  return {
    ...deps,
    principal,
    req: {
      ip: req?.ip ?? "127.0.0.1",
      setCookie: req?.setCookie ?? (() => {}),
      sessionToken: req?.sessionToken ?? null,
    },
  };
}

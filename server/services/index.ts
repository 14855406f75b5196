// Long-lived services shared by every request, built once per server.
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Logger } from "pino";
import type { Db } from "../db.ts";
import { dialectOf } from "../db/dialect.ts";
import { PgListener } from "../db/pgNotify.ts";
import { ActionDispatch } from "./dispatch.ts";
import { PgInvalidations, PolledInvalidations } from "./invalidations.ts";
import { PrincipalResolver } from "./principals.ts";
import { ActionQueue } from "./queueing.ts";
import { PgQueueWriter } from "./queueWritePg.ts";
import { LoginLimits } from "./loginLimits.ts";
import { forgetMachineHealth } from "./machines.ts";
import { RateLimiter } from "./rateLimit.ts";
import { EnrollLimits, openSharedLimitStore } from "./rateLimitShared.ts";
import { StreamRegistry } from "./streams.ts";

export type Services = {
  principals: PrincipalResolver;
  /** Open push streams per machine token and per process (capped). */
  streams: StreamRegistry;
  limiter: RateLimiter;
  /** Password guesses per (address, email) and per address, with backoff (shared on PostgreSQL). */
  loginLimits: LoginLimits;
  /** Enrollment attempts per key and per address (shared on PostgreSQL). */
  enrollLimits: EnrollLimits;
  /** In-memory index of machines with deliverable work, and wake-ups for waiting agents. */
  dispatch: ActionDispatch;
  /** Machine-id directory and group commit for queued actions. */
  queue: ActionQueue;
};

export async function createServices(db: Db, clock: Clock, config: Config, log?: Logger): Promise<Services> {
  const now = () => clock.now().getTime();
  // PostgreSQL (possibly several server processes): one LISTEN connection per process carries wake-ups
  // and cache invalidations between them (server/db/pgNotify.ts). SQLite is one process: none needed.
  const listener =
    dialectOf(db) === "postgresql" && config.databaseUrl ? new PgListener(config.databaseUrl, { log, now }) : null;
  const dispatch = new ActionDispatch(db, clock, listener);
  const principals = new PrincipalResolver(db, clock);
  const streams = new StreamRegistry(config.identity.streamsPerMachine, config.identity.streamsPerProcess);
  // PostgreSQL: the queue's commits go through a connection of their own (services/queueWritePg.ts).
  const writer = listener && config.databaseUrl ? new PgQueueWriter(config.databaseUrl) : null;
  const queue = new ActionQueue(db, dispatch, writer);
  // A retired or re-enrolled machine's push streams end with its old token, in every process; the
  // queue's directory forgets it (nothing more is queued for a retired machine).
  principals.onInvalidation((e) => e.kind === "machine" && streams.closeMachine(e.target));
  principals.onInvalidation((e) => e.kind === "machine" && queue.forgetMachine(e.target));
  // Its health window too: retired machines would otherwise stay in memory, and one enrolled again
  // would inherit the old window.
  principals.onInvalidation((e) => e.kind === "machine" && forgetMachineHealth(db, e.target));
  // Listen first, then load: a change made in between is either in the loaded rows or heard after.
  await principals.listen(listener ? new PgInvalidations(db, listener, now) : new PolledInvalidations(db));
  // After a lost LISTEN connection any invalidation may have been missed: every cached credential is
  // dropped and the fleet's tokens reloaded in one step (the rows recorded meanwhile are replayed too).
  listener?.onReconnect(async () => void (await principals.preloadMachines({ replace: true })));
  await listener?.start();
  await dispatch.load();
  await principals.preloadMachines();
  // On PostgreSQL the sign-in and enrollment limits are shared by every process on the database.
  const shared = config.databaseUrl ? await openSharedLimitStore(config.databaseUrl) : null;
  const limiter = new RateLimiter(clock);
  return {
    principals,
    streams,
    limiter,
    loginLimits: new LoginLimits({ failuresPerWindow: config.limits.loginPerMinute }, shared?.make),
    enrollLimits: new EnrollLimits(limiter, shared, config.identity.enrollPerMinute),
    dispatch,
    queue,
  };
}

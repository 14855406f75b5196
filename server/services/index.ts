// Long-lived services shared by every request, built once per server.
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Db } from "../db.ts";
import { ActionDispatch } from "./dispatch.ts";
import { PolledInvalidations } from "./invalidations.ts";
import { PrincipalResolver } from "./principals.ts";
import { ActionQueue } from "./queueing.ts";
import { LoginLimits } from "./loginLimits.ts";
import { RateLimiter } from "./rateLimit.ts";
import { StreamRegistry } from "./streams.ts";

export type Services = {
  principals: PrincipalResolver;
  /** Open push streams per machine token and per process (capped). */
  streams: StreamRegistry;
  limiter: RateLimiter;
  /** Password guesses per (address, email) and per address, with backoff (shared on PostgreSQL). */
  loginLimits: LoginLimits;
  /** In-memory index of machines with deliverable work, and wake-ups for waiting agents. */
  dispatch: ActionDispatch;
  /** Machine-id directory and group commit for queued actions. */
  queue: ActionQueue;
};

export async function createServices(db: Db, clock: Clock, config: Config): Promise<Services> {
  const dispatch = new ActionDispatch(db, clock);
  await dispatch.load();
  const principals = new PrincipalResolver(db, clock);
  const streams = new StreamRegistry(config.identity.streamsPerMachine, config.identity.streamsPerProcess);
  const queue = new ActionQueue(db);
  // A retired or re-enrolled machine's push streams end with its old token, in every process; the
  // queue's directory forgets it (nothing more is queued for a retired machine).
  principals.onInvalidation((e) => e.kind === "machine" && streams.closeMachine(e.target));
  principals.onInvalidation((e) => e.kind === "machine" && queue.forgetMachine(e.target));
  // Listen first, then load: a change made in between is either in the loaded rows or heard after.
  await principals.listen(new PolledInvalidations(db));
  await principals.preloadMachines();
  return {
    principals,
    streams,
    limiter: new RateLimiter(clock),
    // On PostgreSQL the sign-in limits are shared by every process on the database (loginLimits.ts).
    loginLimits: config.databaseUrl
      ? await LoginLimits.shared({ failuresPerWindow: config.limits.loginPerMinute, databaseUrl: config.databaseUrl })
      : new LoginLimits({ failuresPerWindow: config.limits.loginPerMinute }),
    dispatch,
    queue,
  };
}

// Long-lived services shared by every request, built once per server.
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Db } from "../db.ts";
import { ActionDispatch } from "./dispatch.ts";
import { PrincipalResolver } from "./principals.ts";
import { ActionQueue } from "./queueing.ts";
import { RateLimiter } from "./rateLimit.ts";

export type Services = {
  principals: PrincipalResolver;
  limiter: RateLimiter;
  /** In-memory index of machines with deliverable work, and wake-ups for waiting agents. */
  dispatch: ActionDispatch;
  /** Machine-id directory and group commit for queued actions. */
  queue: ActionQueue;
};

export async function createServices(db: Db, clock: Clock, _config: Config): Promise<Services> {
  const dispatch = new ActionDispatch(db, clock);
  await dispatch.load();
  const principals = new PrincipalResolver(db, clock);
  await principals.preloadMachines();
  return {
    principals,
    limiter: new RateLimiter(clock),
    dispatch,
    queue: new ActionQueue(db),
  };
}

// Starts a DashFleet server: migrate, open the database, build services, listen. Used by `npm start`
// and by tests (which pass their own config, clock and logger).
import type { AddressInfo } from "node:net";
import pino, { type Logger } from "pino";
import { systemClock, type Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import type { AppDeps } from "./context.ts";
import { databaseTarget, ensureIncrementalVacuum, migrate, openDb } from "./db.ts";
import { createHttpServer } from "./http/server.ts";
import { backfillFleetState } from "./services/health.ts";
import { createServices } from "./services/index.ts";
import { flushReports } from "./services/machines.ts";
import { RetentionJob } from "./services/retention.ts";

export type RunningServer = {
  url: string;
  port: number;
  deps: AppDeps;
  /** Rollups and pruning (runs every DASHFLEET_RETAIN_EVERY_SECONDS; tests call runOnce). */
  retention: RetentionJob;
  close: () => Promise<void>;
};

/**
 * How long closing waits for the database connections to be handed back. PostgreSQL's pool ends only
 * once every checked-out connection is released; a connection a failed request never gave back would
 * otherwise hold a stopping server (and a systemd stop, or a test's afterAll) forever. Everything the
 * server acknowledged is committed before this point (the flushes above), so giving up here loses nothing.
 */
const DISCONNECT_WITHIN_MS = 10_000;

async function disconnectWithin(db: { $disconnect: () => Promise<void> }, log: Logger, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = await Promise.race([
    db.$disconnect().then(() => false),
    new Promise<boolean>((r) => {
      timer = setTimeout(() => r(true), ms);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
  if (gaveUp) log.warn({ waitedMs: ms }, "database connections were not all handed back; closing without them");
}

/** How often expired leases, expired actions and timed-out executions are swept. */
const SWEEP_EVERY_MS = 2000;

export async function startServer(opts: {
  config: Config;
  clock?: Clock;
  log?: Logger;
  sweep?: boolean;
}): Promise<RunningServer> {
  const { config } = opts;
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? pino({ level: config.logLevel });
  await migrate(databaseTarget(config));
  const db = await openDb(databaseTarget(config));
  const vacuum = await ensureIncrementalVacuum(db);
  if (vacuum.mode === "too-large" || vacuum.mode === "busy")
    log.warn(
      { bytes: vacuum.bytes, mode: vacuum.mode },
      "database not switched to incremental vacuum (too large or busy): pruned pages are reused but not handed back (run VACUUM once offline)",
    );
  // Rows from before indexed online/health state (or bulk-inserted by the bench): filled once, in batches.
  await backfillFleetState(db);
  const services = await createServices(db, clock, config, log);
  const deps: AppDeps = { db, clock, config, log, services };
  const server = createHttpServer(deps);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // A large fleet reconnects all at once after a restart: Node's default accept backlog (511) overflows.
    server.listen({ port: config.port, host: config.host, backlog: 4096 }, () => resolve());
  });
  const timer =
    opts.sweep === false
      ? null
      : setInterval(() => {
          services.dispatch.sweep().catch((err: unknown) => log.error({ err }, "sweep failed"));
        }, SWEEP_EVERY_MS);
  timer?.unref();
  const retention = new RetentionJob({ db, clock, config, log });
  retention.start();
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  return {
    url: `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${port}`,
    port,
    deps,
    retention,
    async close() {
      if (timer) clearInterval(timer);
      await retention.stop();
      services.dispatch.close();
      services.principals.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      // Reports and queued actions are committed in batches: finish the last ones before the database closes.
      await flushReports(db);
      await services.queue.close();
      // The LISTEN connection (PostgreSQL) ends within about a second of dispatch.close().
      await services.dispatch.closed();
      await disconnectWithin(db, log, DISCONNECT_WITHIN_MS);
    },
  };
}

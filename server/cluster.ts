// DASHFLEET_WORKERS=N (N > 1, PostgreSQL only): N server processes on one host with node:cluster. The
// primary serves nothing itself: it migrates once, forks the workers (each a full `startServer` on the
// same port; cluster shares the listening socket and hands connections round-robin), creates the demo
// organization and prints the URL once the first worker listens, restarts a worker that dies (with a
// backoff, logged), replaces the workers one at a time on SIGHUP (upgrades), and on SIGTERM/SIGINT
// stops every worker gracefully. Nothing that decides correctness lives in one worker's memory
// (dispatch index, wake-ups, invalidations, sequence numbers: PostgreSQL), so a worker's death loses
// only its open connections; agents reconnect to another. Every worker keeps its sweep and retention
// timers: advisory locks let one run at a time (server/db/advisory.ts, RetentionLeader in
// server/services/retention.ts), so there is no leader to elect and none to lose.
import cluster, { type Worker } from "node:cluster";
import pino from "pino";
import { startServer } from "./app.ts";
import { systemClock } from "./clock.ts";
import type { Config } from "./config.ts";
import { databaseTarget, migrate, openDb } from "./db.ts";
import { ensureDemoOrg } from "./services/demo.ts";

/** First restart delay of a worker that died; doubled per death in a row, up to RESTART_MAX_MS. */
export const RESTART_MIN_MS = 500;
export const RESTART_MAX_MS = 30_000;
/** A worker that lived this long before dying starts the backoff over (a crash, not a crash loop). */
export const STABLE_AFTER_MS = 60_000;
/** How long a stopping worker lets requests in flight finish after it stops taking connections. */
export const DRAIN_MS = 1000;
/** How long a graceful stop may take (requests finishing, batches flushed) before SIGKILL. */
export const STOP_GRACE_MS = 30_000;

/** Runs this process's part: the primary forks and watches, a worker serves. */
export async function runCluster(config: Config): Promise<void> {
  if (cluster.isPrimary) await runPrimary(config);
  else await runWorker(config);
}

/** The URL as app.ts shows it (a wildcard host is shown as localhost). */
function shownUrl(host: string, port: number): string {
  const shown = host === "0.0.0.0" || host === "::" ? "localhost" : host;
  return `http://${shown.includes(":") ? `[${shown}]` : shown}:${port}`;
}

async function runPrimary(config: Config): Promise<void> {
  const log = pino({ level: config.logLevel }).child({ role: "primary" });
  // Once here, before any worker: the workers' own migrate() then finds nothing to do (and the runner's
  // advisory lock would serialize them anyway).
  await migrate(databaseTarget(config));

  /** slot → its worker's state, so a restarted worker takes its predecessor's place and backoff. */
  const slots = Array.from({ length: config.workers }, (_, slot) => ({
    slot,
    worker: null as Worker | null,
    startedAt: 0,
    deathsInARow: 0,
    restartTimer: null as NodeJS.Timeout | null,
  }));
  let stopping = false;

  const fork = (slot: (typeof slots)[number]) => {
    slot.restartTimer = null;
    slot.worker = cluster.fork({ DASHFLEET_WORKER_SLOT: String(slot.slot) });
    slot.startedAt = Date.now();
  };

  cluster.on("exit", (worker, code, signal) => {
    const slot = slots.find((s) => s.worker === worker);
    if (!slot) return;
    slot.worker = null;
    if (stopping) return;
    const lived = Date.now() - slot.startedAt;
    slot.deathsInARow = lived >= STABLE_AFTER_MS ? 1 : slot.deathsInARow + 1;
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** (slot.deathsInARow - 1));
    log.warn(
      {
        workerPid: worker.process.pid,
        code,
        signal,
        livedMs: lived,
        deathsInARow: slot.deathsInARow,
        restartInMs: delay,
      },
      "server worker died; restarting it",
    );
    slot.restartTimer = setTimeout(() => fork(slot), delay);
  });

  let announced = false;
  cluster.on("listening", (worker, address) => {
    log.info({ workerPid: worker.process.pid, port: address.port }, "server worker listening");
    if (announced) return;
    announced = true;
    const url = shownUrl(config.host, address.port);
    void announce(config, url).catch((err: unknown) => log.error({ err }, "demo organization not created"));
  });

  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping server workers");
    for (const s of slots) if (s.restartTimer) clearTimeout(s.restartTimer);
    const running = slots.map((s) => s.worker).filter((w): w is Worker => w !== null);
    await Promise.all(running.map(stopWorker));
    process.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stop(signal));

  // SIGHUP: a rolling restart (an upgrade: new code on disk, new migrations applied by the first new
  // worker under the runner's lock). One slot at a time, the successor is started and listening before
  // its predecessor stops, so the port always has a live worker and no request goes unanswered.
  let rolling = false;
  const rollingRestart = async () => {
    if (rolling || stopping) return;
    rolling = true;
    log.info({}, "rolling restart: replacing server workers one at a time");
    try {
      for (const slot of slots) {
        if (stopping) return;
        if (slot.restartTimer) clearTimeout(slot.restartTimer);
        slot.restartTimer = null;
        const old = slot.worker;
        const next = cluster.fork({ DASHFLEET_WORKER_SLOT: String(slot.slot) });
        const listening = await new Promise<boolean>((resolve) => {
          next.once("listening", () => resolve(true));
          next.once("exit", () => resolve(false));
        });
        if (!listening) {
          log.error(
            { slot: slot.slot },
            "rolling restart stopped: a new worker failed to start; the others keep serving",
          );
          if (!old) fork(slot);
          return;
        }
        // From here `old` is no slot's worker: its exit is not taken for a death to restart.
        Object.assign(slot, { worker: next, startedAt: Date.now(), deathsInARow: 0 });
        if (old) await stopWorker(old);
      }
      log.info({}, "rolling restart done");
    } finally {
      rolling = false;
    }
  };
  process.on("SIGHUP", () => void rollingRestart());

  for (const slot of slots) fork(slot);
}

/** SIGTERM (the worker finishes and flushes, see runWorker); SIGKILL after STOP_GRACE_MS. */
function stopWorker(w: Worker): Promise<void> {
  return new Promise<void>((resolve) => {
    if (w.isDead()) return resolve();
    const force = setTimeout(() => w.process.kill("SIGKILL"), STOP_GRACE_MS);
    w.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    w.process.kill("SIGTERM");
  });
}

/** Once: the demo organization (when enabled and the database has none) and the URL. */
async function announce(config: Config, url: string): Promise<void> {
  if (config.demo) {
    const db = await openDb(databaseTarget(config));
    try {
      await ensureDemoOrg({ db, clock: systemClock }, url);
    } finally {
      await db.$disconnect();
    }
  }
  console.log(`\nDashFleet: dashboard and API on ${url}  (${config.workers} server processes, PostgreSQL)\n`);
}

async function runWorker(config: Config): Promise<void> {
  const log = pino({ level: config.logLevel }).child({ worker: process.env.DASHFLEET_WORKER_SLOT });
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({ config, log });
  } catch (err) {
    // The primary restarts it after a backoff (the database may be starting, or briefly unreachable).
    log.error({ err }, "server worker failed to start");
    process.exit(1);
  }
  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    // First stop taking connections (the primary hands new ones to the other workers) and let the
    // requests in flight finish; then close the rest (push streams: their agents reconnect elsewhere).
    // Closing at once cut a request in flight now and then during a rolling restart (seen in the test).
    cluster.worker?.disconnect();
    setTimeout(() => {
      void server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    }, DRAIN_MS);
  };
  // SIGTERM from the primary's stop; SIGINT from a terminal's Ctrl-C (it reaches the whole group).
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, close);
  // The primary is gone (killed): it held the listening socket, so this worker cannot be reached; stop.
  process.once("disconnect", close);
}

// SQLite checkpoints on a worker thread. In WAL mode a commit appends pages to the log, and a
// checkpoint copies them back into the database file and syncs it. better-sqlite3 is synchronous, so a
// checkpoint run by a committing connection (SQLite's autocheckpoint) stops the event loop for that
// copy: with a 100,000-machine fleet reporting, every commit carried one and every poll waited
// behind it. Here a second connection on its own thread runs PASSIVE checkpoints (they never block a
// writer or a reader) as soon as the log has frames, and the server's connection keeps only a fallback
// autocheckpoint (WAL_AUTOCHECKPOINT_PAGES) in case this thread falls behind or stops.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";

/** How long the thread sleeps after a round that found the log empty, and after one that found frames. */
export const CHECKPOINT_IDLE_MS = 50;
export const CHECKPOINT_BUSY_MS = 2;

// Plain CommonJS run by the worker (eval): no TypeScript loader is needed on that thread.
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 5000 });
db.pragma("synchronous = FULL");
let stopping = false;
let failures = 0;
let lastLog = -1;
parentPort.on("message", (m) => { if (m === "stop") stopping = true; });
function round() {
  if (stopping) { db.close(); parentPort.postMessage({ kind: "stopped" }); return; }
  let again = false;
  try {
    const r = db.pragma("wal_checkpoint(PASSIVE)")[0];
    // log: frames in the log; checkpointed: frames copied. A log that grew (or was restarted) since the
    // last round, or is not all copied, is looked at again soon: under load more commits are coming.
    again = r.checkpointed < r.log || r.log !== lastLog;
    lastLog = r.log;
    if (failures > 0) parentPort.postMessage({ kind: "recovered" });
    failures = 0;
  } catch (e) {
    if (failures++ === 0) parentPort.postMessage({ kind: "error", message: String(e && e.message || e) });
  }
  setTimeout(round, failures > 0 ? workerData.idleMs * 20 : again ? workerData.busyMs : workerData.idleMs);
}
round();
`;

export type Checkpointer = { stop(): Promise<void> };

/** Starts checkpointing `dbFile` on a worker thread; stop() ends it (waits at most 5 s). */
export function startCheckpointer(dbFile: string, log: Logger): Checkpointer {
  // The SQLite library Prisma's adapter loads (it nests its own copy): two copies in one process do not
  // see each other's POSIX locks and corrupt the database (services/retention.ts, PrismaSqlite).
  const driver = createRequire(import.meta.resolve("@prisma/adapter-better-sqlite3")).resolve("better-sqlite3");
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: { file: dbFile, driver, idleMs: CHECKPOINT_IDLE_MS, busyMs: CHECKPOINT_BUSY_MS },
  });
  worker.unref();
  let stopped: () => void = () => {};
  const done = new Promise<void>((r) => (stopped = r));
  worker.on("message", (m: { kind: string; message?: string }) => {
    if (m.kind === "error")
      log.warn(`checkpoints on the worker thread fail (${m.message}); the server's connection checkpoints instead`);
    else if (m.kind === "recovered") log.info("checkpoints on the worker thread work again");
    else if (m.kind === "stopped") stopped();
  });
  worker.on("error", (e) => {
    log.error(`checkpoint thread stopped: ${e.message}; the server's connection checkpoints instead`);
    stopped();
  });
  worker.on("exit", () => stopped());
  return {
    async stop() {
      worker.postMessage("stop");
      const timer = setTimeout(() => void worker.terminate(), 5000);
      await done;
      clearTimeout(timer);
    },
  };
}

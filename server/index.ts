// `npm start`: migrate, create the demo organization on first run, serve API and dashboard. With
// DASHFLEET_WORKERS > 1 (PostgreSQL), several server processes on this host: see server/cluster.ts.
import fs from "node:fs";
import path from "node:path";
import { startServer } from "./app.ts";
import { runCluster } from "./cluster.ts";
import { loadConfig, type Config } from "./config.ts";
import { ensureDemoOrg } from "./services/demo.ts";

/** One process (the default, and the only mode on SQLite). */
async function runSingle(config: Config): Promise<void> {
  // A database folder that cannot be written (read-only file system, permissions) would otherwise end
  // in SQLite's bare "unable to open database file": say what is wrong and where.
  if (!config.databaseUrl) {
    try {
      fs.accessSync(path.dirname(config.dbFile), fs.constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") {
        console.error(
          `\nDashFleet cannot start: the database folder ${path.dirname(config.dbFile)} is not writable (${code}${code === "EROFS" ? ": read-only file system" : ""}). Make it writable, or set DASHFLEET_DB, and start again.\n`,
        );
        process.exit(1);
      }
    }
  }
  const server = await startServer({ config });
  const { deps } = server;
  if (config.demo) await ensureDemoOrg(deps, server.url);
  // The PostgreSQL URL may hold a password: only say which database kind it is.
  const database = config.databaseUrl ? "PostgreSQL" : config.dbFile;
  deps.log.info({ url: server.url, db: database }, "DashFleet is running");
  console.log(`\nDashFleet: dashboard and API on ${server.url}  (database ${database})\n`);

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void server.close().then(() => process.exit(0));
    });
  }
  // `systemctl reload` sends SIGHUP, whose default would end the process. Several workers replace
  // themselves one at a time on it (server/cluster.ts); one process cannot without a gap, so it keeps
  // serving and says how to load new code instead.
  process.on("SIGHUP", () => {
    deps.log.warn(
      "SIGHUP ignored: a single server process is not replaced in place; restart it to load new code (or run DASHFLEET_WORKERS=2+ on PostgreSQL)",
    );
  });
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  // A bad variable is named in the message: no stack trace in front of it.
  console.error(`\nDashFleet cannot start. ${(err as Error).message}\n`);
  process.exit(1);
}
if (config.workers > 1) await runCluster(config);
else await runSingle(config);

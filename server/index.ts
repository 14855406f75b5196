// `npm start`: migrate, create the demo organization on first run, serve API and dashboard.
import fs from "node:fs";
import path from "node:path";
import { startServer } from "./app.ts";
import { loadConfig } from "./config.ts";
import { ensureDemoOrg } from "./services/demo.ts";

const config = loadConfig();
// A database folder that cannot be written (read-only file system, permissions) would otherwise end
// in SQLite's bare "unable to open database file": say what is wrong and where.
try {
  fs.accessSync(path.dirname(config.dbFile), fs.constants.W_OK);
} catch (err) {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== "ENOENT") {
    console.error(`\nDashFleet cannot start: the database folder ${path.dirname(config.dbFile)} is not writable (${code}${code === "EROFS" ? ": read-only file system" : ""}). Make it writable, or set DASHFLEET_DB, and start again.\n`);
    process.exit(1);
  }
}
const server = await startServer({ config });
const { deps } = server;
if (config.demo) await ensureDemoOrg(deps, server.url);
deps.log.info({ url: server.url, db: config.dbFile }, "DashFleet is running");
console.log(`\nDashFleet: dashboard and API on ${server.url}  (database ${config.dbFile})\n`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}

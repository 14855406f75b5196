// `npm start`: migrate, create the demo organization on first run, serve API and dashboard.
import { startServer } from "./app.ts";
import { loadConfig } from "./config.ts";
import { ensureDemoOrg } from "./services/demo.ts";

const config = loadConfig();
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

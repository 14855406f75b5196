// Headless agent (servers, CI): `npm run agent -- --server URL --token KEY --machine-id ID --interval 5`.
// The same core as the tray app, with the log as its desktop. Exit codes: 0 stopped, 2 bad configuration.
import fs from "node:fs";
import path from "node:path";
import { Agent } from "./core/agent.ts";
import { sleep } from "./core/backoff.ts";
import { ConfigError, loadAgentConfig, USAGE } from "./core/config.ts";
import { HeadlessDesktop } from "./core/headlessDesktop.ts";
import { ensurePrivateDir } from "./core/fsatomic.ts";
import { createLogger } from "./core/log.ts";
import { createPushChannel } from "./core/push.ts";

let config;
try {
  config = loadAgentConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`dashfleet-agent: ${err.message}\n`);
  process.exit(2);
}
if (config.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (!config.server || !config.token) {
  process.stderr.write(`dashfleet-agent: --server and --token are required (or a config file)\n${USAGE}\n`);
  process.exit(2);
}

// The data folder holds the machine token and the journal: owner only (0700), also when it existed.
ensurePrivateDir(config.dataDir);
const log = createLogger({ level: config.logLevel, file: path.join(config.dataDir, "agent.log") });
const agent = new Agent({
  config,
  desktop: new HeadlessDesktop({ log, sleep }),
  log,
  // The push channel only wakes the poller; without it (or on an older server) polling carries on.
  push: config.push
    ? (onWake, ctx) =>
        createPushChannel({ ...ctx, log: { info: (m) => log.info(m), warn: (m) => log.warn(m) } })(onWake)
    : undefined,
});
log.info(
  `DashFleet agent (headless) → ${config.server}; data in ${config.dataDir}; reports every ${config.intervalSeconds} s, polls every ${config.pollIntervalSeconds} s`,
);
// The pid file lets service scripts (and tests) find the agent, also after a restart re-executed it.
const pidFile = path.join(config.dataDir, "agent.pid");
fs.writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });
process.once("exit", () => {
  try {
    if (fs.readFileSync(pidFile, "utf8").trim() === String(process.pid)) fs.rmSync(pidFile);
  } catch {
    // already gone
  }
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log.info(`${signal}: stopping`);
    void agent.stop().then(() => process.exit(0));
  });
}
try {
  await agent.run();
} catch (err) {
  // A second agent on the same data folder, and other problems the user can fix: one clear line.
  if (!(err instanceof ConfigError)) throw err;
  log.error(err.message);
  process.stderr.write(`dashfleet-agent: ${err.message}\n`);
  process.exit(2);
}

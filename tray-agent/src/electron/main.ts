// The tray app's main process: single instance, starts at login, first-run setup, then the agent
// core with the Electron desktop. Bundled by tray-agent/build.mjs into dist/main.cjs.
import path from "node:path";
import { app } from "electron";
import { Agent } from "../core/agent.ts";
import { ConfigError, loadAgentConfig, writeUserConfig, type AgentConfig } from "../core/config.ts";
import { createTranslator, osLocales, pickLanguage } from "../core/i18n/index.ts";
import { createLogger } from "../core/log.ts";
import { createPushChannel } from "../core/push.ts";
import { ElectronDesktop } from "./desktop.ts";
import { realElectron } from "./real.ts";
import { TrayService } from "./tray.ts";

// Bundled as CommonJS: __dirname is dist/, next to preload.cjs, window.html and the icons.
const here = __dirname;
const asset = (name: string) => path.join(here, name);

function readConfig(): AgentConfig {
  // Chromium and Electron add switches of their own: unknown flags are tolerated here.
  return loadAgentConfig({ argv: process.argv.slice(app.isPackaged ? 1 : 2), strict: false });
}

async function start(): Promise<void> {
  await app.whenReady();
  app.dock?.hide();
  const api = realElectron(asset("preload.cjs"));
  if (app.isPackaged) api.setOpenAtLogin(true);

  let config = readConfig();
  const log = createLogger({
    level: config.logLevel,
    file: path.join(config.dataDir, "agent.log"),
    stderr: !app.isPackaged,
  });
  // The OS's language (Electron's view of it first), English when it is not translated.
  const t = createTranslator(pickLanguage([config.locale, app.getLocale(), ...osLocales()]));
  const desktop = new ElectronDesktop(api, { html: asset("window.html"), log, t, branding: config.branding });

  // First run without an installer-provided configuration: ask for the server and the key.
  let error: string | null = null;
  while (!config.server || !config.token) {
    const answer = await desktop.setup(config.server ?? "", error);
    if (!answer) return app.quit();
    try {
      writeUserConfig(config.dataDir, { server: answer.server.trim(), token: answer.token.trim() });
      config = readConfig();
      error = null;
    } catch (err) {
      error = err instanceof ConfigError ? err.message : String(err);
    }
  }

  let agent: Agent | null = null;
  const tray = new TrayService(
    api,
    { connected: asset("tray-connected.png"), offline: asset("tray-offline.png"), waiting: asset("tray-waiting.png") },
    {
      openMessage: (id) => desktop.showMessage(id),
      setPaused: (p) => agent?.setPaused(p),
      checkNow: () => agent?.wake(),
      restartNow: () => agent?.restartNow(),
      openLog: () => void api.openPath(path.join(config.dataDir, "agent.log")),
      quit: () => void (agent?.stop() ?? Promise.resolve()).then(() => app.quit()),
    },
    t,
  );
  desktop.attachTray(tray);
  agent = new Agent({
    config,
    desktop,
    log,
    push: config.push
      ? (onWake, ctx) =>
          createPushChannel({ ...ctx, log: { info: (m) => log.info(m), warn: (m) => log.warn(m) } })(onWake)
      : undefined,
  });
  tray.update(agent.getState());
  log.info(`DashFleet agent (tray) → ${config.server}`);
  try {
    await agent.run();
  } catch (err) {
    // A second agent on the same data folder (or another configuration problem): say so and stop.
    log.error(err instanceof Error ? err.message : String(err));
    if (err instanceof ConfigError) app.exit(2);
    throw err;
  }
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // The agent lives in the tray: closing its last window must not quit it.
  app.on("window-all-closed", () => {});
  start().catch((err: unknown) => {
    console.error(err);
    app.exit(1);
  });
}

// Branding from the console to the agent's windows, over the real server: the owner changes it in
// settings, the real agent core picks it up within its refresh rule and the next window's request
// (what the real ElectronDesktop hands the page through IPC) carries the new name, support text and
// logo; with the server down, a restarted agent brands its windows from its cache; agent.branding
// answers an agent's etag without the logo while it is current.
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BrandingAnswer } from "../../server/contract/index.ts";
import { Agent } from "../../tray-agent/src/core/agent.ts";
import { createTranslator } from "../../tray-agent/src/core/i18n/index.ts";
import { silentLogger } from "../../tray-agent/src/core/log.ts";
import { ElectronDesktop } from "../../tray-agent/src/electron/desktop.ts";
import { IPC, type WindowRequest } from "../../tray-agent/src/electron/ipc.ts";
import type { ElectronApi, WindowLike } from "../../tray-agent/src/electron/ports.ts";
import { agentConfig, fixedIdentity, fixedMetrics, tempDataDir, waitFor } from "../helpers/agent.ts";
import { startProxy, type FaultProxy } from "../helpers/proxy.ts";
import { enroll, type TRPCClient } from "../helpers/server.ts";
import { startWithRoles, type RolesFixture } from "../helpers/session.ts";

const ENV = { DASHFLEET_AGENT_PER_MINUTE: "100000" };
/** The refresh rule under test: asked again this often (the agent's default is 15 minutes). */
const REFRESH_MS = 400;
const PNG = fs.readFileSync(path.resolve(import.meta.dirname, "../../tray-agent/assets/tray-connected.png"));
const PNG_URL = `data:image/png;base64,${PNG.toString("base64")}`;

let f: RolesFixture;
let proxy: FaultProxy;
const running: Agent[] = [];

beforeAll(async () => {
  f = await startWithRoles("Branding Org", "branding.test", { env: ENV });
  proxy = await startProxy(f.server.url);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.stop()));
});
afterAll(async () => {
  await proxy?.close();
  await f?.server.stop();
});

/**
 * Electron's windows as the shell drives them, without a screen: each window asks its request the way
 * the page does (IPC.init), it is recorded, and the user answers at once (OK, or "I have read this").
 */
class RecordingElectron implements ElectronApi {
  readonly requests: WindowRequest[] = [];
  private init: ((id: number) => unknown) | null = null;
  private answer: ((id: number, payload: unknown) => void) | null = null;
  private next = 1;

  createWindow(): WindowLike {
    const id = this.next++;
    let destroyed = false;
    const closed: (() => void)[] = [];
    return {
      contentsId: id,
      load: async () => {
        const req = this.init?.(id) as WindowRequest;
        this.requests.push(req);
        const reply = req.kind === "message" && req.requireAcknowledgement ? "acknowledged" : "ok";
        setTimeout(() => this.answer?.(id, reply), 10);
      },
      show: () => {},
      focus: () => {},
      close: () => {
        if (destroyed) return;
        destroyed = true;
        for (const l of closed) l();
      },
      isDestroyed: () => destroyed,
      onClosed: (l) => void closed.push(l),
    };
  }
  handle(channel: string, fn: (id: number) => unknown) {
    if (channel === IPC.init) this.init = fn;
  }
  on(channel: string, fn: (id: number, payload: unknown) => void) {
    if (channel === IPC.answer) this.answer = fn;
  }
  notificationsSupported = () => false;
  createTray(): never {
    throw new Error("no tray here");
  }
  createNotification(): never {
    throw new Error("no notifications here");
  }
  openPath = async () => "";
  relaunch = () => {};
  exit = () => {};
  quit = () => {};
  setOpenAtLogin = () => {};
}

/** The real agent core with the real Electron desktop (recorded windows), talking through the proxy. */
function startAgent(dataDir: string, machineId: string) {
  const electron = new RecordingElectron();
  const desktop = new ElectronDesktop(electron, { html: "window.html", log: silentLogger, t: createTranslator("en") });
  const agent = new Agent({
    config: agentConfig({
      dataDir,
      server: proxy.url,
      token: f.org.agentKey,
      machineId,
      intervalSeconds: 1,
      pollIntervalSeconds: 1,
      backoffMaxSeconds: 1,
    }),
    desktop,
    metrics: fixedMetrics,
    identity: fixedIdentity,
    brandingRefreshMs: REFRESH_MS,
  });
  running.push(agent);
  void agent.run();
  return { agent, desktop, electron };
}

/** Queues a dialog to the machine and returns the branding of the window the agent opened for it. */
async function brandingOfNextMessage(electron: RecordingElectron, machineId: string) {
  const before = electron.requests.length;
  const { id } = await f.admin.actions.queue.mutate({
    machineId,
    type: "message",
    data: { title: "Maintenance", message: "Servers restart tonight.", display: "dialog" },
  });
  await waitFor(async () => (await f.admin.actions.get.query({ id })).status === "done", "the message done");
  expect(electron.requests).toHaveLength(before + 1);
  return electron.requests.at(-1)!.branding;
}

describe("branding from the console to the agent's windows", () => {
  it("the owner's change reaches the next window within the refresh rule; a restart with the server down uses the cache", async () => {
    const dataDir = tempDataDir();
    const machineId = "brand-1";
    const first = startAgent(dataDir, machineId);
    await waitFor(() => first.agent.getState().connection === "connected", "connected");
    // Nothing set: the organisation's own name.
    expect(await brandingOfNextMessage(first.electron, machineId)).toEqual({ orgName: "Branding Org" });

    await f.owner.settings.update.mutate({
      branding: {
        brandName: "Acme IT",
        supportText: "Questions? Call the help desk on 4242.",
        logoBase64: PNG.toString("base64"),
      },
    });
    const changedAt = Date.now();
    await waitFor(() => first.agent.branding()?.orgName === "Acme IT", "the new branding");
    // Within the rule: the refresh period plus one loop turn (the poll interval, 1 s here), with slack.
    expect(Date.now() - changedAt).toBeLessThan(REFRESH_MS + 1000 + 2000);
    const expected = {
      orgName: "Acme IT",
      supportText: "Questions? Call the help desk on 4242.",
      logoDataUrl: PNG_URL,
    };
    expect(await brandingOfNextMessage(first.electron, machineId)).toEqual(expected);
    const cache = path.join(dataDir, "branding.json");
    if (process.platform !== "win32") expect(fs.statSync(cache).mode & 0o777).toBe(0o600);
    await first.agent.stop();

    // The server is unreachable; the agent starts again (a reboot, a new session).
    await proxy.down();
    const offline = startAgent(dataDir, machineId);
    await waitFor(() => offline.agent.getState().connection === "offline", "offline");
    expect(offline.agent.branding()).toEqual(expected);
    // The window the agent opens now (a message already on its way, a reboot prompt resumed) is branded.
    await offline.desktop.dialog({
      actionId: "local",
      title: "t",
      message: "m",
      urgency: "info",
      requireAcknowledgement: false,
    });
    expect(offline.electron.requests.at(-1)?.branding).toEqual(expected);

    // Changed while the agent was cut off: picked up once the server answers again.
    await f.owner.settings.update.mutate({ branding: { brandName: "Acme IT Services", logoBase64: null } });
    await proxy.up();
    await waitFor(() => offline.agent.branding()?.orgName === "Acme IT Services", "the branding after recovery");
    expect(await brandingOfNextMessage(offline.electron, machineId)).toEqual({
      orgName: "Acme IT Services",
      supportText: "Questions? Call the help desk on 4242.",
    });
  });

  it("agent.branding with the agent's etag leaves the logo out while it is current; without input it answers as before", async () => {
    const machine: TRPCClient = f.server.client(await enroll(f.server, f.org.agentKey, "brand-etag"));
    await f.owner.settings.update.mutate({
      branding: { brandName: "Etag Org", supportText: "Call 4242", logoBase64: PNG.toString("base64") },
    });
    const full = await machine.agent.branding.query({});
    expect(full).toMatchObject({ orgName: "Etag Org", logoDataUrl: PNG_URL });
    const { etag } = BrandingAnswer.parse(full);
    expect(etag).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await machine.agent.branding.query({ etag })).toEqual({
      orgName: "Etag Org",
      supportText: "Call 4242",
      etag,
    });
    // A change gives a new etag and the logo again.
    await f.owner.settings.update.mutate({ branding: { supportText: null } });
    const changed = BrandingAnswer.parse(await machine.agent.branding.query({ etag }));
    expect(changed.etag).not.toBe(etag);
    expect(changed.logoDataUrl).toBe(PNG_URL);
    // The console's and older agents' call: the plain Branding, no etag.
    expect(await machine.agent.branding.query()).toEqual({ orgName: "Etag Org", logoDataUrl: PNG_URL });
  });
});

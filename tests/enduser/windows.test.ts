// The end-user windows as people see them: the real ElectronDesktop drives real Chromium through the
// same typed port the Electron shell uses (ElectronApi), with each window a Chromium page at the size
// the shell opens it and the preload's two calls (init, answer) bridged to the desktop's IPC handlers.
// Driven like a user: the countdown ticks, a snooze is picked, the final stage has no snooze and cannot
// be closed, a message is acknowledged; English and French; keyboard order, accessible names, forced
// colours, HiDPI. The organisation's branding as an owner sets it on the real server, fetched by the
// real agent core (hostile names shown as text, bidi overrides removed). Screenshots in
// tests/artifacts/enduser/.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../tray-agent/src/core/agent.ts";
import type { RebootPromptRequest } from "../../tray-agent/src/core/desktop.ts";
import { createTranslator } from "../../tray-agent/src/core/i18n/index.ts";
import { silentLogger } from "../../tray-agent/src/core/log.ts";
import { ElectronDesktop, SIZES } from "../../tray-agent/src/electron/desktop.ts";
import { IPC, type PreloadApi } from "../../tray-agent/src/electron/ipc.ts";
import type { ElectronApi, WindowLike, WindowOptions } from "../../tray-agent/src/electron/ports.ts";
import { agentConfig, fixedIdentity, fixedMetrics, tempDataDir, waitFor } from "../helpers/agent.ts";
import { ARTIFACTS, launchBrowser } from "../helpers/browser.ts";
import { startWithRoles } from "../helpers/session.ts";

/** Clicks a button that closes its window: the page may be gone before Playwright's click returns. */
async function clickClosing(button: Locator): Promise<void> {
  await button.click().catch((err: unknown) => {
    if (!/closed/i.test(String(err))) throw err;
  });
}

const HTML = path.resolve(import.meta.dirname, "../../tray-agent/src/electron/renderer/window.html");
const SHOTS = path.join(ARTIFACTS, "enduser");
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
  fs.mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});

type Opened = { page: Page; opts: WindowOptions; problems: string[] };

/** ElectronApi over Chromium pages: what the shell's real.ts does with BrowserWindow and ipcMain. */
class ChromiumElectron implements ElectronApi {
  readonly windows: Opened[] = [];
  private initHandler: ((senderId: number) => unknown) | null = null;
  private answerHandler: ((senderId: number, payload: unknown) => void) | null = null;
  private nextId = 1;
  private waiters: ((o: Opened) => void)[] = [];

  constructor(private readonly scale = 1) {}

  createWindow(opts: WindowOptions): WindowLike {
    const id = this.nextId++;
    let page: Page | null = null;
    let destroyed = false;
    const closed: (() => void)[] = [];
    return {
      contentsId: id,
      load: async (file) => {
        page = await browser.newPage({
          viewport: { width: opts.width, height: opts.height },
          deviceScaleFactor: this.scale,
        });
        const problems: string[] = [];
        page.on("pageerror", (e) => problems.push(e.message));
        page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
        // The preload's API, bridged to the handlers the desktop registered (IPC.init / IPC.answer).
        await page.exposeFunction("__ipcInit", () => this.initHandler?.(id) ?? null);
        await page.exposeFunction("__ipcAnswer", (a: unknown) => this.answerHandler?.(id, a));
        await page.addInitScript(() => {
          const w = window as unknown as {
            dashfleet: PreloadApi;
            __ipcInit: () => Promise<never>;
            __ipcAnswer: (a: unknown) => Promise<void>;
          };
          w.dashfleet = { init: () => w.__ipcInit(), answer: (a) => void w.__ipcAnswer(a) };
        });
        await page.goto(pathToFileURL(file).href);
        const o = { page, opts, problems };
        this.windows.push(o);
        for (const w of this.waiters.splice(0)) w(o);
      },
      show: () => {},
      focus: () => {},
      close: () => {
        if (destroyed) return;
        destroyed = true;
        void page?.close();
        for (const l of closed) l();
      },
      isDestroyed: () => destroyed,
      onClosed: (l) => void closed.push(l),
    };
  }

  /** The next window that finished loading. */
  nextWindow(): Promise<Opened> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  handle(channel: string, fn: (senderId: number) => unknown): void {
    if (channel === IPC.init) this.initHandler = fn;
  }
  on(channel: string, fn: (senderId: number, payload: unknown) => void): void {
    if (channel === IPC.answer) this.answerHandler = fn;
  }
  createTray(): never {
    throw new Error("no tray here");
  }
  notificationsSupported = () => false;
  createNotification(): never {
    throw new Error("no notifications here");
  }
  openPath = async () => "";
  relaunch = () => {};
  exit = () => {};
  quit = () => {};
  setOpenAtLogin = () => {};
}

/** A small PNG as the organisation's logo (the agent's own icon). */
const LOGO = `data:image/png;base64,${fs.readFileSync(path.resolve(import.meta.dirname, "../../tray-agent/assets/tray-connected.png")).toString("base64")}`;

function desktopIn(lang: string, o: { scale?: number; branding?: boolean; logo?: boolean } = {}) {
  const api = new ChromiumElectron(o.scale);
  const desktop = new ElectronDesktop(api, {
    html: HTML,
    log: silentLogger,
    t: createTranslator(lang),
    now: () => new Date("2026-11-25T14:05:00.000Z"),
    branding: o.branding
      ? {
          orgName: "Acme Corp IT",
          supportText: "Questions? Call the help desk on 4242 or write to it@acme.example.",
          ...(o.logo ? { logoDataUrl: LOGO } : {}),
        }
      : null,
  });
  return { api, desktop };
}

const prompt: RebootPromptRequest = {
  stage: "prompt",
  seconds: 300,
  snoozeOptions: [600, 3600, 14_400],
  snoozesLeft: 3,
  maxSnoozes: 3,
  deadlineAt: "2026-11-25T18:00:00.000Z",
  insistence: "normal",
};

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });

/** Whether an element is entirely inside the window (not scrolled or pushed out). */
async function inView(page: Page, selector: string): Promise<boolean> {
  const box = await page.locator(selector).boundingBox();
  const vp = page.viewportSize()!;
  return !!box && box.y >= 0 && box.x >= 0 && box.y + box.height <= vp.height && box.x + box.width <= vp.width;
}

const countdownSeconds = async (page: Page) => {
  const m = /(\d+):(\d\d)/.exec((await page.textContent("#countdown")) ?? "");
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
};

describe("end-user windows in Chromium", () => {
  it("reboot prompt (English): ticks, offers the policy's snoozes, keeps title and buttons in view, snoozes 1 hour", async () => {
    const { api, desktop } = desktopIn("en", { branding: true });
    const opened = api.nextWindow();
    const answer = desktop.rebootPrompt(prompt);
    const { page, opts, problems } = await opened;
    await page.locator("#countdown").waitFor();
    expect(opts).toMatchObject({ ...SIZES.reboot, closable: false, alwaysOnTop: false });
    expect(await page.textContent("h1")).toBe("Your computer will restart");
    expect(await page.textContent("#org")).toBe("Acme Corp IT");
    const first = await countdownSeconds(page);
    expect(first).toBeGreaterThan(295);
    // It ticks: wait for the next second rather than read once after a fixed 1.3 s (a page timer can
    // run late on a loaded machine).
    await expect.poll(() => countdownSeconds(page), { timeout: 10_000 }).toBeLessThan(first);
    expect(await page.textContent("#snoozes-left")).toBe("You can snooze 3 more times.");
    expect(await page.textContent("#deadline")).toMatch(
      /^The restart will happen by Nov 25, 2026 at .+ at the latest\.$/,
    );
    // The enrollment form never shows outside first-run setup (the `hidden` bug).
    expect(await page.isVisible("#setup")).toBe(false);
    // Accessible names and the snooze choices (labels from ICU plurals).
    const select = page.getByRole("combobox", { name: "Snooze for" });
    expect(await select.locator("option").allTextContents()).toEqual(["10 minutes", "1 hour", "4 hours"]);
    expect(await page.getByRole("timer").count()).toBe(1);
    // Keyboard: focus starts on the title (a stray Enter restarts nothing), then select → Snooze → Restart now.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("title");
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press("Tab");
      order.push((await page.evaluate(() => document.activeElement?.id)) ?? "");
      // The focused control never scrolls the title out of view.
      expect(await inView(page, "h1")).toBe(true);
    }
    expect(order).toEqual(["snooze-choice", "snooze-button", "primary"]);
    expect(await inView(page, "#primary")).toBe(true);
    await shot(page, "reboot-prompt-en");
    await select.selectOption("3600");
    await clickClosing(page.getByRole("button", { name: "Snooze", exact: true }));
    expect(await answer).toEqual({ kind: "snooze", seconds: 3600 });
    expect(problems).toEqual([]);
  });

  it("final stage: no snooze, cannot be closed, on top, only 'Restart now'", async () => {
    const { api, desktop } = desktopIn("en", { branding: true });
    const opened = api.nextWindow();
    const answer = desktop.rebootPrompt({
      ...prompt,
      stage: "final",
      seconds: 900,
      snoozeOptions: [],
      snoozesLeft: 0,
      insistence: "high",
    });
    const { page, opts } = await opened;
    await page.locator("#countdown").waitFor();
    expect(opts).toMatchObject({ closable: false, alwaysOnTop: true });
    expect(await page.textContent("h1")).toBe("Your computer is restarting");
    expect(await page.isVisible("#snooze")).toBe(false);
    expect(await page.isVisible("#secondary")).toBe(false);
    expect(await page.getByRole("button").allTextContents()).toEqual(["Restart now"]);
    expect(await page.textContent("#countdown")).toMatch(/^Restarting in 1[45]:\d\d$/);
    // Escape does nothing here.
    await page.keyboard.press("Escape");
    await shot(page, "final-stage-en");
    await clickClosing(page.getByRole("button", { name: "Restart now" }));
    expect(await answer).toEqual({ kind: "now" });
  });

  it("message with acknowledgement (critical): colour, icon and word for the urgency; only 'I have read this' ends it", async () => {
    const { api, desktop } = desktopIn("en", { branding: true });
    const opened = api.nextWindow();
    const text = `The VPN changes on Monday.\nInstall the new client from https://vpn.example/install before 9:00.\n<b>not bold</b>`;
    const answer = desktop.dialog({
      actionId: "a1",
      title: "VPN change",
      message: text,
      urgency: "critical",
      requireAcknowledgement: true,
    });
    const { page, opts } = await opened;
    await page.locator("#urgency").waitFor();
    expect(opts).toMatchObject({ closable: false, alwaysOnTop: true });
    expect(await page.textContent("#message")).toBe(text); // links and markup stay text
    expect(await page.locator("#message a, #message b").count()).toBe(0);
    expect(await page.textContent("#urgency")).toBe("Critical");
    expect(await page.textContent("#icon")).toBe("!!");
    expect(await page.isVisible("#setup")).toBe(false);
    const stripe = await page.evaluate(() => getComputedStyle(document.getElementById("window")!).borderTopColor);
    expect(stripe).toBe("rgb(179, 38, 30)");
    await page.keyboard.press("Escape"); // no way around the receipt
    await shot(page, "message-ack-critical-en");
    await clickClosing(page.getByRole("button", { name: "I have read this" }));
    expect(await answer).toEqual({ acknowledgedAt: "2026-11-25T14:05:00.000Z" });
  });

  it("a very long message keeps the title and the button in view (the body scrolls)", async () => {
    const { api, desktop } = desktopIn("en");
    const opened = api.nextWindow();
    const answer = desktop.dialog({
      actionId: "a2",
      title: "Maintenance tonight",
      message: Array.from({ length: 60 }, (_, i) => `Line ${i + 1}: servers restart between 22:00 and 23:00.`).join(
        "\n",
      ),
      urgency: "warning",
      requireAcknowledgement: false,
    });
    const { page, opts } = await opened;
    await page.locator("#urgency").waitFor();
    expect(opts).toMatchObject({ alwaysOnTop: false, closable: true });
    // Tab reaches the scrolling text (arrow keys scroll it), then the button; both keep the title in view.
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("body");
    await page.keyboard.press("End");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("primary");
    expect(await inView(page, "h1")).toBe(true);
    expect(await inView(page, "#primary")).toBe(true);
    expect(await page.textContent("#urgency")).toBe("Warning");
    await shot(page, "message-long-warning-en");
    // A plain message closes with Escape (the window may be gone before the key press returns).
    await page.keyboard.press("Escape").catch(() => undefined);
    expect(await answer).toEqual({ acknowledgedAt: null });
  });

  it("French: the prompt, the final stage and the receipt are translated (ICU plurals), nothing left in English", async () => {
    const { api, desktop } = desktopIn("fr", { branding: true });
    let opened = api.nextWindow();
    const snooze = desktop.rebootPrompt({ ...prompt, snoozesLeft: 1, insistence: "high" });
    let { page } = await opened;
    await page.locator("#countdown").waitFor();
    expect(await page.getAttribute("html", "lang")).toBe("fr");
    expect(await page.textContent("h1")).toBe("Votre ordinateur va redémarrer");
    expect(await page.textContent("#countdown")).toMatch(/^Redémarrage dans [45]:\d\d$/);
    expect(await page.textContent("#snoozes-left")).toBe("Vous pouvez encore reporter 1 fois.");
    expect(await page.textContent("#deadline")).toMatch(/^Le redémarrage aura lieu au plus tard le 25 nov\. 2026 à /);
    const select = page.getByRole("combobox", { name: "Reporter de" });
    expect(await select.locator("option").allTextContents()).toEqual(["10 minutes", "1 heure", "4 heures"]);
    expect(await page.getByRole("button").allTextContents()).toEqual(["Reporter", "Redémarrer maintenant"]);
    await shot(page, "reboot-prompt-fr");
    await clickClosing(page.getByRole("button", { name: "Reporter", exact: true }));
    expect(await snooze).toEqual({ kind: "snooze", seconds: 600 });

    opened = api.nextWindow();
    const final = desktop.rebootPrompt({ ...prompt, stage: "final", seconds: 600, snoozeOptions: [], snoozesLeft: 0 });
    ({ page } = await opened);
    await page.locator("#countdown").waitFor();
    expect(await page.textContent("h1")).toBe("Votre ordinateur redémarre");
    expect(await page.getByRole("button").allTextContents()).toEqual(["Redémarrer maintenant"]);
    await shot(page, "final-stage-fr");
    await clickClosing(page.getByRole("button", { name: "Redémarrer maintenant" }));
    expect(await final).toEqual({ kind: "now" });

    opened = api.nextWindow();
    const read = desktop.dialog({
      actionId: "a3",
      title: "Changement du VPN",
      message: "Le VPN change lundi.",
      urgency: "info",
      requireAcknowledgement: true,
    });
    ({ page } = await opened);
    await page.locator("#urgency").waitFor();
    expect(await page.textContent("#urgency")).toBe("Information");
    await shot(page, "message-ack-fr");
    await clickClosing(page.getByRole("button", { name: "J'ai lu ce message" }));
    expect(await read).toEqual({ acknowledgedAt: "2026-11-25T14:05:00.000Z" });
  });

  it("first-run setup (French): the form shows only here, labelled, and returns what the user typed", async () => {
    const { api, desktop } = desktopIn("fr");
    const opened = api.nextWindow();
    const answer = desktop.setup("", "--server: must be a URL");
    const { page, opts } = await opened;
    await page.locator("#setup").waitFor();
    expect(opts).toMatchObject({ ...SIZES.setup, alwaysOnTop: false });
    expect(await page.textContent("h1")).toBe("Connecter l'agent DashFleet");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("server");
    await page.getByLabel("Adresse du serveur").fill("https://fleet.example.com");
    await page.getByLabel("Clé d'inscription").fill("dfk_abcdefgh");
    await shot(page, "setup-fr");
    await clickClosing(page.getByRole("button", { name: "Connecter" }));
    expect(await answer).toEqual({ server: "https://fleet.example.com", token: "dfk_abcdefgh" });
  });

  it("HiDPI (200 %) and forced colours (high contrast): same layout, visible borders, buttons in view", async () => {
    const { api, desktop } = desktopIn("en", { scale: 2, branding: true, logo: true });
    const opened = api.nextWindow();
    const answer = desktop.rebootPrompt({ ...prompt, insistence: "high" });
    const { page } = await opened;
    await page.locator("#countdown").waitFor();
    // The organisation's logo (a PNG data: URL, allowed by the page's CSP) beside its name.
    expect(await page.isVisible("#logo")).toBe(true);
    // A data: URL still loads asynchronously: wait for the decoded image rather than read it once.
    await expect
      .poll(() => page.evaluate(() => (document.getElementById("logo") as HTMLImageElement).naturalWidth))
      .toBeGreaterThan(0);
    await shot(page, "reboot-prompt-hidpi-en");
    await page.emulateMedia({ forcedColors: "active" });
    const border = await page.evaluate(() => getComputedStyle(document.getElementById("primary")!).borderTopWidth);
    expect(border).toBe("2px");
    expect(await inView(page, "#primary")).toBe(true);
    expect(await inView(page, "h1")).toBe(true);
    await shot(page, "reboot-prompt-forced-colors-en");
    await clickClosing(page.getByRole("button", { name: "Restart now" }));
    expect(await answer).toEqual({ kind: "now" });
    // Every window the shell opens fits a 1366×768 screen with room to spare.
    for (const s of Object.values(SIZES)) expect(s.width <= 1366 / 2 && s.height <= 768 * 0.6).toBe(true);
  });
});

/** An agent core whose windows are Chromium pages (the desktop above), on `server`. */
function brandedAgent(server: string, token: string, branding: AgentConfigBranding = null) {
  const { api, desktop } = desktopIn("en");
  const agent = new Agent({
    config: agentConfig({
      dataDir: tempDataDir(),
      server,
      token,
      machineId: `branded-${Math.random().toString(36).slice(2, 8)}`,
      intervalSeconds: 1,
      pollIntervalSeconds: 1,
      backoffMaxSeconds: 1,
      branding,
    }),
    desktop,
    metrics: fixedMetrics,
    identity: fixedIdentity,
  });
  void agent.run();
  return { agent, api, desktop };
}
type AgentConfigBranding = Parameters<typeof agentConfig>[0]["branding"];

describe("end-user windows branded by the organisation", () => {
  it("a message window with the owner's logo and name from the server; markup in them is shown as text", async () => {
    const f = await startWithRoles("Window Brand Org", "window-brand.test", {
      env: { DASHFLEET_AGENT_PER_MINUTE: "100000" },
    });
    const hostileName = `Acme <b>IT</b> <img src=x onerror="window.__pwned=true">`;
    const hostileSupport = `Call 4242 or <a href="javascript:window.__pwned=true">open a ticket</a> & ask for <i>Bob</i>`;
    await f.owner.settings.update.mutate({
      branding: { brandName: hostileName, supportText: hostileSupport, logoBase64: LOGO.split(",")[1]! },
    });
    const { agent, api } = brandedAgent(f.server.url, f.org.agentKey);
    try {
      await waitFor(() => agent.branding()?.orgName === hostileName, "the server's branding");
      const machineId = agent.getState().machineId!;
      const opened = api.nextWindow();
      const { id } = await f.admin.actions.queue.mutate({
        machineId,
        type: "message",
        data: {
          title: "Maintenance tonight",
          message: "The file servers restart at 22:00. Save your work before you leave.",
          display: "dialog",
          requireAcknowledgement: true,
          urgency: "warning",
        },
      });
      const { page, problems } = await opened;
      await page.locator("#urgency").waitFor();
      expect(await page.textContent("#org")).toBe(hostileName);
      expect(await page.textContent("#support")).toBe(hostileSupport);
      expect(await page.locator("#brand b, #brand img:not(#logo), #support a, #support i").count()).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: boolean }).__pwned ?? false)).toBe(false);
      // The logo: an image from the validated bytes, drawn (the CSP allows data: images and nothing else).
      expect(await page.isVisible("#logo")).toBe(true);
      expect(await page.getAttribute("#logo", "src")).toBe(LOGO);
      await expect
        .poll(() => page.evaluate(() => (document.getElementById("logo") as HTMLImageElement).naturalWidth))
        .toBeGreaterThan(0);
      expect(await inView(page, "#primary")).toBe(true);
      await shot(page, "branded-message");
      await clickClosing(page.getByRole("button", { name: "I have read this" }));
      await waitFor(async () => (await f.admin.actions.get.query({ id })).status === "done", "the read receipt");
      expect(problems).toEqual([]);
    } finally {
      await agent.stop();
      await f.server.stop();
    }
  });

  it("bidi overrides in a name (an old cache or config file; the server refuses them) never reach the window", async () => {
    // Nothing listens on port 9: the agent stays offline and uses the config file's branding.
    const { agent, api, desktop } = brandedAgent("http://127.0.0.1:9", "dfk_test_enrollment_key", {
      orgName: "Acme\u202E <i>gnp.exe</i>\u2066 IT",
      supportText: "Help desk\u202B 4242\u0007",
    });
    try {
      await waitFor(() => agent.getState().connection === "offline", "offline");
      const opened = api.nextWindow();
      const answer = desktop.rebootPrompt(prompt);
      const { page } = await opened;
      await page.locator("#countdown").waitFor();
      expect(await page.textContent("#org")).toBe("Acme <i>gnp.exe</i> IT");
      expect(await page.textContent("#support")).toBe("Help desk 4242");
      // The name inside the sentence is plain too: nothing reverses the rest of it.
      const message = (await page.textContent("#message")) ?? "";
      expect(message).toBe(
        "Acme <i>gnp.exe</i> IT needs to restart this computer. Save your work, then restart now or snooze.",
      );
      expect(/[\u202A-\u202E\u2066-\u2069\p{Cc}]/u.test(message + (await page.textContent("#org")))).toBe(false);
      await shot(page, "branded-bidi-reboot-prompt");
      await clickClosing(page.getByRole("button", { name: "Restart now" }));
      expect(await answer).toEqual({ kind: "now" });
    } finally {
      await agent.stop();
    }
  });
});

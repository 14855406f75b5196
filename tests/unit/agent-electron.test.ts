// The Electron shell against a typed fake of the Electron APIs it uses: tray icon and menu derived
// from state, notifications whose click opens the full message, dialogs and the reboot countdown in
// an always-on-top window whose answers must come from that window, relaunch, and the window's
// security settings. The real Electron types are checked by tsc (tray-agent/src/electron/real.ts).
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { TrayState } from "../../tray-agent/src/core/desktop.ts";
import { createTranslator } from "../../tray-agent/src/core/i18n/index.ts";
import { silentLogger } from "../../tray-agent/src/core/log.ts";
import { ElectronDesktop } from "../../tray-agent/src/electron/desktop.ts";
import { IPC, parseAnswer } from "../../tray-agent/src/electron/ipc.ts";
import type {
  ElectronApi,
  MenuItem,
  NotificationLike,
  TrayLike,
  WindowLike,
  WindowOptions,
} from "../../tray-agent/src/electron/ports.ts";
import { isAllowedNavigation, secureWebPreferences } from "../../tray-agent/src/electron/security.ts";
import { statusLine, trayIcon, trayMenu, TrayService } from "../../tray-agent/src/electron/tray.ts";

class FakeTray implements TrayLike {
  image = "";
  tooltip = "";
  menu: MenuItem[] = [];
  destroyed = false;
  constructor(public initial: string) {}
  setImage(p: string) {
    this.image = p;
  }
  setToolTip(t: string) {
    this.tooltip = t;
  }
  setContextMenu(items: MenuItem[]) {
    this.menu = items;
  }
  onClick() {}
  destroy() {
    this.destroyed = true;
  }
}

class FakeWindow implements WindowLike {
  shown = false;
  closed = false;
  loaded = "";
  private closedListeners: (() => void)[] = [];
  constructor(
    readonly contentsId: number,
    readonly opts: WindowOptions,
  ) {}
  async load(f: string) {
    this.loaded = f;
  }
  show() {
    this.shown = true;
  }
  focus() {}
  close() {
    this.userClose();
  }
  isDestroyed() {
    return this.closed;
  }
  onClosed(l: () => void) {
    this.closedListeners.push(l);
  }
  /** The user closes the window with its close button. */
  userClose() {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closedListeners) l();
  }
}

class FakeNotification implements NotificationLike {
  shown = false;
  private click: (() => void) | null = null;
  constructor(readonly o: { title: string; body: string }) {}
  show() {
    this.shown = true;
  }
  onClick(l: () => void) {
    this.click = l;
  }
  userClick() {
    this.click?.();
  }
}

class FakeElectron implements ElectronApi {
  trays: FakeTray[] = [];
  windows: FakeWindow[] = [];
  notifications: FakeNotification[] = [];
  events: string[] = [];
  supported = true;
  private handlers = new Map<string, (id: number) => unknown>();
  private listeners = new Map<string, (id: number, p: unknown) => void>();
  private nextId = 100;
  createTray(p: string) {
    const t = new FakeTray(p);
    this.trays.push(t);
    return t;
  }
  createWindow(o: WindowOptions) {
    const w = new FakeWindow(this.nextId++, o);
    this.windows.push(w);
    return w;
  }
  notificationsSupported() {
    return this.supported;
  }
  createNotification(o: { title: string; body: string }) {
    const n = new FakeNotification(o);
    this.notifications.push(n);
    return n;
  }
  handle(c: string, fn: (id: number) => unknown) {
    this.handlers.set(c, fn);
  }
  on(c: string, fn: (id: number, p: unknown) => void) {
    this.listeners.set(c, fn);
  }
  async openPath(p: string) {
    this.events.push(`open ${p}`);
    return "";
  }
  relaunch() {
    this.events.push("relaunch");
  }
  exit(code: number) {
    this.events.push(`exit ${code}`);
  }
  quit() {
    this.events.push("quit");
  }
  setOpenAtLogin(on: boolean) {
    this.events.push(`login ${on}`);
  }
  /** What the renderer of a window gets from init. */
  init(w: FakeWindow) {
    return this.handlers.get(IPC.init)!(w.contentsId);
  }
  /** A renderer sends an answer. */
  answer(senderId: number, payload: unknown) {
    this.listeners.get(IPC.answer)!(senderId, payload);
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

function manualTimers() {
  const pending: { fn: () => void; ms: number; cleared: boolean }[] = [];
  return {
    pending,
    timers: {
      setTimeout: (fn: () => void, ms: number) => {
        const t = { fn, ms, cleared: false };
        pending.push(t);
        return t;
      },
      clearTimeout: (t: unknown) => void ((t as { cleared: boolean }).cleared = true),
    },
    fire: () => pending.filter((t) => !t.cleared).forEach((t) => ((t.cleared = true), t.fn())),
  };
}

const base: TrayState = {
  connection: "connected",
  actionWaiting: false,
  lastSync: null,
  paused: false,
  recentMessages: [],
  machineId: "pc-1",
};
const icons = { connected: "green.png", offline: "grey.png", waiting: "orange.png" };

describe("tray", () => {
  it("icon: connected, offline, action waiting (waiting wins)", () => {
    expect(trayIcon(base, icons)).toBe("green.png");
    expect(trayIcon({ ...base, connection: "offline" }, icons)).toBe("grey.png");
    expect(trayIcon({ ...base, connection: "offline", actionWaiting: true }, icons)).toBe("orange.png");
  });

  it("menu: status line with last sync, recent messages, pause, log, quit — each wired to its handler", () => {
    const calls: string[] = [];
    const h = {
      openMessage: (id: string) => calls.push(`open ${id}`),
      setPaused: (p: boolean) => calls.push(`pause ${p}`),
      checkNow: () => calls.push("check"),
      restartNow: () => calls.push("restart"),
      openLog: () => calls.push("log"),
      quit: () => calls.push("quit"),
    };
    const now = new Date("2026-01-01T10:00:05Z");
    const s = {
      ...base,
      lastSync: "2026-01-01T10:00:00Z",
      recentMessages: [{ actionId: "a1", title: "IT", message: "Patch tonight\nplease", at: "" }],
    };
    const menu = trayMenu(s, h, now);
    expect(menu[0]).toEqual({ label: "Connected · last sync 5 seconds ago", enabled: false });
    const recent = menu.find((i) => i.label === "Recent messages")!;
    expect(recent.submenu!.map((i) => i.label)).toEqual(["IT: Patch tonight please"]);
    recent.submenu![0]!.click!();
    menu.find((i) => i.label === "Pause reporting")!.click!();
    menu.find((i) => i.label === "Open the log")!.click!();
    menu.find((i) => i.label?.startsWith("Quit"))!.click!();
    expect(calls).toEqual(["open a1", "pause true", "log", "quit"]);
    expect(trayMenu(base, h).find((i) => i.label === "Recent messages")!.submenu).toEqual([
      { label: "No messages", enabled: false },
    ]);
    expect(statusLine({ ...base, connection: "offline" })).toBe("Offline · never synced");
    // No "Restart now" unless a reboot waits for the user; then it is first and wired.
    expect(menu.some((i) => i.label?.startsWith("Restart now"))).toBe(false);
    const waiting = trayMenu({ ...s, pendingRestart: { deadlineAt: null } }, h, now);
    expect(waiting[2]).toEqual({ type: "separator" });
    expect(waiting[3]!.label).toBe("Restart now (a restart is required)");
    waiting[3]!.click!();
    expect(calls.at(-1)).toBe("restart");
    const byDeadline = trayMenu({ ...s, pendingRestart: { deadlineAt: "2026-01-01T18:00:00Z" } }, h, now);
    expect(byDeadline[3]!.label).toMatch(/^Restart now \(required by Jan 1, 2026 .+\)$/);
  });

  it("one tray, kept in step with the state", () => {
    const api = new FakeElectron();
    const tray = new TrayService(api, icons, {
      openMessage() {},
      setPaused() {},
      checkNow() {},
      restartNow() {},
      openLog() {},
      quit() {},
    });
    tray.update({ ...base, connection: "offline" });
    tray.update({ ...base, actionWaiting: true });
    expect(api.trays).toHaveLength(1);
    expect(api.trays[0]!.image).toBe("orange.png");
    expect(api.trays[0]!.tooltip).toContain("Action waiting");
  });
});

const msg = { urgency: "info" as const, requireAcknowledgement: false };

describe("Electron desktop", () => {
  const make = (timers = manualTimers().timers) => {
    const api = new FakeElectron();
    const d = new ElectronDesktop(api, {
      html: "/app/window.html",
      log: silentLogger,
      timers,
      t: createTranslator("en"),
      now: () => new Date("2026-11-25T12:00:00.000Z"),
    });
    return { api, d };
  };

  it("a notification shows title and text; a click opens the full message in a small window (not on top)", async () => {
    const { api, d } = make();
    const long = `Line 1 <script>alert(1)</script>\n${"x".repeat(400)}`;
    await d.notify({ ...msg, actionId: "a1", title: "IT", message: long });
    const n = api.notifications[0]!;
    expect(n.shown).toBe(true);
    expect(n.o.title).toBe("IT");
    expect(n.o.body.length).toBeLessThanOrEqual(240);
    n.userClick();
    await tick();
    const w = api.windows[0]!;
    expect(w.opts).toMatchObject({ alwaysOnTop: false, closable: true });
    expect(w.loaded).toBe("/app/window.html");
    expect(w.shown).toBe(true);
    expect(api.init(w)).toMatchObject({ kind: "message", title: "IT", message: long, lang: "en", urgency: "info" });
  });

  it("a dialog resolves only on OK from its own window; other senders and bad answers are ignored", async () => {
    const { api, d } = make();
    let done = false;
    const p = d.dialog({ ...msg, actionId: "a1", title: "T", message: "M" }).then(() => (done = true));
    await tick();
    const w = api.windows[0]!;
    api.answer(9999, "ok"); // not our window
    api.answer(w.contentsId, "yes"); // not an answer a message window gives
    api.answer(w.contentsId, { html: "<b>" });
    await tick();
    expect(done).toBe(false);
    expect(api.init({ contentsId: 9999 } as FakeWindow)).toBeNull();
    api.answer(w.contentsId, "ok");
    await p;
    expect(w.closed).toBe(true);
  });

  it("confirm: yes → true; closing the window → false", async () => {
    const { api, d } = make();
    const yes = d.confirm({ title: "Restart", message: "?", yes: "Restart", no: "Not now" });
    await tick();
    api.answer(api.windows[0]!.contentsId, "yes");
    expect(await yes).toBe(true);
    const closed = d.confirm({ title: "Restart", message: "?", yes: "Restart", no: "Not now" });
    await tick();
    api.windows[1]!.userClose();
    expect(await closed).toBe(false);
  });

  it("a message with acknowledgement: cannot be closed, only 'I have read this' ends it, with the time", async () => {
    const { api, d } = make();
    const p = d.dialog({
      actionId: "a2",
      title: "Policy",
      message: "Read me",
      urgency: "critical",
      requireAcknowledgement: true,
    });
    await tick();
    const w = api.windows[0]!;
    // A critical message is the one message kind kept on top.
    expect(w.opts).toMatchObject({ closable: false, alwaysOnTop: true });
    expect(api.init(w)).toMatchObject({
      urgency: "critical",
      text: { button: "I have read this", urgency: "Critical" },
    });
    api.answer(w.contentsId, "ok"); // a plain OK is not an acknowledgement
    await tick();
    api.answer(w.contentsId, "acknowledged");
    expect(await p).toEqual({ acknowledgedAt: "2026-11-25T12:00:00.000Z" });
  });

  it("reboot prompt: cannot be closed, offers the policy's snoozes, the main-process timer ends it", async () => {
    const t = manualTimers();
    const { api, d } = make(t.timers);
    const prompt = {
      stage: "prompt" as const,
      seconds: 60,
      snoozeOptions: [600, 3600],
      snoozesLeft: 2,
      maxSnoozes: 3,
      deadlineAt: null,
      insistence: "normal" as const,
    };
    const first = d.rebootPrompt(prompt);
    await tick();
    const w = api.windows[0]!;
    expect(w.opts).toMatchObject({ alwaysOnTop: false, closable: false });
    expect(api.init(w)).toMatchObject({
      kind: "reboot",
      stage: "prompt",
      seconds: 60,
      snoozeOptions: [
        { seconds: 600, label: "10 minutes" },
        { seconds: 3600, label: "1 hour" },
      ],
      text: {
        restartNow: "Restart now",
        snoozesLeft: "You can snooze 2 more times.",
        countdown: "Restarting in {time}",
      },
    });
    expect(t.pending[0]!.ms).toBe(60_000);
    api.answer(w.contentsId, { snooze: 86_400 }); // not offered: ignored
    await tick();
    t.fire();
    expect(await first).toEqual({ kind: "elapsed" });
    expect(w.closed).toBe(true);

    const second = d.rebootPrompt(prompt);
    await tick();
    api.answer(api.windows[1]!.contentsId, { snooze: 3600 });
    expect(await second).toEqual({ kind: "snooze", seconds: 3600 });

    const final = d.rebootPrompt({ ...prompt, stage: "final", snoozeOptions: [], snoozesLeft: 0, insistence: "high" });
    await tick();
    const fw = api.windows[2]!;
    expect(fw.opts).toMatchObject({ alwaysOnTop: true, closable: false });
    expect(api.init(fw)).toMatchObject({
      stage: "final",
      snoozeOptions: [],
      text: { title: "Your computer is restarting" },
    });
    api.answer(fw.contentsId, { snooze: 600 }); // no snooze in the final stage
    await tick();
    api.answer(fw.contentsId, "now");
    expect(await final).toEqual({ kind: "now" });
  });

  it("relaunch asks Electron to relaunch, then exits", async () => {
    const { api, d } = make();
    await d.relaunch();
    expect(api.events).toEqual(["relaunch", "exit 0"]);
  });

  it("first-run setup returns the server and key the user typed", async () => {
    const { api, d } = make();
    const p = d.setup("", null);
    await tick();
    api.answer(api.windows[0]!.contentsId, { setup: { server: "https://fleet.example", token: "dfk_x" } });
    expect(await p).toEqual({ server: "https://fleet.example", token: "dfk_x" });
  });

  it("answers are parsed strictly", () => {
    expect(parseAnswer("ok")).toBe("ok");
    expect(parseAnswer("rm -rf")).toBeNull();
    expect(parseAnswer({ setup: { server: "a", token: "b", extra: 1 } })).toBeNull();
    expect(parseAnswer({ setup: { server: 1, token: "b" } })).toBeNull();
    expect(parseAnswer({ snooze: 600 })).toEqual({ snooze: 600 });
    expect(parseAnswer({ snooze: "600" })).toBeNull();
    expect(parseAnswer({ snooze: 1.5 })).toBeNull();
    expect(parseAnswer({ snooze: 600, now: true })).toBeNull();
  });

  it("the tray menu in French", () => {
    const fr = createTranslator("fr");
    const s: TrayState = {
      connection: "offline",
      actionWaiting: false,
      lastSync: "2026-11-25T11:57:00.000Z",
      paused: false,
      recentMessages: [],
      machineId: "pc-1",
    };
    const noop = () => {};
    const h = { openMessage: noop, setPaused: noop, checkNow: noop, restartNow: noop, openLog: noop, quit: noop };
    const labels = trayMenu(s, h, new Date("2026-11-25T12:00:00.000Z"), fr).map((i) => i.label);
    expect(labels).toContain("Hors ligne · dernière synchronisation il y a 3 minutes");
    expect(labels).toContain("Machine : pc-1");
    expect(labels).toContain("Quitter l'agent DashFleet");
    expect(statusLine({ ...s, lastSync: null }, new Date(), fr)).toBe("Hors ligne · jamais synchronisé");
  });
});

describe("window security", () => {
  it("context isolation, sandbox, no Node integration, the preload only", () => {
    expect(secureWebPreferences("/app/preload.cjs")).toMatchObject({
      preload: "/app/preload.cjs",
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
    });
    expect(isAllowedNavigation("file:///app/window.html", "file:///app/window.html")).toBe(true);
    expect(isAllowedNavigation("https://evil.example/", "file:///app/window.html")).toBe(false);
  });

  it("the window page has a strict CSP and no inline script; its script sets text only", () => {
    const dir = path.resolve(import.meta.dirname, "../../tray-agent/src/electron/renderer");
    const html = fs.readFileSync(path.join(dir, "window.html"), "utf8");
    expect(html.replace(/\s+/g, " ")).toMatch(
      /http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self'/,
    );
    expect(html).not.toMatch(/<script>[^<]/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    const js = fs.readFileSync(path.join(dir, "window.js"), "utf8");
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    expect(js).toContain("textContent");
  });
});

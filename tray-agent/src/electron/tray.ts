// The tray: icon, tooltip and menu derived from the agent's state (pure functions), applied through
// the injected tray factory. States: connected, offline, action waiting (and connecting at start).
import type { TrayState } from "../core/desktop.ts";
import { createTranslator, type Translator } from "../core/i18n/index.ts";
import type { ElectronApi, MenuItem, TrayLike } from "./ports.ts";

export type TrayIcons = { connected: string; offline: string; waiting: string };
export type TrayHandlers = {
  openMessage(actionId: string): void;
  setPaused(paused: boolean): void;
  checkNow(): void;
  /** "Restart now" while a reboot waits for the user. */
  restartNow(): void;
  openLog(): void;
  quit(): void;
};

/** Which icon a state shows: a waiting action wins, then the connection. */
export function trayIcon(s: TrayState, icons: TrayIcons): string {
  if (s.actionWaiting) return icons.waiting;
  return s.connection === "connected" ? icons.connected : icons.offline;
}

const english = createTranslator("en");

/** The status line: connection and last sync. */
export function statusLine(s: TrayState, now: Date = new Date(), t: Translator = english): string {
  const state = s.actionWaiting
    ? t("tray.waiting")
    : s.connection === "connected"
      ? t("tray.connected")
      : s.connection === "offline"
        ? t("tray.offline")
        : t("tray.connecting");
  if (!s.lastSync) return t("tray.neverSynced", { state });
  const secs = Math.max(0, Math.round((now.getTime() - Date.parse(s.lastSync)) / 1000));
  return t("tray.lastSync", { state, ago: t.ago(secs) });
}

const short = (t: string, n: number) => (t.length > n ? `${t.slice(0, n - 1)}…` : t).replace(/\s+/g, " ");

/** The tray menu for a state. */
export function trayMenu(s: TrayState, h: TrayHandlers, now: Date = new Date(), t: Translator = english): MenuItem[] {
  const recent: MenuItem[] =
    s.recentMessages.length === 0
      ? [{ label: t("tray.noMessages"), enabled: false }]
      : s.recentMessages.map((m) => ({
          label: short(`${m.title}: ${m.message}`, 60),
          click: () => h.openMessage(m.actionId),
        }));
  const restart: MenuItem[] = s.pendingRestart
    ? [
        {
          label: s.pendingRestart.deadlineAt
            ? t("tray.restartBy", { deadline: new Date(s.pendingRestart.deadlineAt) })
            : t("tray.restartNow"),
          click: () => h.restartNow(),
        },
        { type: "separator" },
      ]
    : [];
  return [
    { label: statusLine(s, now, t), enabled: false },
    ...(s.machineId ? [{ label: t("tray.machine", { id: s.machineId }), enabled: false }] : []),
    { type: "separator" },
    ...restart,
    { label: t("tray.recent"), type: "submenu", submenu: recent },
    { label: t("tray.pause"), type: "checkbox", checked: s.paused, click: () => h.setPaused(!s.paused) },
    { label: t("tray.checkNow"), click: () => h.checkNow() },
    { label: t("tray.openLog"), click: () => h.openLog() },
    { type: "separator" },
    { label: t("tray.quit"), click: () => h.quit() },
  ];
}

/** Keeps one tray in step with the state. */
export class TrayService {
  private tray: TrayLike | null = null;
  private last: TrayState | null = null;

  constructor(
    private readonly api: ElectronApi,
    private readonly icons: TrayIcons,
    private readonly handlers: TrayHandlers,
    private readonly t: Translator = english,
  ) {}

  update(s: TrayState): void {
    this.last = s;
    if (!this.tray) {
      this.tray = this.api.createTray(trayIcon(s, this.icons));
      // Clicking the icon refreshes the status line (the menu also opens on right click).
      this.tray.onClick(() => this.last && this.update(this.last));
    }
    this.tray.setImage(trayIcon(s, this.icons));
    this.tray.setToolTip(this.t("tray.tooltip", { status: statusLine(s, new Date(), this.t) }));
    this.tray.setContextMenu(trayMenu(s, this.handlers, new Date(), this.t));
  }

  destroy(): void {
    this.tray?.destroy();
    this.tray = null;
  }
}

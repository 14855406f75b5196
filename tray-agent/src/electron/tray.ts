// The tray: icon, tooltip and menu derived from the agent's state (pure functions), applied through
// the injected tray factory. States: connected, offline, action waiting (and connecting at start).
import type { TrayState } from "../core/desktop.ts";
import type { ElectronApi, MenuItem, TrayLike } from "./ports.ts";

export type TrayIcons = { connected: string; offline: string; waiting: string };
export type TrayHandlers = {
  openMessage(actionId: string): void;
  setPaused(paused: boolean): void;
  checkNow(): void;
  openLog(): void;
  quit(): void;
};

/** Which icon a state shows: a waiting action wins, then the connection. */
export function trayIcon(s: TrayState, icons: TrayIcons): string {
  if (s.actionWaiting) return icons.waiting;
  return s.connection === "connected" ? icons.connected : icons.offline;
}

/** The status line: connection and last sync. */
export function statusLine(s: TrayState, now: Date = new Date()): string {
  const state = s.actionWaiting
    ? "Action waiting"
    : s.connection === "connected"
      ? "Connected"
      : s.connection === "offline"
        ? "Offline"
        : "Connecting…";
  if (!s.lastSync) return `${state} · never synced`;
  const secs = Math.max(0, Math.round((now.getTime() - Date.parse(s.lastSync)) / 1000));
  const ago =
    secs < 60
      ? `${secs} s ago`
      : secs < 3600
        ? `${Math.round(secs / 60)} min ago`
        : new Date(s.lastSync).toLocaleString();
  return `${state} · last sync ${ago}`;
}

const short = (t: string, n: number) => (t.length > n ? `${t.slice(0, n - 1)}…` : t).replace(/\s+/g, " ");

/** The tray menu for a state. */
export function trayMenu(s: TrayState, h: TrayHandlers, now: Date = new Date()): MenuItem[] {
  const recent: MenuItem[] =
    s.recentMessages.length === 0
      ? [{ label: "No messages", enabled: false }]
      : s.recentMessages.map((m) => ({
          label: short(`${m.title}: ${m.message}`, 60),
          click: () => h.openMessage(m.actionId),
        }));
  return [
    { label: statusLine(s, now), enabled: false },
    ...(s.machineId ? [{ label: `Machine: ${s.machineId}`, enabled: false }] : []),
    { type: "separator" },
    { label: "Recent messages", type: "submenu", submenu: recent },
    { label: "Pause reporting", type: "checkbox", checked: s.paused, click: () => h.setPaused(!s.paused) },
    { label: "Check now", click: () => h.checkNow() },
    { label: "Open the log", click: () => h.openLog() },
    { type: "separator" },
    { label: "Quit DashFleet Agent", click: () => h.quit() },
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
  ) {}

  update(s: TrayState): void {
    this.last = s;
    if (!this.tray) {
      this.tray = this.api.createTray(trayIcon(s, this.icons));
      // Clicking the icon refreshes the status line (the menu also opens on right click).
      this.tray.onClick(() => this.last && this.update(this.last));
    }
    this.tray.setImage(trayIcon(s, this.icons));
    this.tray.setToolTip(`DashFleet Agent — ${statusLine(s)}`);
    this.tray.setContextMenu(trayMenu(s, this.handlers));
  }

  destroy(): void {
    this.tray?.destroy();
    this.tray = null;
  }
}

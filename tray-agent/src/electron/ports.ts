// The Electron APIs the shell uses, as small typed interfaces. `real.ts` builds them from `electron`;
// tests pass a fake. Nothing else in the shell touches Electron directly.

/** A menu item (a subset of Electron's MenuItemConstructorOptions). */
export type MenuItem = {
  label?: string;
  type?: "normal" | "separator" | "checkbox" | "submenu";
  enabled?: boolean;
  checked?: boolean;
  click?: () => void;
  submenu?: MenuItem[];
};

export interface TrayLike {
  setImage(iconPath: string): void;
  setToolTip(text: string): void;
  setContextMenu(items: MenuItem[]): void;
  onClick(listener: () => void): void;
  destroy(): void;
}

export type WindowOptions = { width: number; height: number; title: string; alwaysOnTop: boolean; closable: boolean };

export interface WindowLike {
  /** The id of the window's web contents: IPC answers are matched against it. */
  readonly contentsId: number;
  load(htmlFile: string): Promise<void>;
  show(): void;
  focus(): void;
  close(): void;
  isDestroyed(): boolean;
  onClosed(listener: () => void): void;
}

export interface NotificationLike {
  show(): void;
  onClick(listener: () => void): void;
}

/** Everything the shell needs from Electron. */
export interface ElectronApi {
  createTray(iconPath: string): TrayLike;
  createWindow(opts: WindowOptions): WindowLike;
  notificationsSupported(): boolean;
  createNotification(o: { title: string; body: string }): NotificationLike;
  /** ipcMain.handle, with the sender's web contents id. */
  handle(channel: string, fn: (senderId: number) => unknown): void;
  /** ipcMain.on, with the sender's web contents id. */
  on(channel: string, fn: (senderId: number, payload: unknown) => void): void;
  openPath(p: string): Promise<string>;
  relaunch(): void;
  exit(code: number): void;
  quit(): void;
  setOpenAtLogin(on: boolean): void;
}

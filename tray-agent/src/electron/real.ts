// The real ElectronApi, built from `electron` imports. The only file of the main process that imports
// electron (main.ts imports `app` for start-up only).
import { pathToFileURL } from "node:url";
import {
  app,
  BrowserWindow,
  ipcMain,
  Menu,
  Notification,
  shell,
  Tray,
  type MenuItemConstructorOptions,
} from "electron";
import type { ElectronApi, MenuItem } from "./ports.ts";
import { isAllowedNavigation, secureWebPreferences } from "./security.ts";

function toTemplate(items: MenuItem[]): MenuItemConstructorOptions[] {
  return items.map((i) => ({
    ...(i.label !== undefined ? { label: i.label } : {}),
    ...(i.type ? { type: i.type } : {}),
    ...(i.enabled !== undefined ? { enabled: i.enabled } : {}),
    ...(i.checked !== undefined ? { checked: i.checked } : {}),
    ...(i.click ? { click: i.click } : {}),
    ...(i.submenu ? { submenu: toTemplate(i.submenu) } : {}),
  }));
}

/** Builds the ElectronApi. `preload` is the bundled preload script's path. */
export function realElectron(preload: string): ElectronApi {
  return {
    createTray(iconPath) {
      const tray = new Tray(iconPath);
      return {
        setImage: (p) => tray.setImage(p),
        setToolTip: (t) => tray.setToolTip(t),
        setContextMenu: (items) => tray.setContextMenu(Menu.buildFromTemplate(toTemplate(items))),
        onClick: (l) => void tray.on("click", l),
        destroy: () => tray.destroy(),
      };
    },
    createWindow(o) {
      const win = new BrowserWindow({
        width: o.width,
        height: o.height,
        title: o.title,
        show: false,
        alwaysOnTop: o.alwaysOnTop,
        closable: o.closable,
        resizable: false,
        minimizable: false,
        maximizable: false,
        fullscreenable: false,
        skipTaskbar: false,
        autoHideMenuBar: true,
        webPreferences: secureWebPreferences(preload),
      });
      // Above full-screen apps too: an admin's reboot countdown must be seen.
      if (o.alwaysOnTop) win.setAlwaysOnTop(true, "screen-saver");
      const contents = win.webContents;
      let pageUrl = "";
      contents.setWindowOpenHandler(() => ({ action: "deny" }));
      contents.on("will-navigate", (e, url) => {
        if (!isAllowedNavigation(url, pageUrl)) e.preventDefault();
      });
      return {
        contentsId: contents.id,
        load: async (file) => {
          pageUrl = pathToFileURL(file).href;
          await win.loadFile(file);
        },
        show: () => win.show(),
        focus: () => win.focus(),
        close: () => win.destroy(),
        isDestroyed: () => win.isDestroyed(),
        onClosed: (l) => void win.on("closed", l),
      };
    },
    notificationsSupported: () => Notification.isSupported(),
    createNotification(o) {
      const n = new Notification({ title: o.title, body: o.body });
      return { show: () => n.show(), onClick: (l) => void n.on("click", l) };
    },
    handle: (channel, fn) => ipcMain.handle(channel, (event) => fn(event.sender.id)),
    on: (channel, fn) => void ipcMain.on(channel, (event, payload: unknown) => fn(event.sender.id, payload)),
    openPath: (p) => shell.openPath(p),
    relaunch: () => app.relaunch(),
    exit: (code) => app.exit(code),
    quit: () => app.quit(),
    setOpenAtLogin: (on) => app.setLoginItemSettings({ openAtLogin: on }),
  };
}

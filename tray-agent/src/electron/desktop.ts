// The desktop port for Electron: notifications, the small always-on-top window for dialogs,
// confirmations and the reboot countdown, relaunch and reboot, and the tray. The main process owns
// the countdown's timer; a window only displays it and sends answers, which are validated and must
// come from the window that was opened for that question.
import type { CountdownAnswer, CountdownQuestion, Desktop, TrayState } from "../core/desktop.ts";
import type { Logger } from "../core/log.ts";
import { execArgv, rebootMachine, type Exec } from "../core/platform.ts";
import { IPC, parseAnswer, type WindowAnswer, type WindowRequest } from "./ipc.ts";
import type { ElectronApi, WindowLike } from "./ports.ts";
import type { TrayService } from "./tray.ts";

type Timers = { setTimeout: (fn: () => void, ms: number) => unknown; clearTimeout: (t: unknown) => void };

type Open = { win: WindowLike; request: WindowRequest; answer: (a: WindowAnswer | "closed") => void };

const SIZES: Record<WindowRequest["kind"], { width: number; height: number }> = {
  message: { width: 460, height: 320 },
  confirm: { width: 440, height: 240 },
  countdown: { width: 440, height: 260 },
  setup: { width: 480, height: 340 },
};

/** Desktop for the tray app. */
export class ElectronDesktop implements Desktop {
  readonly interactive = true;
  private readonly open = new Map<number, Open>();
  private readonly messages = new Map<string, { title: string; message: string }>();
  private tray: TrayService | null = null;
  private readonly timers: Timers;

  constructor(
    private readonly api: ElectronApi,
    private readonly opts: { html: string; log: Logger; exec?: Exec; timers?: Timers },
  ) {
    this.timers = opts.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
    };
    api.handle(IPC.init, (senderId) => this.open.get(senderId)?.request ?? null);
    api.on(IPC.answer, (senderId, payload) => this.onAnswer(senderId, payload));
  }

  attachTray(tray: TrayService): void {
    this.tray = tray;
  }

  async notify(m: { actionId: string; title: string; message: string }): Promise<void> {
    this.messages.set(m.actionId, { title: m.title, message: m.message });
    if (!this.api.notificationsSupported()) {
      // No notification service (some Linux desktops): show the message window instead, without waiting.
      void this.ask({ kind: "message", title: m.title, message: m.message });
      return;
    }
    const n = this.api.createNotification({
      title: m.title,
      body: m.message.length > 240 ? `${m.message.slice(0, 239)}…` : m.message,
    });
    n.onClick(() => this.showMessage(m.actionId));
    n.show();
  }

  async dialog(m: { actionId: string; title: string; message: string }): Promise<void> {
    this.messages.set(m.actionId, { title: m.title, message: m.message });
    await this.ask({ kind: "message", title: m.title, message: m.message });
  }

  /** Opens the full text of a message (notification click, tray menu). */
  showMessage(actionId: string): void {
    const m = this.messages.get(actionId);
    if (m) void this.ask({ kind: "message", title: m.title, message: m.message });
  }

  async confirm(q: { title: string; message: string; yes: string; no: string }): Promise<boolean> {
    return (await this.ask({ kind: "confirm", ...q })) === "yes";
  }

  async confirmWithCountdown(q: CountdownQuestion): Promise<CountdownAnswer> {
    let timer: unknown = null;
    let settle!: (a: CountdownAnswer) => void;
    const elapsed = new Promise<CountdownAnswer>((resolve) => {
      settle = resolve;
      timer = this.timers.setTimeout(() => resolve("elapsed"), q.seconds * 1000);
    });
    const request: WindowRequest = { kind: "countdown", ...q };
    const answered = this.ask(request, { closable: false }).then((a): CountdownAnswer | null => {
      if (a === "now") return "now";
      if (a === "postpone" && q.postponesLeft > 0) return "postpone";
      return null; // closed somehow: the countdown still runs
    });
    void answered.then((a) => a && settle(a));
    const result = await elapsed;
    this.timers.clearTimeout(timer);
    this.closeWhere((o) => o.request === request);
    return result;
  }

  /** First run: asks for the server URL and enrollment key. Null if the window was closed. */
  async setup(server: string, error: string | null): Promise<{ server: string; token: string } | null> {
    const a = await this.ask({ kind: "setup", server, error });
    return typeof a === "object" ? a.setup : null;
  }

  async relaunch(): Promise<void> {
    this.api.relaunch();
    this.api.exit(0);
  }

  async reboot(): Promise<void> {
    const argv = await rebootMachine(this.opts.exec ?? execArgv);
    this.opts.log.warn(`reboot started: ${argv.join(" ")}`);
  }

  setTrayState(s: TrayState): void {
    this.tray?.update(s);
  }

  /** Opens a window for a request; resolves with the (validated) answer, or "closed". */
  private ask(request: WindowRequest, o: { closable?: boolean } = {}): Promise<WindowAnswer | "closed"> {
    return new Promise((resolve) => {
      const win = this.api.createWindow({
        ...SIZES[request.kind],
        title: request.kind === "setup" ? "DashFleet Agent setup" : request.title,
        alwaysOnTop: true,
        closable: o.closable ?? true,
      });
      let done = false;
      const answer = (a: WindowAnswer | "closed") => {
        if (done) return;
        done = true;
        this.open.delete(win.contentsId);
        if (a !== "closed" && !win.isDestroyed()) win.close();
        resolve(a);
      };
      this.open.set(win.contentsId, { win, request, answer });
      win.onClosed(() => answer("closed"));
      win.load(this.opts.html).then(
        () => {
          win.show();
          win.focus();
        },
        (err: unknown) => {
          this.opts.log.error(`window failed to load: ${String(err)}`);
          answer("closed");
        },
      );
    });
  }

  private onAnswer(senderId: number, payload: unknown): void {
    const o = this.open.get(senderId);
    if (!o) {
      this.opts.log.warn("ignored an answer from a window that was not asked anything");
      return;
    }
    const parsed = parseAnswer(payload);
    if (!parsed || !fits(o.request, parsed)) {
      this.opts.log.warn("ignored an invalid answer from a window");
      return;
    }
    o.answer(parsed);
  }

  private closeWhere(pred: (o: Open) => boolean): void {
    for (const o of [...this.open.values()]) {
      if (!pred(o)) continue;
      o.answer("closed");
      if (!o.win.isDestroyed()) o.win.close();
    }
  }
}

/** Whether an answer is one the request's window may give. */
function fits(r: WindowRequest, a: WindowAnswer): boolean {
  switch (r.kind) {
    case "message":
      return a === "ok";
    case "confirm":
      return a === "yes" || a === "no";
    case "countdown":
      return a === "now" || (a === "postpone" && r.postponesLeft > 0);
    case "setup":
      return typeof a === "object";
  }
}

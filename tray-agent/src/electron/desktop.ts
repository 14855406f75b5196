// The desktop port for Electron: notifications, the small windows (message, yes/no question, reboot
// prompt and final stage, first-run setup), relaunch and reboot, and the tray. The main process owns
// the countdown's timer and every text (translated here, shown as text by the page); a window only
// displays and sends answers, which are validated and must come from the window opened for that question.
// Always on top only where it matters: the final stage, an insistent prompt, a critical message.
import type { Desktop, MessageShow, RebootPromptAnswer, RebootPromptRequest, TrayState } from "../core/desktop.ts";
import type { Translator } from "../core/i18n/index.ts";
import type { Logger } from "../core/log.ts";
import { execArgv, rebootMachine, type Exec } from "../core/platform.ts";
import { IPC, parseAnswer, type WindowAnswer, type WindowBranding, type WindowRequest } from "./ipc.ts";
import type { ElectronApi, WindowLike } from "./ports.ts";
import type { TrayService } from "./tray.ts";

type Timers = { setTimeout: (fn: () => void, ms: number) => unknown; clearTimeout: (t: unknown) => void };

type Open = { win: WindowLike; request: WindowRequest; answer: (a: WindowAnswer | "closed") => void };

/** Window sizes (DIP): room for the longest French text at 100–200 % scaling on a 1366×768 screen. */
export const SIZES: Record<WindowRequest["kind"], { width: number; height: number }> = {
  message: { width: 480, height: 360 },
  confirm: { width: 460, height: 260 },
  reboot: { width: 500, height: 420 },
  setup: { width: 500, height: 400 },
};

/** Builds the request of a reboot prompt or final stage: every text translated. */
export function rebootRequest(
  r: RebootPromptRequest,
  t: Translator,
  branding: WindowBranding | null,
): Extract<WindowRequest, { kind: "reboot" }> {
  const org = branding?.orgName ?? t("org.default");
  const final = r.stage === "final";
  return {
    kind: "reboot",
    lang: t.lang,
    branding,
    stage: r.stage,
    seconds: r.seconds,
    insistence: r.insistence,
    snoozeOptions: r.snoozeOptions.map((seconds) => ({ seconds, label: t.duration(seconds) })),
    text: {
      title: t(final ? "final.title" : "reboot.title"),
      message: t(final ? "final.message" : r.insistence === "high" ? "reboot.messageUrgent" : "reboot.message", {
        org,
      }),
      countdown: t("reboot.countdown", { time: "{time}" }),
      deadline: r.deadlineAt && !final ? t("reboot.deadline", { deadline: new Date(r.deadlineAt) }) : null,
      snoozesLeft: final ? null : t("reboot.snoozesLeft", { n: r.snoozesLeft }),
      snoozeFor: t("reboot.snoozeFor"),
      snooze: t("reboot.snooze"),
      restartNow: t("reboot.restartNow"),
    },
  };
}

/** Builds the request of a message window. */
export function messageRequest(
  m: Omit<MessageShow, "actionId">,
  t: Translator,
  branding: WindowBranding | null,
): Extract<WindowRequest, { kind: "message" }> {
  return {
    kind: "message",
    lang: t.lang,
    branding,
    title: m.title,
    message: m.message,
    urgency: m.urgency,
    requireAcknowledgement: m.requireAcknowledgement,
    text: {
      button: t(m.requireAcknowledgement ? "message.acknowledge" : "message.ok"),
      urgency: t(`urgency.${m.urgency}`),
      hint: m.requireAcknowledgement ? t("message.acknowledgeHint") : null,
    },
  };
}

/** Desktop for the tray app. */
export class ElectronDesktop implements Desktop {
  readonly interactive = true;
  private readonly open = new Map<number, Open>();
  private readonly messages = new Map<string, MessageShow>();
  private tray: TrayService | null = null;
  private readonly timers: Timers;
  private readonly t: Translator;
  private branding: WindowBranding | null;
  private readonly now: () => Date;

  constructor(
    private readonly api: ElectronApi,
    private readonly opts: {
      html: string;
      log: Logger;
      t: Translator;
      branding?: WindowBranding | null;
      exec?: Exec;
      timers?: Timers;
      now?: () => Date;
    },
  ) {
    this.timers = opts.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
    };
    this.t = opts.t;
    this.branding = opts.branding ?? null;
    this.now = opts.now ?? (() => new Date());
    api.handle(IPC.init, (senderId) => this.open.get(senderId)?.request ?? null);
    api.on(IPC.answer, (senderId, payload) => this.onAnswer(senderId, payload));
  }

  attachTray(tray: TrayService): void {
    this.tray = tray;
  }

  async notify(m: MessageShow): Promise<void> {
    this.messages.set(m.actionId, m);
    if (!this.api.notificationsSupported()) {
      // No notification service (some Linux desktops): show the message window instead, without waiting.
      void this.ask(messageRequest(m, this.t, this.branding));
      return;
    }
    const n = this.api.createNotification({
      title: m.title,
      body: m.message.length > 240 ? `${m.message.slice(0, 239)}…` : m.message,
    });
    n.onClick(() => this.showMessage(m.actionId));
    n.show();
  }

  async dialog(m: MessageShow): Promise<{ acknowledgedAt: string | null }> {
    this.messages.set(m.actionId, m);
    const a = await this.ask(messageRequest(m, this.t, this.branding), {
      closable: !m.requireAcknowledgement,
      onTop: m.urgency === "critical",
    });
    return { acknowledgedAt: a === "acknowledged" ? this.now().toISOString() : null };
  }

  /** Opens the full text of a message (notification click, tray menu); a read receipt is not asked again. */
  showMessage(actionId: string): void {
    const m = this.messages.get(actionId);
    if (m) void this.ask(messageRequest({ ...m, requireAcknowledgement: false }, this.t, this.branding));
  }

  async confirm(q: { title: string; message: string; yes: string; no: string }): Promise<boolean> {
    return (await this.ask({ kind: "confirm", lang: this.t.lang, branding: this.branding, ...q })) === "yes";
  }

  async rebootPrompt(r: RebootPromptRequest): Promise<RebootPromptAnswer> {
    let timer: unknown = null;
    let settle!: (a: RebootPromptAnswer) => void;
    const decided = new Promise<RebootPromptAnswer>((resolve) => {
      settle = resolve;
      timer = this.timers.setTimeout(() => resolve({ kind: "elapsed" }), r.seconds * 1000);
    });
    const request = rebootRequest(r, this.t, this.branding);
    const onTop = r.stage === "final" || r.insistence === "high";
    void this.ask(request, { closable: false, onTop }).then((a) => {
      if (a === "now") settle({ kind: "now" });
      else if (typeof a === "object" && "snooze" in a) settle({ kind: "snooze", seconds: a.snooze });
      // closed somehow: the countdown still runs
    });
    const result = await decided;
    this.timers.clearTimeout(timer);
    this.closeWhere((o) => o.request === request);
    return result;
  }

  async userSignedIn(): Promise<boolean> {
    return true; // the tray app runs inside a user's session
  }

  /** First run: asks for the server URL and enrollment key. Null if the window was closed. */
  async setup(server: string, error: string | null): Promise<{ server: string; token: string } | null> {
    const t = this.t;
    const text = {
      title: t("setup.title"),
      message: t("setup.message"),
      server: t("setup.server"),
      token: t("setup.token"),
      connect: t("setup.connect"),
    };
    const a = await this.ask({ kind: "setup", lang: t.lang, branding: this.branding, server, error, text });
    return typeof a === "object" && "setup" in a ? a.setup : null;
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

  /** The organisation's branding (from the core: checked text, a re-encoded logo) for the next windows. */
  setBranding(b: WindowBranding | null): void {
    this.branding = b;
  }

  /** Opens a window for a request; resolves with the (validated) answer, or "closed". */
  private ask(
    request: WindowRequest,
    o: { closable?: boolean; onTop?: boolean } = {},
  ): Promise<WindowAnswer | "closed"> {
    return new Promise((resolve) => {
      const win = this.api.createWindow({
        ...SIZES[request.kind],
        title: request.kind === "setup" || request.kind === "reboot" ? request.text.title : request.title,
        alwaysOnTop: o.onTop ?? false,
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
      return r.requireAcknowledgement ? a === "acknowledged" : a === "ok";
    case "confirm":
      return a === "yes" || a === "no";
    case "reboot":
      return (
        a === "now" || (typeof a === "object" && "snooze" in a && r.snoozeOptions.some((o) => o.seconds === a.snooze))
      );
    case "setup":
      return typeof a === "object" && "setup" in a;
  }
}

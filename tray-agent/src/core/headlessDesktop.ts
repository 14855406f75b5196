// The desktop port without a desktop (servers, CI): messages go to the log and to notify-send when it
// is installed; nobody is asked anything; a reboot waits out its countdown in the log, then runs the
// platform's command; a restart starts a fresh copy of this process and exits.
import type { Sleep } from "./backoff.ts";
import type { CountdownAnswer, CountdownQuestion, Desktop, TrayState } from "./desktop.ts";
import type { Logger } from "./log.ts";
import { execArgv, findOnPath, notifySendArgv, rebootMachine, respawnSelf, type Exec } from "./platform.ts";

export type HeadlessOptions = {
  log: Logger;
  sleep: Sleep;
  exec?: Exec;
  /** Path of notify-send, or null when absent (default: looked up on PATH). */
  notifySend?: string | null;
  /** Restart: start a copy of this process (default) — tests pass a recorder. */
  respawn?: () => void;
  exit?: (code: number) => void;
};

/** A Desktop for headless mode. */
export class HeadlessDesktop implements Desktop {
  readonly interactive = false;
  private lastConnection: TrayState["connection"] | null = null;
  private readonly exec: Exec;
  private readonly notifySend: string | null;

  constructor(private readonly o: HeadlessOptions) {
    this.exec = o.exec ?? execArgv;
    this.notifySend = o.notifySend === undefined ? findOnPath("notify-send") : o.notifySend;
  }

  async notify(m: { actionId: string; title: string; message: string }): Promise<void> {
    this.o.log.info(`message: ${m.title}: ${m.message}`, { actionId: m.actionId });
    if (!this.notifySend) return;
    const [, ...args] = notifySendArgv(m.title, m.message);
    try {
      await this.exec([this.notifySend, ...args], { timeoutMs: 10_000 });
    } catch (err) {
      // No notification daemon (a server): the log line above is the message's record.
      this.o.log.debug(`notify-send failed: ${(err as Error).message}`);
    }
  }

  dialog(m: { actionId: string; title: string; message: string }): Promise<void> {
    return this.notify(m);
  }

  async confirm(): Promise<boolean> {
    return true;
  }

  async confirmWithCountdown(q: CountdownQuestion): Promise<CountdownAnswer> {
    this.o.log.warn(`${q.title}: rebooting in ${q.seconds} s`);
    await this.o.sleep(q.seconds * 1000);
    return "elapsed";
  }

  async relaunch(): Promise<void> {
    this.o.log.info("restarting: starting a new agent process");
    (this.o.respawn ?? respawnSelf)();
    (this.o.exit ?? ((code: number) => process.exit(code)))(0);
  }

  async reboot(): Promise<void> {
    const argv = await rebootMachine(this.exec);
    this.o.log.warn(`reboot started: ${argv.join(" ")}`);
  }

  setTrayState(s: TrayState): void {
    if (s.connection === this.lastConnection) return;
    this.lastConnection = s.connection;
    if (s.connection === "connected") this.o.log.info("connected to the server");
    else if (s.connection === "offline")
      this.o.log.warn("offline: results are kept in the journal until the server answers");
  }
}

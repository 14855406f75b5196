// The desktop port without a desktop (servers, CI): messages go to the log and to notify-send when it
// is installed; nobody is asked anything; a reboot policy's prompts and final stage are logged and run
// out (nobody can snooze), then the platform's command runs; a restart starts a fresh copy of this
// process and exits. Who is signed in comes from the OS's session list (systeminformation).
import si from "systeminformation";
import type { Sleep } from "./backoff.ts";
import type { Desktop, MessageShow, RebootPromptAnswer, RebootPromptRequest, TrayState } from "./desktop.ts";
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
  /** Whether someone is signed in (default: the OS's session list is not empty). */
  userSignedIn?: () => Promise<boolean>;
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

  async notify(m: MessageShow): Promise<void> {
    this.o.log.info(`message: ${m.title}: ${m.message}`, { actionId: m.actionId, urgency: m.urgency });
    if (!this.notifySend) return;
    const [, ...args] = notifySendArgv(m.title, m.message);
    try {
      await this.exec([this.notifySend, ...args], { timeoutMs: 10_000 });
    } catch (err) {
      // No notification daemon (a server): the log line above is the message's record.
      this.o.log.debug(`notify-send failed: ${(err as Error).message}`);
    }
  }

  async dialog(m: MessageShow): Promise<{ acknowledgedAt: null }> {
    await this.notify(m);
    return { acknowledgedAt: null };
  }

  async confirm(): Promise<boolean> {
    return true;
  }

  async rebootPrompt(r: RebootPromptRequest): Promise<RebootPromptAnswer> {
    const stage = r.stage === "final" ? "final stage" : "reboot prompt";
    this.o.log.warn(`${stage}: rebooting in ${r.seconds} s (headless: nobody can answer or snooze)`);
    await this.o.sleep(r.seconds * 1000);
    return { kind: "elapsed" };
  }

  async userSignedIn(): Promise<boolean> {
    if (this.o.userSignedIn) return this.o.userSignedIn();
    try {
      return (await si.users()).length > 0;
    } catch {
      return true; // unknown: behave as if someone could be there (the prompts are logged and run out)
    }
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

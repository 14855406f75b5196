// The desktop port: everything the core asks of the user's desktop. The Electron shell implements it
// with a tray, notifications and small windows; headless mode with the log and notify-send; tests with
// a fake. The core never imports electron.

/** What the tray shows. */
export type TrayState = {
  connection: "connecting" | "connected" | "offline";
  /** A dialog or a confirmation is waiting for the user. */
  actionWaiting: boolean;
  /** Last successful exchange with the server (ISO), or null. */
  lastSync: string | null;
  paused: boolean;
  /** Newest first, at most 10. */
  recentMessages: RecentMessage[];
  machineId: string | null;
};

export type RecentMessage = { actionId: string; title: string; message: string; at: string };

/** One round of a reboot countdown: the user pressed "Now", the time ran out, or "Postpone". */
export type CountdownAnswer = "now" | "elapsed" | "postpone";

/** A reboot countdown to show: `seconds` to go, and how many postpones the user still has. */
export type CountdownQuestion = { title: string; message: string; seconds: number; postponesLeft: number };

export interface Desktop {
  /** False for headless: nobody can be asked, so the core does not ask. */
  readonly interactive: boolean;
  /** A passing notification (a click may open the full text). */
  notify(m: { actionId: string; title: string; message: string }): Promise<void>;
  /** A dialog that waits for OK. Resolves when the user closed it. */
  dialog(m: { actionId: string; title: string; message: string }): Promise<void>;
  /** A yes/no question (restart). True = yes. */
  confirm(q: { title: string; message: string; yes: string; no: string }): Promise<boolean>;
  /** A visible countdown with "Now" and (if postponesLeft > 0) "Postpone". */
  confirmWithCountdown(q: CountdownQuestion): Promise<CountdownAnswer>;
  /** Relaunches the agent. Normally does not return (the process ends). */
  relaunch(): Promise<void>;
  /** Reboots the machine with the platform's command. Rejects if the command fails. */
  reboot(): Promise<void>;
  /** The tray reflects the agent's state. */
  setTrayState(s: TrayState): void;
}

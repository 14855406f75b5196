// The desktop port: everything the core asks of the user's desktop. The Electron shell implements it
// with a tray, notifications and small windows; headless mode with the log and notify-send; tests with
// a fake. The core never imports electron.
import type { Branding, Urgency } from "../../../server/contract/index.ts";
import type { PromptAnswer } from "./rebootPolicy.ts";

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
  /** A reboot is waiting for the user (snoozed, or waiting for the window): the tray offers "Restart now". */
  pendingRestart?: { deadlineAt: string | null } | null;
};

export type RecentMessage = { actionId: string; title: string; message: string; at: string };

/** A message as the desktop shows it (text only: never interpreted as markup). */
export type MessageShow = {
  actionId: string;
  title: string;
  message: string;
  urgency: Urgency;
  /** The dialog stays until the user clicks "I have read this". */
  requireAcknowledgement: boolean;
};

/** A reboot prompt (snooze possible) or the final stage (only "Restart now", cannot be closed). */
export type RebootPromptRequest = {
  stage: "prompt" | "final";
  /** Seconds until the restart if nobody answers. */
  seconds: number;
  /** Snooze durations the user may pick now (seconds); empty in the final stage. */
  snoozeOptions: number[];
  snoozesLeft: number;
  maxSnoozes: number;
  /** ISO, or null without a deadline. */
  deadlineAt: string | null;
  /** Rises as the deadline nears (the window says so more strongly). */
  insistence: "normal" | "high";
};

/** What the user (or the countdown) answered. */
export type RebootPromptAnswer = PromptAnswer;

export interface Desktop {
  /** False for headless: nobody can be asked, so the core does not ask. */
  readonly interactive: boolean;
  /** A passing notification (a click may open the full text). */
  notify(m: MessageShow): Promise<void>;
  /** A dialog that waits for OK (or "I have read this"). Resolves when the user closed it, with when they acknowledged. */
  dialog(m: MessageShow): Promise<{ acknowledgedAt: string | null }>;
  /** A yes/no question (restart). True = yes. */
  confirm(q: { title: string; message: string; yes: string; no: string }): Promise<boolean>;
  /** The reboot prompt or final stage; resolves with "now", "elapsed" or a snooze. */
  rebootPrompt(r: RebootPromptRequest): Promise<RebootPromptAnswer>;
  /** Whether someone is signed in (the policy reboots at once or in the window when nobody is). */
  userSignedIn(): Promise<boolean>;
  /** Relaunches the agent. Normally does not return (the process ends). */
  relaunch(): Promise<void>;
  /** Reboots the machine with the platform's command. Rejects if the command fails. */
  reboot(): Promise<void>;
  /** The tray reflects the agent's state. */
  setTrayState(s: TrayState): void;
  /**
   * The organisation's branding for the windows opened from now on (checked by branding.ts: clean
   * text, a logo re-encoded from validated image bytes). Optional: a desktop without windows ignores it.
   */
  setBranding?(b: Branding | null): void;
}

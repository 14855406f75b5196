// The one typed map of IPC between the agent's windows and the main process. Renderers are untrusted:
// main validates every answer (parseAnswer) and checks that it comes from the window it opened.
// Every text a window shows is already translated and formatted by main (the page has no i18n code).
// No dependencies: the preload bundles this file and must stay tiny.

/** Channel names. */
export const IPC = {
  /** renderer → main (invoke): what should this window show? */
  init: "dashfleet:init",
  /** renderer → main (send): the user's answer. */
  answer: "dashfleet:answer",
} as const;

/** The organisation's name and support text (logo optional, a data: URL). */
export type WindowBranding = { orgName: string; supportText?: string | undefined; logoDataUrl?: string | undefined };

/** What every window carries: its language (for `lang`) and the branding. */
type Common = { lang: string; branding: WindowBranding | null };

/** What a window shows. */
export type WindowRequest = Common &
  (
    | {
        kind: "message";
        title: string;
        message: string;
        urgency: "info" | "warning" | "critical";
        requireAcknowledgement: boolean;
        text: { button: string; urgency: string; hint: string | null };
      }
    | { kind: "confirm"; title: string; message: string; yes: string; no: string }
    | {
        kind: "reboot";
        stage: "prompt" | "final";
        seconds: number;
        insistence: "normal" | "high";
        snoozeOptions: { seconds: number; label: string }[];
        text: {
          title: string;
          message: string;
          /** Contains the placeholder {time}, replaced by m:ss as the countdown ticks. */
          countdown: string;
          deadline: string | null;
          snoozesLeft: string | null;
          snoozeFor: string;
          snooze: string;
          restartNow: string;
        };
      }
    | {
        kind: "setup";
        server: string;
        error: string | null;
        text: { title: string; message: string; server: string; token: string; connect: string };
      }
  );

/** What a window may answer. */
export type WindowAnswer =
  "ok" | "acknowledged" | "yes" | "no" | "now" | { snooze: number } | { setup: { server: string; token: string } };

const simpleAnswers = new Set(["ok", "acknowledged", "yes", "no", "now"]);

/** A renderer's answer, checked; null if it is not a well-formed answer. */
export function parseAnswer(payload: unknown): WindowAnswer | null {
  if (typeof payload === "string") return simpleAnswers.has(payload) ? (payload as WindowAnswer) : null;
  if (typeof payload !== "object" || payload === null) return null;
  const keys = Object.keys(payload).join();
  if (keys === "snooze") {
    const s = (payload as { snooze: unknown }).snooze;
    return typeof s === "number" && Number.isInteger(s) && s >= 0 && s <= 86_400 ? { snooze: s } : null;
  }
  if (keys !== "setup") return null;
  const s = (payload as { setup: unknown }).setup;
  if (typeof s !== "object" || s === null || Object.keys(s).sort().join() !== "server,token") return null;
  const { server, token } = s as { server: unknown; token: unknown };
  if (typeof server !== "string" || typeof token !== "string" || server.length > 500 || token.length > 300) return null;
  return { setup: { server, token } };
}

/** The API the preload exposes to a window as `window.dashfleet`. */
export type PreloadApi = {
  init(): Promise<WindowRequest>;
  answer(a: WindowAnswer): void;
};

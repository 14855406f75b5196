// The one typed map of IPC between the agent's windows and the main process. Renderers are untrusted:
// main validates every answer (parseAnswer) and checks that it comes from the window it opened.
// No dependencies: the preload bundles this file and must stay tiny.

/** Channel names. */
export const IPC = {
  /** renderer → main (invoke): what should this window show? */
  init: "dashfleet:init",
  /** renderer → main (send): the user's answer. */
  answer: "dashfleet:answer",
} as const;

/** What a window shows. */
export type WindowRequest =
  | { kind: "message"; title: string; message: string }
  | { kind: "confirm"; title: string; message: string; yes: string; no: string }
  | { kind: "countdown"; title: string; message: string; seconds: number; postponesLeft: number }
  | { kind: "setup"; server: string; error: string | null };

/** What a window may answer. */
export type WindowAnswer = "ok" | "yes" | "no" | "now" | "postpone" | { setup: { server: string; token: string } };

const simpleAnswers = new Set(["ok", "yes", "no", "now", "postpone"]);

/** A renderer's answer, checked; null if it is not a well-formed answer. */
export function parseAnswer(payload: unknown): WindowAnswer | null {
  if (typeof payload === "string") return simpleAnswers.has(payload) ? (payload as WindowAnswer) : null;
  if (typeof payload !== "object" || payload === null || Object.keys(payload).join() !== "setup") return null;
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

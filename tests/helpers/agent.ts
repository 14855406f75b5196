// Agent test helpers: a scripted fake desktop that records what the core asked, a temporary data
// directory, an agent configuration, and a way to wait for a condition.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Branding } from "../../server/contract/index.ts";
import type { AgentConfig } from "../../tray-agent/src/core/config.ts";
import type {
  Desktop,
  MessageShow,
  RebootPromptAnswer,
  RebootPromptRequest,
  TrayState,
} from "../../tray-agent/src/core/desktop.ts";

type Call =
  | ({ kind: "notify" | "dialog" } & MessageShow)
  | { kind: "confirm"; title: string; message: string }
  | ({ kind: "countdown" } & RebootPromptRequest)
  | { kind: "relaunch" }
  | { kind: "reboot" };

/** A desktop whose user answers from a script; every call is recorded in `calls`. */
export class FakeDesktop implements Desktop {
  readonly calls: Call[] = [];
  readonly trayStates: TrayState[] = [];
  /** Answers to confirm() (restart), in order; default yes. */
  confirmAnswers: boolean[] = [];
  /** Answers to each reboot prompt or final stage, in order; default "now". */
  countdownAnswers: (RebootPromptAnswer | "now" | "elapsed" | "snooze")[] = [];
  /** Answers to acknowledgement dialogs: when the user acknowledged (null: closed without). */
  acknowledgeAt: string | null = "2026-11-25T12:00:00.000Z";
  /** Whether someone is signed in. */
  signedIn = true;
  /** When set, dialogs and confirmations wait on this promise (a user who has not answered yet). */
  hold: Promise<void> | null = null;
  rebootError: Error | null = null;

  constructor(readonly interactive = true) {}

  async notify(m: MessageShow) {
    this.calls.push({ kind: "notify", ...m });
  }
  async dialog(m: MessageShow) {
    this.calls.push({ kind: "dialog", ...m });
    if (this.hold) await this.hold;
    return { acknowledgedAt: m.requireAcknowledgement ? this.acknowledgeAt : null };
  }
  async confirm(q: { title: string; message: string }) {
    this.calls.push({ kind: "confirm", title: q.title, message: q.message });
    if (this.hold) await this.hold;
    return this.confirmAnswers.shift() ?? true;
  }
  async rebootPrompt(r: RebootPromptRequest): Promise<RebootPromptAnswer> {
    this.calls.push({ kind: "countdown", ...r });
    if (this.hold) await this.hold;
    const a = this.countdownAnswers.shift() ?? "now";
    // "snooze" is shorthand for the first offered option.
    if (a === "snooze") return { kind: "snooze", seconds: r.snoozeOptions[0] ?? 0 };
    return typeof a === "string" ? { kind: a } : a;
  }
  async userSignedIn() {
    return this.signedIn;
  }
  async relaunch() {
    this.calls.push({ kind: "relaunch" });
  }
  async reboot() {
    this.calls.push({ kind: "reboot" });
    if (this.rebootError) throw this.rebootError;
  }
  setTrayState(s: TrayState) {
    this.trayStates.push(s);
  }
  /** Every branding the core handed to the windows, in order. */
  readonly brandings: (Branding | null)[] = [];
  setBranding(b: Branding | null) {
    this.brandings.push(b);
  }
  count(kind: Call["kind"]) {
    return this.calls.filter((c) => c.kind === kind).length;
  }
}

/** A fresh temporary data directory. */
export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-agent-"));
}

/** An agent configuration for tests (short intervals, tiny backoff). */
export function agentConfig(overrides: Partial<AgentConfig> & Pick<AgentConfig, "dataDir">): AgentConfig {
  return {
    server: "http://127.0.0.1:9",
    token: "dfk_test_enrollment_key",
    machineId: "test-machine",
    intervalSeconds: 10,
    pollIntervalSeconds: 30,
    allowReboot: false,
    postponeSeconds: 0,
    backoffMaxSeconds: 1,
    logLevel: "error",
    push: false,
    labels: [],
    branding: null,
    locale: "en",
    sources: [],
    ...overrides,
  };
}

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 15_000,
): Promise<NonNullable<T>> {
  const start = Date.now();
  let last: Error | null = null;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err instanceof Error ? err : new Error(String(err));
    }
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last.message})` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Fixed metrics and identity, so tests do not depend on the host. */
export const fixedMetrics = async () => ({ cpuPercent: 12.5, memoryPercent: 40, diskPercent: 55, uptimeSeconds: 3600 });
export const fixedIdentity = async () => ({ hostname: "test-host", os: "Linux test", agentVersion: "0.1.0" });

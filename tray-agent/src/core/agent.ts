// The agent: enrolls once, reports metrics, claims actions, acknowledges each before running it, runs
// it through an executor and reports the result. Every step is journaled first (journal.ts), so after
// a server outage, a kill, a restart or a reboot each result is delivered once and no action runs twice.
// What it owes the server (progress events, results) and the start-up settling live in outbox.ts; the
// organisation's branding for the windows (asked, cached, checked) in branding.ts.
// Timers go through an injected clock and sleep, so tests drive the loop without waiting.
import os from "node:os";
import {
  ActionSpec,
  DeliveredAction,
  RESULT_MAX,
  resolveRebootPolicy,
  type ActionOutcome,
  type Branding,
  type MachineIdentity,
  type MetricReport,
} from "../../../server/contract/index.ts";
import { classifyFailure, createAgentApi, errorCodeOf, type AgentApi } from "./api.ts";
import { backoffDelay, sleep as realSleep, type Sleep } from "./backoff.ts";
import { BrandingKeeper } from "./branding.ts";
import {
  ConfigError,
  deriveMachineId,
  MACHINE_TOKEN_PREFIX,
  readState,
  writeState,
  type AgentConfig,
} from "./config.ts";
import type { Desktop, TrayState } from "./desktop.ts";
import { defaultExecutors, type ExecContext, type ExecOutcome, type Executors } from "./executors.ts";
import { lockDataDir, type DataDirLock } from "./dataLock.ts";
import { createTranslator, osLocales, pickLanguage, type Translator } from "./i18n/index.ts";
import { Journal, type JournalEntry } from "./journal.ts";
import { Outbox } from "./outbox.ts";
import { silentLogger, type Logger } from "./log.ts";
import { collectIdentity, collectMetrics, osMachineUuid } from "./metrics.ts";

export type AgentOptions = {
  config: AgentConfig;
  desktop: Desktop;
  log?: Logger;
  /** Builds the server API (default: tRPC over HTTP). */
  api?: (serverUrl: string, token: () => string | null) => AgentApi;
  executors?: Executors;
  metrics?: () => Promise<MetricReport>;
  identity?: () => Promise<Omit<MachineIdentity, "machineId">>;
  machineUuid?: () => Promise<string | null>;
  sleep?: Sleep;
  random?: () => number;
  now?: () => Date;
  /** Seconds since the OS booted (to tell a reboot from an agent restart). */
  uptimeSeconds?: () => number;
  /** Optional push channel, started after enrollment; it only wakes the poller (see push.ts). */
  push?: (onWake: () => void, ctx: { serverUrl: string; machineToken: string }) => { close(): void };
  /** How often the organisation's branding is asked again (default 15 min; see branding.ts). */
  brandingRefreshMs?: number;
};

const MAX_RECENT = 10;
/** After the reboot command, how long the agent may still be alive before it calls the reboot failed. */
const REBOOT_GRACE_MS = 10 * 60_000;
const clip = (s: string) => (s.length > RESULT_MAX ? `${s.slice(0, RESULT_MAX - 1)}…` : s);
const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The agent core. `run()` until `stop()`; `wake()` polls now. */
export class Agent {
  private readonly cfg: AgentConfig;
  private readonly desktop: Desktop;
  private readonly log: Logger;
  private readonly journal: Journal;
  private readonly api: AgentApi;
  private readonly executors: Executors;
  private readonly sleep: Sleep;
  private readonly now: () => Date;
  private readonly opts: AgentOptions;
  private readonly t: Translator;
  private readonly outbox: Outbox;
  private readonly brandingKeeper: BrandingKeeper;

  private machineId: string | null = null;
  private machineToken: string | null = null;
  private readonly enrollKey: string | null;
  private identitySent = false;
  private failures = 0;
  private stopped = false;
  private readonly stopCtrl = new AbortController();
  private wakeCtrl: AbortController | null = null;
  private wakeRequested = false;
  private worker: Promise<void> | null = null;
  private running: Promise<void> | null = null;
  private pushHandle: { close(): void } | null = null;
  private lock: DataDirLock | null = null;
  /** The running reboot's "Restart now" from the tray. */
  private restartNowCtrl: AbortController | null = null;
  private state: TrayState = {
    connection: "connecting",
    actionWaiting: false,
    lastSync: null,
    paused: false,
    recentMessages: [],
    machineId: null,
  };
  private readonly listeners = new Set<(s: TrayState) => void>();

  constructor(opts: AgentOptions) {
    this.opts = opts;
    this.cfg = opts.config;
    if (!this.cfg.server || !this.cfg.token)
      throw new ConfigError("The agent needs a server URL (--server) and an enrollment key or machine token (--token)");
    this.desktop = opts.desktop;
    this.log = opts.log ?? silentLogger;
    this.now = opts.now ?? (() => new Date());
    this.sleep = opts.sleep ?? realSleep;
    this.executors = opts.executors ?? defaultExecutors;
    this.journal = new Journal(this.cfg.dataDir, this.now);
    this.t = createTranslator(pickLanguage([this.cfg.locale, ...osLocales()]));
    const isMachineToken = this.cfg.token.startsWith(MACHINE_TOKEN_PREFIX);
    this.enrollKey = isMachineToken ? null : this.cfg.token;
    if (isMachineToken) this.machineToken = this.cfg.token;
    this.api = (opts.api ?? createAgentApi)(this.cfg.server, () => this.machineToken ?? this.enrollKey);
    this.outbox = new Outbox({
      journal: this.journal,
      api: this.api,
      log: this.log,
      now: this.now,
      uptimeSeconds: opts.uptimeSeconds ?? os.uptime,
      wake: () => this.wake(),
    });
    this.brandingKeeper = new BrandingKeeper({
      dataDir: this.cfg.dataDir,
      server: this.cfg.server,
      fallback: this.cfg.branding,
      log: this.log,
      now: this.now,
      apply: (b) => this.desktop.setBranding?.(b),
      refreshMs: opts.brandingRefreshMs,
    });
  }

  /** Runs until stop(). Resolves when stopped. */
  run(): Promise<void> {
    this.running ??= (async () => {
      // A second agent on the same data folder would share its token and journal: refuse to start.
      this.lock = lockDataDir(this.cfg.dataDir);
      try {
        // Windows opened before the server answers (a replayed reboot, an outage) are branded too.
        this.brandingKeeper.load();
        await this.main();
      } finally {
        this.lock.release();
      }
    })();
    return this.running;
  }

  /** Stops the loops (an open dialog is left to the shell). Safe to call twice. */
  async stop(): Promise<void> {
    this.halt();
    await this.running?.catch(() => undefined);
  }

  /** Poll for actions now (push channel, tray menu, a finished action). */
  wake(): void {
    this.wakeRequested = true;
    this.wakeCtrl?.abort();
  }

  /** The user chose "Restart now" in the tray while a reboot waits (snoozed, or for the window). */
  restartNow(): void {
    this.restartNowCtrl?.abort();
  }

  /** Pauses metric reports (actions are still polled and run). */
  setPaused(paused: boolean): void {
    this.setState({ paused });
    if (!paused) this.wake();
  }

  getState(): TrayState {
    return structuredClone(this.state);
  }

  /** The branding the windows show now (server, cache or config file; null if none is known). */
  branding(): Branding | null {
    return structuredClone(this.brandingKeeper.current());
  }

  /** Called on every state change (the tray). Returns an unsubscribe function. */
  onState(listener: (s: TrayState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The journal, read-only use (tests and diagnostics). */
  journalEntries(): JournalEntry[] {
    return this.journal.all();
  }

  private halt(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopCtrl.abort();
    this.wakeCtrl?.abort();
    this.pushHandle?.close();
    this.pushHandle = null;
  }

  private setState(patch: Partial<TrayState>): void {
    this.state = { ...this.state, ...patch };
    const copy = this.getState();
    try {
      this.desktop.setTrayState(copy);
    } catch (err) {
      this.log.warn(`tray update failed: ${errText(err)}`);
    }
    for (const l of this.listeners) l(copy);
  }

  private async main(): Promise<void> {
    this.outbox.replay();
    this.kickWorker();
    let nextReport = 0;
    let nextPoll = 0;
    let nextBranding = 0;
    while (!this.stopped) {
      let polling = false;
      try {
        await this.ensureEnrolled();
        if (this.stopped) break;
        const t = this.now().getTime();
        // Never throws: a server without it, or a failed ask, leaves the branding the windows have.
        if (t >= nextBranding) nextBranding = t + (await this.brandingKeeper.refresh(this.api));
        if (!this.state.paused && t >= nextReport) {
          await this.sendReport();
          nextReport = t + this.cfg.intervalSeconds * 1000;
        }
        await this.retryAcks();
        if (this.wakeRequested || t >= nextPoll) {
          polling = true;
          this.wakeRequested = false;
          await this.poll();
          nextPoll = t + this.cfg.pollIntervalSeconds * 1000;
        }
        await this.outbox.deliverProgress();
        await this.outbox.deliverResults();
        // "came-back" waits for the reboot's result (the server holds a done reboot until it comes back).
        await this.outbox.deliverProgress();
        this.failures = 0;
        this.setState({ connection: "connected", lastSync: this.now().toISOString() });
      } catch (err) {
        if (this.stopped) break;
        // A wake-up whose poll failed is not lost: the next attempt polls.
        if (polling) this.wakeRequested = true;
        await this.onFailure(err);
        continue;
      }
      if (this.wakeRequested || this.stopped) continue;
      // The branding's refresh rides on the next report or poll (no wake-up of its own: it is not urgent).
      const due = Math.min(this.state.paused ? Infinity : nextReport, nextPoll);
      const wait = Math.max(0, due - this.now().getTime());
      this.wakeCtrl = new AbortController();
      const onStop = () => this.wakeCtrl?.abort();
      this.stopCtrl.signal.addEventListener("abort", onStop, { once: true });
      await this.sleep(wait, this.wakeCtrl.signal);
      this.stopCtrl.signal.removeEventListener("abort", onStop);
      this.wakeCtrl = null;
    }
    // The worker is not awaited: a dialog may stay open; the journal already covers what it was doing.
  }

  /** A failed exchange: re-enroll on a rejected token (if we hold a key), back off with full jitter. */
  private async onFailure(err: unknown): Promise<void> {
    const kind = classifyFailure(err);
    this.failures += 1;
    if (kind === "unauthorized") {
      if (this.enrollKey && this.machineToken) {
        this.log.warn("machine token refused by the server; enrolling again");
        this.machineToken = null;
        writeState(this.cfg.dataDir, { ...readState(this.cfg.dataDir), machineToken: undefined });
        // The push channel holds the refused token: close it, so enrolling opens one with the new token.
        this.pushHandle?.close();
        this.pushHandle = null;
      } else {
        this.log.error(
          `the server refused ${this.enrollKey ? "the enrollment key" : "the machine token"}: ${errText(err)}`,
        );
      }
    } else if (kind === "rejected") {
      // E.g. re-enrolling a known machine id without its token: an admin must approve it.
      this.log.error(`the server refused: ${errText(err)}; retrying later`);
    } else {
      this.log.warn(`server unreachable (${errText(err)}); retrying`, { failures: this.failures });
    }
    this.setState({ connection: "offline" });
    const delay = backoffDelay(this.failures, { capMs: this.cfg.backoffMaxSeconds * 1000, random: this.opts.random });
    // A wake does not cut a backoff short: a dead server is not hammered.
    await this.sleep(delay, this.stopCtrl.signal);
  }

  private async ensureEnrolled(): Promise<void> {
    if (this.machineToken && this.machineId) return;
    const state = readState(this.cfg.dataDir);
    if (!this.machineId) {
      this.machineId =
        this.cfg.machineId ??
        state.machineId ??
        deriveMachineId(os.hostname(), await (this.opts.machineUuid ?? osMachineUuid)());
      if (state.machineId !== this.machineId)
        writeState(this.cfg.dataDir, {
          ...state,
          machineId: this.machineId,
          machineToken: undefined,
          server: undefined,
        });
      this.setState({ machineId: this.machineId });
    }
    if (this.machineToken) return;
    const saved = readState(this.cfg.dataDir);
    if (saved.machineToken && saved.server === this.cfg.server && saved.machineId === this.machineId) {
      this.machineToken = saved.machineToken;
      this.startPush();
      return;
    }
    if (!this.enrollKey) throw new ConfigError("no machine token and no enrollment key");
    const identity = await (this.opts.identity ?? collectIdentity)();
    const labels = this.cfg.labels.length > 0 ? { labels: this.cfg.labels } : {};
    // Re-enrolling a machine id the server knows needs that machine's current token (a stolen agent key
    // alone cannot take a machine over): send the saved one along when we have it.
    const current = saved.machineId === this.machineId && saved.machineToken ? saved.machineToken : undefined;
    const r = await this.api.enroll({ machineId: this.machineId, ...identity, ...labels }, current);
    this.machineToken = r.machineToken;
    this.identitySent = true;
    writeState(this.cfg.dataDir, {
      machineId: this.machineId,
      server: this.cfg.server!,
      machineToken: r.machineToken,
      enrolledAt: this.now().toISOString(),
    });
    this.log.info(`enrolled as ${this.machineId}`);
    this.startPush();
  }

  private startPush(): void {
    if (!this.opts.push || this.pushHandle || this.stopped) return;
    try {
      this.pushHandle = this.opts.push(() => this.wake(), {
        serverUrl: this.cfg.server!,
        machineToken: this.machineToken!,
      });
    } catch (err) {
      this.log.warn(`push channel not started: ${errText(err)}`);
    }
  }

  private async sendReport(): Promise<void> {
    let metrics: MetricReport;
    let identity: Omit<MachineIdentity, "machineId"> | undefined;
    try {
      metrics = await (this.opts.metrics ?? collectMetrics)();
      identity = this.identitySent ? undefined : await (this.opts.identity ?? collectIdentity)();
    } catch (err) {
      // A local collection failure is not a server outage: skip this report, stay connected.
      this.log.warn(`metrics not collected: ${errText(err)}`);
      return;
    }
    try {
      await this.api.report(identity ? { metrics, identity } : { metrics });
      this.identitySent = true;
    } catch (err) {
      if (classifyFailure(err) !== "rejected") throw err;
      this.log.warn(`report refused: ${errText(err)}`);
    }
  }

  /** Claims actions and takes each in: validate, journal, acknowledge, queue for the worker. */
  private async poll(): Promise<void> {
    const { actions } = await this.api.pendingActions();
    for (const raw of actions) await this.receive(raw);
  }

  private async receive(raw: unknown): Promise<void> {
    const d = DeliveredAction.safeParse(raw);
    const r = raw as { id?: unknown; claimToken?: unknown; type?: unknown; data?: unknown } | null;
    if (!d.success) {
      if (typeof r?.id === "string" && typeof r.claimToken === "string") {
        // Acknowledged like any action (the server takes results only of acknowledged ones), never run.
        const refused = this.journal.put({
          actionId: r.id,
          claimToken: r.claimToken,
          type: String(r.type),
          data: r.data ?? null,
          state: "received",
          result: { status: "error", result: clip(`unsupported action "${String(r.type)}": not run`) },
        });
        await this.ack(refused);
      } else this.log.warn("ignoring a malformed action from the server");
      return;
    }
    const a = d.data;
    const known = this.journal.get(a.id);
    if (known && known.state !== "received") {
      this.log.warn(`action ${a.id} delivered again while ${known.state}; not run again`);
      return;
    }
    const spec = ActionSpec.safeParse({ type: a.type, data: a.data });
    if (!spec.success) {
      const why = spec.error.issues.map((i) => `${["data", ...i.path].join(".")}: ${i.message}`).join("; ");
      this.log.warn(`invalid ${a.type} action ${a.id}: ${why}`);
      const refused = this.journal.put({
        actionId: a.id,
        claimToken: a.claimToken,
        type: a.type,
        data: a.data,
        state: "received",
        result: { status: "error", result: clip(`invalid ${a.type} action, not run: ${why}`) },
      });
      await this.ack(refused);
      return;
    }
    const entry = this.journal.put({
      actionId: a.id,
      claimToken: a.claimToken,
      type: spec.data.type,
      data: spec.data.data,
      state: "received",
    });
    await this.ack(entry);
  }

  /** Acknowledges one received action. CONFLICT/NOT_FOUND: the server took it back; forget it, never run it. */
  private async ack(e: JournalEntry): Promise<void> {
    try {
      await this.api.ack({ actionId: e.actionId, claimToken: e.claimToken });
    } catch (err) {
      if (classifyFailure(err) === "rejected") {
        this.log.info(`action ${e.actionId} not run: the server refused the ack (${errorCodeOf(err) ?? errText(err)})`);
        this.journal.remove(e.actionId);
        return;
      }
      throw err;
    }
    // An action refused on arrival (invalid, unsupported) already holds its error: report it, never run it.
    if (e.result) {
      this.journal.update(e.actionId, { state: "result" });
      return;
    }
    this.journal.update(e.actionId, { state: "acked" });
    this.kickWorker();
  }

  private async retryAcks(): Promise<void> {
    for (const e of this.journal.inState("received")) await this.ack(e);
  }

  private kickWorker(): void {
    if (this.worker || this.stopped) return;
    this.worker = this.work().finally(() => {
      this.worker = null;
      if (!this.stopped && this.journal.inState("acked").length > 0) this.kickWorker();
    });
  }

  /** Runs acknowledged actions one at a time, oldest first. */
  private async work(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const next = this.journal.inState("acked")[0];
      if (!next) return;
      await this.execute(next);
    }
  }

  private async execute(e: JournalEntry): Promise<void> {
    const spec = ActionSpec.safeParse({ type: e.type, data: e.data });
    if (!spec.success) {
      this.journal.update(e.actionId, {
        state: "result",
        result: { status: "error", result: "invalid action in the journal; not run" },
      });
      return;
    }
    this.journal.update(e.actionId, { state: "executing" });
    const waits = spec.data.type !== "message" || spec.data.data.display === "dialog";
    if (waits) this.setState({ actionWaiting: true });
    if (spec.data.type === "message") {
      const m = {
        actionId: e.actionId,
        title: spec.data.data.title,
        message: spec.data.data.message,
        at: this.now().toISOString(),
      };
      this.setState({ recentMessages: [m, ...this.state.recentMessages].slice(0, MAX_RECENT) });
    }
    const ctx: ExecContext = {
      actionId: e.actionId,
      desktop: this.desktop,
      log: this.log,
      sleep: this.sleep,
      now: this.now,
      t: this.t,
      allowReboot: this.cfg.allowReboot,
      postponeSeconds: this.cfg.postponeSeconds,
      signal: this.stopCtrl.signal,
      emit: (event) => this.outbox.emit(e.actionId, event),
      reboot: {
        progress: e.reboot ?? null,
        deliveredAtMs: Date.parse(e.receivedAt),
        save: (p) => void this.journal.update(e.actionId, { reboot: p }),
        restartNow: (this.restartNowCtrl = new AbortController()).signal,
      },
    };
    if (spec.data.type === "reboot") {
      const p = resolveRebootPolicy(spec.data.data, Date.parse(e.receivedAt));
      this.setState({
        pendingRestart: { deadlineAt: p.deadlineAtMs === null ? null : new Date(p.deadlineAtMs).toISOString() },
      });
    }
    let out: ExecOutcome;
    try {
      this.log.info(`running ${spec.data.type} action ${e.actionId}`);
      out = await this.runExecutor(spec.data, ctx);
    } catch (err) {
      if (this.stopped) return; // journaled as executing: the next start reports it, never reruns it
      out = { kind: "result", status: "error", result: clip(`failed: ${errText(err)}`) };
    } finally {
      if (waits) this.setState({ actionWaiting: false, pendingRestart: null });
      this.restartNowCtrl = null;
    }
    if (out.kind === "result") {
      this.finish(e.actionId, out.status, out.result, out.outcome);
    } else if (out.kind === "relaunch") {
      this.journal.update(e.actionId, { state: "relaunching", outcome: out.outcome });
      this.log.info(`restarting the agent (action ${e.actionId})`);
      try {
        // The new process must be able to take the data folder's lock at once.
        this.lock?.release();
        await this.desktop.relaunch();
        // The process normally ends inside relaunch(); if it returns, this instance stops for good.
        this.halt();
        return;
      } catch (err) {
        this.finish(e.actionId, "error", `restart failed: ${errText(err)}`, out.outcome);
      }
    } else {
      this.journal.update(e.actionId, {
        state: "rebooting",
        outcome: out.outcome,
        rebootRequestedAt: this.now().toISOString(),
      });
      this.log.info(`rebooting the machine (action ${e.actionId})`, out.outcome);
      try {
        await this.desktop.reboot();
      } catch (err) {
        this.finish(e.actionId, "error", clip(errText(err)), out.outcome);
        return;
      }
      // Reported after the machine (and the agent) come back. Still alive long after: it did not happen.
      const outcome = out.outcome;
      const timer = setTimeout(() => {
        if (this.stopped || this.journal.get(e.actionId)?.state !== "rebooting") return;
        this.finish(
          e.actionId,
          "error",
          `the reboot did not happen: the machine was still up ${REBOOT_GRACE_MS / 60_000} min after the command`,
          outcome,
        );
      }, REBOOT_GRACE_MS);
      timer.unref();
      this.stopCtrl.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
    }
  }

  private runExecutor(spec: ActionSpec, ctx: ExecContext): Promise<ExecOutcome> {
    switch (spec.type) {
      case "message":
        return this.executors.message(spec.data, ctx);
      case "restart":
        return this.executors.restart(spec.data, ctx);
      case "reboot":
        return this.executors.reboot(spec.data, ctx);
    }
  }

  private finish(actionId: string, status: "done" | "error", result: string, outcome?: ActionOutcome): void {
    this.journal.update(actionId, {
      state: "result",
      result: { status, result: clip(result), ...(outcome ? { outcome } : {}) },
    });
    this.log.info(`action ${actionId}: ${status} (${result})`);
    this.wake();
  }
}

// The agent's outbox: what it owes the server, from the journal. Progress events (agent.progress) and
// results (agent.reportResult) are delivered in order and survive outages and restarts; at start-up
// the journal is settled: a relaunch or a reboot that happened is reported, a reboot that never
// happened is an error, a reboot still waiting for its user resumes. The connection loop (agent.ts)
// calls in here; nothing here talks to the desktop.
import { progressKindFits, type ProgressEvent } from "../../../server/contract/index.ts";
import { classifyFailure, errorCodeOf, type AgentApi } from "./api.ts";
import type { Journal, JournalEntry } from "./journal.ts";
import type { Logger } from "./log.ts";

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export type OutboxDeps = {
  journal: Journal;
  api: AgentApi;
  log: Logger;
  now: () => Date;
  /** Seconds since the OS booted (to tell a reboot from an agent restart). */
  uptimeSeconds: () => number;
  /** Asks the connection loop to run now (a new event to send). */
  wake: () => void;
};

export class Outbox {
  /** The server has no agent.progress (an older server): events are logged, not sent. */
  private unsupported = false;

  constructor(private readonly d: OutboxDeps) {}

  /**
   * Sends journaled progress events (agent.progress), oldest first. A refusal drops the entry's events
   * (stale claim, or a server without agent.progress: logged once); a network failure keeps them.
   */
  async deliverProgress(): Promise<void> {
    for (const e of this.d.journal.all()) {
      for (const item of e.outbox ?? []) {
        if (item.event.kind === "came-back" && e.state === "result") break;
        try {
          await this.d.api.progress({
            actionId: e.actionId,
            claimToken: e.claimToken,
            seq: item.seq,
            event: item.event,
          });
        } catch (err) {
          if (classifyFailure(err) !== "rejected") throw err;
          if (errorCodeOf(err) === "NOT_FOUND" && /procedure/i.test(errText(err))) {
            if (!this.unsupported)
              this.d.log.warn("the server has no agent.progress (older server): progress events are not sent");
            this.unsupported = true;
          } else this.d.log.warn(`progress of ${e.actionId} refused (${errorCodeOf(err) ?? errText(err)}); dropped`);
          this.d.journal.update(e.actionId, { outbox: [] });
          break;
        }
        const now = this.d.journal.get(e.actionId);
        if (now) this.d.journal.update(e.actionId, { outbox: (now.outbox ?? []).filter((x) => x.seq !== item.seq) });
      }
    }
  }

  /** Journals one progress event of an action and wakes the loop to send it. */
  emit(actionId: string, event: ProgressEvent): void {
    const e = this.d.journal.get(actionId);
    if (!e) return;
    // The server refuses a kind that does not fit the action's type (contract progressKindsByType):
    // an executor that tried would be a bug, so it is logged and never sent (nor journaled).
    if (!progressKindFits(e.type, event.kind)) {
      this.d.log.error(`progress ${actionId}: "${event.kind}" does not fit a ${e.type} action; not sent`);
      return;
    }
    this.d.log.info(`progress ${actionId}: ${event.kind}`, event);
    if (this.unsupported) return;
    const seq = e.nextSeq ?? 0;
    this.d.journal.update(actionId, { outbox: [...(e.outbox ?? []), { seq, event }], nextSeq: seq + 1 });
    this.d.wake();
  }

  /** Delivers every journaled result; a duplicate answer or a refusal ends the entry's life too. */
  async deliverResults(): Promise<void> {
    for (const e of this.d.journal.inState("result")) {
      if (!e.result) continue;
      try {
        const r = await this.d.api.reportResult({ actionId: e.actionId, claimToken: e.claimToken, ...e.result });
        if (r.duplicate) this.d.log.info(`result of ${e.actionId} was already recorded`);
      } catch (err) {
        if (classifyFailure(err) !== "rejected") throw err;
        this.d.log.warn(`result of ${e.actionId} refused by the server (${errorCodeOf(err) ?? errText(err)}); dropped`);
      }
      this.d.journal.update(e.actionId, { state: "reported" });
    }
  }

  /** Start-up: settle what the previous run left behind, without running anything twice. */
  replay(): void {
    for (const e of this.d.journal.load()) {
      if (e.state === "executing" && e.type === "reboot") {
        // A reboot still waiting for its user (snoozed, quiet hours, final stage): resume the policy
        // where it was; at a passed deadline that is the final stage, never an instant reboot.
        this.d.log.info(`resuming the reboot policy of action ${e.actionId}`);
        this.d.journal.update(e.actionId, { state: "acked" });
      } else if (e.state === "executing") {
        this.d.journal.update(e.actionId, {
          state: "result",
          result: { status: "error", result: "agent stopped while running the action; not run again" },
        });
      } else if (e.state === "relaunching") {
        this.d.journal.update(e.actionId, {
          state: "result",
          result: { status: "done", result: "agent restarted", ...(e.outcome ? { outcome: e.outcome } : {}) },
        });
      } else if (e.state === "rebooting") {
        this.settleReboot(e);
      }
    }
  }

  /** After a start: did the machine boot after the reboot was requested? Done "rebooted at …", else error. */
  private settleReboot(e: JournalEntry): void {
    const now = this.d.now().getTime();
    const bootedAtMs = now - this.d.uptimeSeconds() * 1000;
    const requestedAtMs = Date.parse(e.rebootRequestedAt ?? e.updatedAt);
    const outcome = e.outcome ? { outcome: e.outcome } : {};
    // A second of slack: uptime is whole seconds on some systems.
    if (bootedAtMs > requestedAtMs - 1000) {
      const bootedAt = new Date(bootedAtMs).toISOString();
      this.emit(e.actionId, { kind: "came-back", at: new Date(now).toISOString(), bootedAt });
      this.d.journal.update(e.actionId, {
        state: "result",
        result: { status: "done", result: `rebooted at ${bootedAt}`, ...outcome },
      });
    } else {
      const since = new Date(bootedAtMs).toISOString();
      this.d.journal.update(e.actionId, {
        state: "result",
        result: {
          status: "error",
          result: `the reboot did not happen: the machine has been up since ${since}`,
          ...outcome,
        },
      });
    }
  }
}

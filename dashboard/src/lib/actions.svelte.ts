// Action state and services: an action history (one machine or the whole fleet) that polls for live
// status changes, and the calls that queue and cancel actions.
import {
  cancellableStatuses,
  type ActionSpec,
  type ActionStatus,
  type QueueSpec,
} from "../../../server/contract/index.ts";
import { errorCodeOf, handleError, type FieldErrors } from "./errors.ts";
import { language } from "./language.svelte.ts";
import type { Target } from "./fleet.svelte.ts";
import { toasts } from "./toasts.svelte.ts";
import { trpc, type RouterOutputs } from "./trpc.ts";
import { actionTypeWord, machinesWord, statusWord } from "./words.ts";

export type ActionView = RouterOutputs["actions"]["list"]["items"][number];

/** Statuses an admin can still cancel (from the one statuses module). */
export const cancellable: readonly ActionStatus[] = cancellableStatuses;

/** Filters of an action list (actions.list); times are ISO strings. */
export type ActionFilters = {
  machineId?: string;
  status?: ActionStatus;
  type?: ActionSpec["type"];
  createdBy?: string;
  bulkId?: string;
  from?: string;
  to?: string;
};

/**
 * A live, cursor-paged list of actions, newest first. Create one per view; poll `refresh()` in an
 * effect. A filter change starts again at the first page.
 */
export class ActionHistory {
  items = $state<ActionView[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  filters = $state<ActionFilters>({});
  nextCursor = $state<string | null>(null);
  pageIndex = $state(0);
  #cursor: string | null = null;
  #cursors: (string | null)[] = [];
  #latest = 0;

  constructor(readonly limit = 50) {}

  /** Shows other filters, from the first page. */
  setFilters(filters: ActionFilters): void {
    if (JSON.stringify(filters) === JSON.stringify(this.filters) && this.loaded) return;
    this.filters = filters;
    this.#cursor = null;
    this.#cursors = [];
    this.pageIndex = 0;
    void this.refresh();
  }

  nextPage(): void {
    if (!this.nextCursor) return;
    this.#cursors.push(this.#cursor);
    this.#cursor = this.nextCursor;
    this.pageIndex++;
    void this.refresh();
  }

  previousPage(): void {
    if (this.#cursors.length === 0) return;
    this.#cursor = this.#cursors.pop() ?? null;
    this.pageIndex--;
    void this.refresh();
  }

  async refresh(): Promise<void> {
    // A poll and a filter change can overlap: only the newest request's answer is shown, so a slow
    // answer for the old filter cannot replace the new one.
    const request = ++this.#latest;
    try {
      const f = this.filters;
      const r = await trpc.actions.list.query({
        limit: this.limit,
        cursor: this.#cursor,
        ...Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined && v !== "")),
      });
      if (request !== this.#latest) return;
      this.items = r.items;
      this.nextCursor = r.nextCursor ?? null;
      this.error = null;
    } catch (err) {
      if (request !== this.#latest) return;
      this.error = "Cannot load the action history. Retrying…";
      if (!this.loaded || errorCodeOf(err) === "UNAUTHORIZED") handleError(err, language.t("load.actions"));
    } finally {
      if (request === this.#latest) this.loaded = true;
    }
  }
}

/** What a send led to: field errors to show, a bulk job to open, or nothing more to do. */
export type SendOutcome = { fields: FieldErrors } | { bulkId: string; count: number } | { done: true };

/**
 * Sends one action. One machine: actions.queue (as fast as ever). Several machines or a filter: one
 * bulk job (bulk.create), whose page the caller opens. Other errors are reported as a toast.
 */
export async function sendAction(
  target: Target,
  spec: QueueSpec,
  expiresInSeconds: number | undefined,
): Promise<SendOutcome> {
  try {
    if (target.kind === "machines" && target.machines.length === 1) {
      const m = target.machines[0]!;
      await trpc.actions.queue.mutate({ machineId: m.machineId, ...spec, expiresInSeconds });
      toasts.push("success", language.t("send.sentTo", { type: label(spec.type), to: `${m.name} · ${m.machineId}` }));
      return { done: true };
    }
    const r = await trpc.bulk.create.mutate({
      target:
        target.kind === "machines"
          ? { machineIds: target.machines.map((m) => m.machineId) }
          : { filter: target.filter },
      ...spec,
      expiresInSeconds,
    });
    toasts.push(
      "success",
      language.t("send.sentTo", { type: label(spec.type), to: machinesWord(r.count, language.t) }),
    );
    return { bulkId: r.bulkId, count: r.count };
  } catch (err) {
    const fields = handleError(err, language.t("send.sending"));
    return fields ? { fields } : { fields: {} };
  }
}

/** Cancels a pending action; true when it was cancelled. */
export async function cancelAction(id: string): Promise<boolean> {
  try {
    const r = await trpc.actions.cancel.mutate({ id });
    toasts.push(
      "info",
      r.status === "cancelled"
        ? language.t("send.cancelled")
        : language.t("send.already", {
            status: statusWord(r.status, language.t).toLowerCase(),
          }),
    );
    return r.status === "cancelled";
  } catch (err) {
    handleError(err, language.t("send.cancelling"));
    return false;
  }
}

/** Human name of an action type, in the console's language. */
export function label(type: ActionSpec["type"]): string {
  return actionTypeWord(type, language.t);
}

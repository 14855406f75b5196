// Action state and services: an action history (one machine or the whole fleet) that polls for live
// status changes, and the calls that queue and cancel actions.
import type { ActionSpec, ActionStatus } from "../../../server/contract/index.ts";
import { errorCodeOf, handleError, type FieldErrors } from "./errors.ts";
import { toasts } from "./toasts.svelte.ts";
import { trpc, type RouterOutputs } from "./trpc.ts";

export type ActionView = RouterOutputs["actions"]["list"]["items"][number];

/** Statuses an admin can still cancel. */
export const cancellable: readonly ActionStatus[] = ["pending", "delivered"];

/** A live list of actions, newest first. Create one per view; call `start()` in an effect. */
export class ActionHistory {
  items = $state<ActionView[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  status = $state<ActionStatus | "all">("all");

  constructor(
    readonly machineId: string | null,
    readonly limit = 50,
  ) {}

  #latest = 0;

  async refresh(): Promise<void> {
    // A poll and a filter change can overlap: only the newest request's answer is shown, so a slow
    // answer for the old filter cannot replace the new one.
    const request = ++this.#latest;
    try {
      const r = await trpc.actions.list.query({
        limit: this.limit,
        ...(this.machineId ? { machineId: this.machineId } : {}),
        ...(this.status !== "all" ? { status: this.status } : {}),
      });
      if (request !== this.#latest) return;
      this.items = r.items;
      this.error = null;
    } catch (err) {
      if (request !== this.#latest) return;
      this.error = "Cannot load the action history. Retrying…";
      if (!this.loaded || errorCodeOf(err) === "UNAUTHORIZED") handleError(err, "Loading actions");
    } finally {
      this.loaded = true;
    }
  }
}

/**
 * Queues one action for one or many machines. Returns null on success, the field errors when the
 * server rejected some fields, or {} when another error was reported as a toast.
 */
export async function sendAction(
  machines: { machineId: string; hostname: string }[],
  spec: ActionSpec,
  expiresInSeconds: number | undefined,
): Promise<FieldErrors | null> {
  try {
    if (machines.length === 1) {
      await trpc.actions.queue.mutate({ machineId: machines[0]!.machineId, ...spec, expiresInSeconds });
      toasts.push("success", `${label(spec.type)} sent to ${machines[0]!.hostname}`);
    } else {
      const r = await trpc.actions.queueBulk.mutate({
        machineIds: machines.map((m) => m.machineId),
        ...spec,
        expiresInSeconds,
      });
      toasts.push("success", `${label(spec.type)} sent to ${r.ids.length} machines`);
    }
    return null;
  } catch (err) {
    return handleError(err, "Sending the action") ?? {};
  }
}

/** Cancels a pending action; true when it was cancelled. */
export async function cancelAction(id: string): Promise<boolean> {
  try {
    const r = await trpc.actions.cancel.mutate({ id });
    toasts.push("info", r.status === "cancelled" ? "Action cancelled" : `The action is already ${r.status}`);
    return r.status === "cancelled";
  } catch (err) {
    handleError(err, "Cancelling");
    return false;
  }
}

/** Human name of an action type. */
export function label(type: ActionSpec["type"]): string {
  return { message: "Message", restart: "Agent restart", reboot: "Reboot" }[type];
}

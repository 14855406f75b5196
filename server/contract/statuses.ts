// The one module of action statuses and their transitions. The contract, the server's state machine,
// the sweep, the fleet counters and the dashboard all import these lists; none writes its own.
import { z } from "zod";

export const actionStatuses = ["pending", "delivered", "executing", "done", "error", "cancelled", "expired", "unknown"] as const;
/** Lifecycle: pending → delivered (leased) → executing (acked) → done | error; or cancelled, expired, unknown. */
export const ActionStatus = z.enum(actionStatuses);
export type ActionStatus = z.infer<typeof ActionStatus>;

/**
 * Every allowed move, and nothing else. The rule for `unknown` is decided here once: it is final. A
 * result that arrives after an action became `unknown` is recorded on its timeline (a "late-result"
 * event) without changing the status, so what an admin saw as final never changes under them.
 * A result needs an ack first: `delivered` never moves to `done`/`error` directly.
 */
export const transitions: { readonly [S in ActionStatus]: readonly ActionStatus[] } = {
  pending: ["delivered", "cancelled", "expired"],
  // back to pending when the lease runs out; error after too many deliveries without an ack
  delivered: ["executing", "pending", "cancelled", "error"],
  executing: ["done", "error", "unknown"],
  done: [],
  error: [],
  cancelled: [],
  expired: [],
  unknown: [],
};

/** True when `from → to` is an allowed move. */
export function canMove(from: ActionStatus, to: ActionStatus): boolean {
  return transitions[from].includes(to);
}

/** Statuses from which an action never moves again. */
export const finalStatuses: readonly ActionStatus[] = actionStatuses.filter((s) => transitions[s].length === 0);
/** Statuses an admin may cancel from (the agent does not hold the action yet, or holds it unacknowledged). */
export const cancellableStatuses: readonly ActionStatus[] = actionStatuses.filter((s) => canMove(s, "cancelled"));
/** Work waiting for a machine: not yet acknowledged by its agent. */
export const waitingStatuses: readonly ActionStatus[] = ["pending", "delivered"];
/** Statuses from which an agent's result is accepted (with the current claim token). */
export const resultableStatuses: readonly ActionStatus[] = actionStatuses.filter((s) => canMove(s, "done"));

/** True once the action can never change again. */
export function isFinal(s: ActionStatus): boolean {
  return transitions[s].length === 0;
}

// The agent's progress channel (agent.progress): what the user is deciding while an action runs
// (prompt shown, snoozed n of max until T, final stage, restarting, came back, read). Each event is
// fenced by the claim token like a result, stored once (the agent numbers them: a resent `seq` is a
// no-op), put on the action's timeline as an ActionEvent with its kind and a sentence, and kept as the
// action's latest progress. A reboot's "came-back" with a boot time after the request finishes it
// (`done`); a boot time before the request means it never rebooted (`error`). An event kind that does
// not fit the action's type (contract progressKindsByType) is refused, naming `event.kind`.
import type { Deps } from "../context.ts";
import {
  cutText,
  progressKindFits,
  progressKindsByType,
  type ActionStatus,
  type ProgressEvent,
  type ProgressInput,
} from "../contract/index.ts";
import { lockRowsFor } from "../db/locks.ts";
import { conflict, invalid, notFound } from "../domain/errors.ts";
import { wakeIfWaiting, type AgentRef } from "./actionLifecycle.ts";
import { eventRow, moving } from "./actionMoves.ts";
import { parseJson, type StoredProgress } from "./actionViews.ts";

/** Statuses in which progress is recorded: running, or already final (then only on the timeline). */
const RECORDABLE: readonly ActionStatus[] = ["executing", "done", "error", "unknown"];

const choiceWords = {
  "restart-now": "the user chose Restart now",
  "countdown-elapsed": "the countdown ran out",
  "final-stage-elapsed": "the final countdown ran out",
  "no-user": "nobody was signed in",
} as const;

/** One human sentence for the timeline. Times stay ISO (the dashboard shows them in local time). */
export function describeProgress(e: ProgressEvent, type: string): string {
  switch (e.kind) {
    case "shown": {
      const parts = [type === "message" ? "shown to the user" : "prompt shown to the user"];
      if (e.deadlineAt) parts.push(`deadline ${e.deadlineAt}`);
      if (e.snoozesLeft !== undefined) parts.push(`${e.snoozesLeft} snooze${e.snoozesLeft === 1 ? "" : "s"} left`);
      return parts.join("; ");
    }
    case "waiting":
      return e.reason === "quiet-hours"
        ? `waiting for the maintenance window${e.until ? ` (opens ${e.until})` : ""}`
        : `waiting for a user to sign in${e.until ? ` (at the latest ${e.until})` : ""}`;
    case "snoozed":
      return `snoozed ${e.n} of ${e.max}, next prompt ${e.until}`;
    case "final-stage":
      return `final countdown started (cannot be snoozed); restarts at ${e.endsAt}`;
    case "restarting":
      return `restarting: ${choiceWords[e.choice]}`;
    case "came-back":
      return `came back: booted at ${e.bootedAt}`;
    case "acknowledged":
      return `read by the user at ${e.at}`;
  }
}

/** BAD_REQUEST on `event.kind`: e.g. "snoozed" for a message, "acknowledged" for a reboot. */
function kindMismatch(type: string, kind: string) {
  const fits = (progressKindsByType as Record<string, readonly string[]>)[type] ?? [];
  return invalid(
    "event.kind",
    `"${kind}" does not fit a ${type} action (it may report ${fits.map((k) => `"${k}"`).join(", ") || "nothing"})`,
  );
}

/**
 * Records one progress event. Returns the action's status after it and whether it was new. CONFLICT
 * for a stale claim token or an action the agent does not run (pending, delivered, cancelled, expired).
 */
export async function recordProgress(
  deps: Deps,
  agent: AgentRef,
  input: ProgressInput,
): Promise<{ status: ActionStatus; recorded: boolean }> {
  const { db, clock } = deps;
  const now = clock.now();
  const answer = await db.$transaction(async (tx) => {
    // PostgreSQL: two events of one action in flight at once (a call the agent gave up on still
    // running, and the next one) would both read the latest seq before either writes, and the older
    // could overwrite the newer. The row lock makes the second read after the first commits. SQLite
    // runs one transaction at a time already.
    await lockRowsFor(
      tx,
      `SELECT "id" FROM "Action" WHERE "id" = $1 AND "machineRef" = $2`,
      input.actionId,
      agent.machineRef,
    );
    const a = await tx.action.findFirst({
      where: { id: input.actionId, orgId: agent.orgId, machineRef: agent.machineRef },
      select: {
        status: true,
        claimToken: true,
        type: true,
        progress: true,
        result: true,
        outcome: true,
        deliveredAt: true,
        ackedAt: true,
      },
    });
    if (!a) throw notFound("No such action for this machine");
    if (a.claimToken !== input.claimToken) throw conflict("Stale claim token: this delivery is no longer yours");
    // After the fence (a stranger learns nothing of the action's type), before the dedup: never stored.
    if (!progressKindFits(a.type, input.event.kind)) throw kindMismatch(a.type, input.event.kind);
    const status = a.status as ActionStatus;
    if (!RECORDABLE.includes(status))
      throw conflict(`The action is ${status}; progress cannot be recorded (ack it first)`);
    const last = parseJson(a.progress) as StoredProgress | null;
    if (last && input.seq <= last.seq) return { status, recorded: false, wake: false };

    const e = input.event;
    const deadlineAt = ("deadlineAt" in e ? e.deadlineAt : undefined) ?? last?.deadlineAt ?? null;
    const stored: StoredProgress = { ...e, seq: input.seq, receivedAt: now.toISOString(), deadlineAt };
    await tx.action.updateMany({ where: { id: input.actionId, status }, data: { progress: JSON.stringify(stored) } });
    await tx.actionEvent.create({
      data: eventRow(input.actionId, status, now, cutText(describeProgress(e, a.type), 300), e.kind),
      select: { id: true },
    });
    if (!(e.kind === "came-back" && a.type === "reboot" && status === "executing"))
      return { status, recorded: true, wake: false };

    // The reboot's end: after the request (boot time later than the delivery) it rebooted; else it did not.
    const requestedAt = a.deliveredAt ?? a.ackedAt ?? now;
    const rebooted = Date.parse(e.bootedAt) > requestedAt.getTime();
    const to = rebooted ? "done" : "error";
    const result = rebooted
      ? (a.result ?? `rebooted at ${e.bootedAt}`)
      : `did not reboot: the machine last booted at ${e.bootedAt}, before the request (${requestedAt.toISOString()})`;
    await tx.action.updateMany({
      where: { id: input.actionId, status: moving("executing", to), claimToken: input.claimToken },
      data: { status: to, result, outcome: rebooted ? a.outcome : null, finishedAt: now, leaseUntil: null },
    });
    await tx.actionEvent.create({
      data: eventRow(input.actionId, to, now, cutText(result, 200)),
      select: { id: true },
    });
    return { status: to as ActionStatus, recorded: true, wake: await wakeIfWaiting(tx, a.type, agent.machineRef) };
  });
  if (answer.wake) deps.services.dispatch.workAvailable(agent.machineRef);
  return { status: answer.status, recorded: answer.recorded };
}

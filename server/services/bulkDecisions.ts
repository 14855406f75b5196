// What the users of a bulk reboot decided, for its page: rebooted / snoozed / waiting / declined,
// read from each action's latest progress (Action.progress, JSON text) and outcome. Plain Prisma
// counts over the job's actions (the bulkId index) with text matches, so the same code runs on SQLite
// and PostgreSQL (no json_extract / ->> dialect split).
import type { Db } from "../db.ts";

/** Counts of a bulk job's actions by what the user decided (a reboot's progress). */
export type BulkDecisions = { rebooted: number; snoozed: number; waiting: number; declined: number };

const kind = (k: string) => ({ progress: { contains: `"kind":"${k}"` } });

/**
 * rebooted: done (a reboot is done only after the agent saw the machine come back);
 * snoozed: running, the user's last answer a snooze; waiting: running, a prompt on screen, the final
 * countdown, or waiting for the window or a user; declined: the user said no (outcome.userChoice).
 */
export async function decisionCounts(db: Db, bulkId: string): Promise<BulkDecisions> {
  const executing = { bulkId, status: "executing" };
  const [rebooted, snoozed, waiting, declined] = await Promise.all([
    db.action.count({ where: { bulkId, status: "done" } }),
    db.action.count({ where: { ...executing, ...kind("snoozed") } }),
    db.action.count({ where: { ...executing, OR: [kind("shown"), kind("waiting"), kind("final-stage")] } }),
    db.action.count({ where: { bulkId, outcome: { contains: `"userChoice":"declined"` } } }),
  ]);
  return { rebooted, snoozed, waiting, declined };
}

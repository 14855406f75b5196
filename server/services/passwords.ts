// Password reset by an operator (the CLI): a new password for a user of an organization found by email
// (emails are unique per organization), every session of that user ended, audited in the same transaction.
import type { Clock } from "../clock.ts";
import type { Db } from "../db.ts";
import { notFound } from "../domain/errors.ts";
import { writeAudit } from "./audit.ts";
import { hashPassword } from "./crypto.ts";

/** Sets a user's password and signs them out everywhere. Unknown email → NOT_FOUND. */
export async function resetPassword(
  deps: { db: Db; clock: Clock },
  args: { orgId: string; email: string; password: string; actor: string },
): Promise<{ userId: string; email: string; sessionsEnded: number }> {
  const { db, clock } = deps;
  const user = await db.user.findUnique({
    where: { orgId_email: { orgId: args.orgId, email: args.email } },
    select: { id: true, orgId: true, email: true },
  });
  if (!user) throw notFound(`No user with email ${args.email} in this organization`);
  const passwordHash = await hashPassword(args.password);
  const now = clock.now();
  const sessionsEnded = await db.$transaction(async (tx) => {
    await tx.user.update({ where: { id: user.id }, data: { passwordHash }, select: { id: true } });
    const { count } = await tx.session.deleteMany({ where: { userId: user.id } });
    await writeAudit(tx, {
      orgId: user.orgId,
      actor: args.actor,
      action: "users.resetPassword",
      target: user.id,
      detail: { email: user.email, sessionsEnded: count },
      at: now,
    });
    return count;
  });
  return { userId: user.id, email: user.email, sessionsEnded };
}

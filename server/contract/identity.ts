// Identity shapes shared by the server, the agent and the dashboard: enrollment input, retirement,
// re-enrollment requests and one-time enrollment tokens.
import { z } from "zod";
import { MachineId, MachineIdentity } from "./metrics.ts";

/** A secret as the agent may send it back (a current machine token, a one-time enrollment token). */
const SecretText = z.string().min(1).max(200);

/**
 * agent.enroll input. The agent (enrollment) key enrolls NEW machine ids only; an existing id also needs
 * one of: the machine's current token (`currentToken`, or the token itself as the bearer), an admin's
 * approval of the pending request, or an admin-issued one-time `enrollToken` for that machine.
 */
export const EnrollInput = MachineIdentity.extend({
  currentToken: SecretText.optional(),
  enrollToken: SecretText.optional(),
}).strict();
export type EnrollInput = z.infer<typeof EnrollInput>;

/** machines.retire / approveReenroll / enrollToken input. */
export const MachineRefInput = z.object({ machineId: MachineId }).strict();

/** machines.enrollToken input: how long the one-time token stays valid (default 24 h, at most 30 days). */
export const EnrollTokenInput = z
  .object({
    machineId: MachineId,
    expiresInSeconds: z
      .number()
      .int()
      .min(60)
      .max(30 * 86_400)
      .default(86_400),
  })
  .strict();

/** A re-enrollment waiting for an admin (what the agent said about itself when it asked). */
export type ReenrollRequestView = {
  machineId: string;
  name: string;
  requestedAt: string;
  hostname: string | null;
  os: string | null;
  agentVersion: string | null;
  address: string | null;
  approvedUntil: string | null;
  retired: boolean;
};

// agent.*: what the tray agent calls. Enrollment takes an agent key (new machine ids; see
// services/enrollment.ts for re-enrollment); everything after it a machine token, which sees only its
// own machine. The original design's flow (an agent key and an explicit machine id) is accepted for
// pendingActions, ack and reportResult only in organizations in legacy mode.
import { z } from "zod";
import {
  AckInput,
  BrandingQuery,
  EnrollInput,
  MachineId,
  MachineIdentity,
  MetricReport,
  ProgressInput,
  ResultInput,
} from "../contract/index.ts";
import { ackAction, claimActions, reportResult } from "../services/actions.ts";
import { enroll } from "../services/enrollment.ts";
import { machineForAgent } from "../services/machineDirectory.ts";
import { recordReport } from "../services/machines.ts";
import { recordProgress } from "../services/progress.ts";
import { brandingForMachine } from "../services/settings.ts";
import { agentProcedure, machineProcedure, router, type AgentPrincipal } from "../trpc.ts";
import type { Context } from "../context.ts";

/** agent.report input (also checked by the HTTP fast path for reports, server/http/fastPoll.ts). */
export const ReportInput = z
  .object({ metrics: MetricReport, identity: MachineIdentity.omit({ machineId: true }).partial().optional() })
  .strict();

/** Which machine an agent call is about (see machineForAgent). */
function machineOf(ctx: Context & { agent: AgentPrincipal }, machineId: string | undefined) {
  return machineForAgent(ctx.services.principals.directory, ctx.agent, machineId);
}

/** Coalesces wake-ups: next() resolves true after at least one notify(), false once aborted. */
function wakeQueue(signal: AbortSignal | undefined) {
  let pending = false;
  let resolve: ((more: boolean) => void) | null = null;
  const settle = (more: boolean) => {
    const r = resolve;
    resolve = null;
    r?.(more);
  };
  signal?.addEventListener("abort", () => settle(false), { once: true });
  return {
    notify: () => {
      pending = true;
      settle(true);
    },
    next: (): Promise<boolean> => {
      if (signal?.aborted) return Promise.resolve(false);
      if (pending) {
        pending = false;
        return Promise.resolve(true);
      }
      return new Promise<boolean>((r) => (resolve = r)).then((more) => {
        pending = false;
        return more;
      });
    },
  };
}

/** The wake-ups of one push stream until `signal` aborts (client gone, replaced, or machine retired). */
async function* wakeStream(
  ctx: Context & { machine: { machineRef: string } },
  signal: AbortSignal,
  release: () => void,
) {
  const { dispatch } = ctx.services;
  const wakes = wakeQueue(signal);
  const off = dispatch.onWork(ctx.machine.machineRef, wakes.notify);
  try {
    if (dispatch.mayHaveWork(ctx.machine.machineRef)) yield { kind: "wake" as const };
    while (await wakes.next()) yield { kind: "wake" as const };
  } finally {
    off();
    release();
  }
}

function limitAgent(ctx: Context, machineRef: string, what: string) {
  ctx.services.limiter.hit(`${what}:${machineRef}`, ctx.config.limits.agentPerMinute, what);
}

export const agentRouter = router({
  /**
   * Agent key → a per-machine token for a NEW machine id. An existing id also needs its current token
   * (as the bearer or `currentToken`), an admin's approval, or a one-time `enrollToken`; otherwise the
   * attempt is recorded as "re-enrollment pending" and refused (FORBIDDEN). Re-enrolling replaces the
   * old token in every server process. Rate-limited per key (or machine) and per address.
   */
  enroll: agentProcedure.input(EnrollInput).mutation(async ({ ctx, input }) => {
    const { enrollLimits } = ctx.services;
    await enrollLimits.hit(
      `enroll:${ctx.agent.kind === "key" ? ctx.agent.keyId : ctx.agent.machineRef}`,
      "enrollments",
    );
    await enrollLimits.hit(`enroll-address:${ctx.req.ip}`, "enrollments from this address");
    const caller = ctx.agent.kind === "key" ? { ...ctx.agent, kind: "key" as const } : ctx.agent;
    const r = await enroll(ctx.db, ctx.clock, caller, input, {
      reportIntervalSec: ctx.config.reportIntervalSeconds,
      defaultQuota: ctx.config.identity.machineQuota,
      address: ctx.req.ip,
    });
    // This process forgets the old token now; the others within a second (the invalidation row).
    if (r.how !== "new") ctx.services.principals.apply({ kind: "machine", target: r.machineRef });
    ctx.services.principals.learnMachine(r.machineToken, {
      orgId: ctx.agent.orgId,
      machineRef: r.machineRef,
      machineId: input.machineId,
    });
    return {
      machineToken: r.machineToken,
      machineId: input.machineId,
      reportIntervalSeconds: ctx.config.reportIntervalSeconds,
    };
  }),

  /** Metrics (and identity changes, e.g. a new agent version) → when to report next. */
  report: machineProcedure.input(ReportInput).mutation(async ({ ctx, input }) => {
    limitAgent(ctx, ctx.machine.machineRef, "reports");
    await recordReport(ctx.db, ctx.clock, ctx.machine.machineRef, input.metrics, input.identity);
    return { nextReportInSeconds: ctx.config.reportIntervalSeconds };
  }),

  /**
   * Push channel (server-sent events): yields a "wake" whenever work may be deliverable for this
   * machine, and once at connect if some already is. A wake carries no action: the agent then claims
   * through pendingActions, so exactly-once delivery stays in the claim.
   */
  actionStream: machineProcedure.subscription(({ ctx, signal }) => {
    // At most DASHFLEET_STREAMS_PER_MACHINE per token (a new stream ends the oldest) and
    // DASHFLEET_STREAMS_PER_PROCESS in all (beyond: SERVICE_UNAVAILABLE before the stream starts).
    const held = ctx.services.streams.open(ctx.machine.machineRef);
    const ends = signal ? AbortSignal.any([signal, held.signal]) : held.signal;
    ends.addEventListener("abort", held.release, { once: true }); // also when the stream never started
    return wakeStream(ctx, ends, held.release);
  }),

  /** Claims this machine's deliverable actions (oldest first, at most 10, each with a claim token). */
  pendingActions: agentProcedure
    .input(z.object({ machineId: MachineId.optional() }).strict().default({}))
    .query(async ({ ctx, input }) => {
      const m = await machineOf(ctx, input.machineId);
      limitAgent(ctx, m.machineRef, "polls");
      const actions = await claimActions(ctx, m.machineRef);
      return { actions };
    }),

  /** The agent is about to run it: → executing. A stale token is refused (do not run). */
  ack: agentProcedure.input(AckInput.extend({ machineId: MachineId.optional() })).mutation(async ({ ctx, input }) => {
    const m = await machineOf(ctx, input.machineId);
    return ackAction(ctx, m, input);
  }),

  /** done | error with the agent's text and, for confirmations, what the user chose. */
  reportResult: agentProcedure
    .input(ResultInput.extend({ machineId: MachineId.optional() }))
    .mutation(async ({ ctx, input }) => {
      const m = await machineOf(ctx, input.machineId);
      limitAgent(ctx, m.machineRef, "results");
      return reportResult(ctx, m, input);
    }),

  /**
   * What the user is deciding (shown, snoozed, final stage, restarting, came back, read), fenced by the
   * claim token, stored once per `seq`, on the action's timeline. Machine token only.
   */
  progress: machineProcedure.input(ProgressInput).mutation(async ({ ctx, input }) => {
    limitAgent(ctx, ctx.machine.machineRef, "progress reports");
    return recordProgress(ctx, ctx.machine, input);
  }),

  /**
   * The organisation's branding for the end-user windows (contract Branding: name, support text, logo).
   * With {etag?} (the agent): BrandingAnswer, the logo left out while the agent's etag is current.
   */
  branding: machineProcedure
    .input(BrandingQuery.optional())
    .query(({ ctx, input }) =>
      input ? brandingForMachine(ctx.db, ctx.machine.orgId, input) : brandingForMachine(ctx.db, ctx.machine.orgId),
    ),
});

// agent.*: what the tray agent calls. Enrollment takes an agent key; everything after it a machine
// token, which sees only its own machine. The original design's flow (an agent key and an explicit
// machine id) is accepted for pendingActions, ack and reportResult.
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { AckInput, MachineId, MachineIdentity, MetricReport, ResultInput } from "../contract/index.ts";
import { ackAction, claimActions, reportResult } from "../services/actions.ts";
import { enrollMachine, machineForAgent, recordReport } from "../services/machines.ts";
import { agentProcedure, machineProcedure, router, type AgentPrincipal } from "../trpc.ts";
import type { Context } from "../context.ts";

/** agent.report input (also checked by the HTTP fast path for reports, server/http/fastPoll.ts). */
export const ReportInput = z.object({ metrics: MetricReport, identity: MachineIdentity.omit({ machineId: true }).partial().optional() }).strict();

/** Which machine an agent call is about (see machineForAgent). */
function machineOf(ctx: Context & { agent: AgentPrincipal }, machineId: string | undefined) {
  return machineForAgent(ctx.db, ctx.agent, machineId);
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

function limitAgent(ctx: Context, machineRef: string, what: string) {
  ctx.services.limiter.hit(`${what}:${machineRef}`, ctx.config.limits.agentPerMinute, what);
}

export const agentRouter = router({
  /** Agent key → a per-machine token (re-enrolling replaces the old token). */
  enroll: agentProcedure.input(MachineIdentity).mutation(async ({ ctx, input }) => {
    if (ctx.agent.kind !== "key") throw new TRPCError({ code: "FORBIDDEN", message: "Enroll with an agent key, not a machine token" });
    const { machineToken, machineRef } = await enrollMachine(ctx.db, ctx.clock, ctx.agent.orgId, input, ctx.config.reportIntervalSeconds);
    ctx.services.principals.forgetMachine(machineRef);
    return { machineToken, machineId: input.machineId, reportIntervalSeconds: ctx.config.reportIntervalSeconds };
  }),

  /** Metrics (and identity changes, e.g. a new agent version) → when to report next. */
  report: machineProcedure
    .input(ReportInput)
    .mutation(async ({ ctx, input }) => {
      limitAgent(ctx, ctx.machine.machineRef, "reports");
      await recordReport(ctx.db, ctx.clock, ctx.machine.machineRef, input.metrics, input.identity);
      return { nextReportInSeconds: ctx.config.reportIntervalSeconds };
    }),

  /**
   * Push channel (server-sent events): yields a "wake" whenever work may be deliverable for this
   * machine, and once at connect if some already is. A wake carries no action: the agent then claims
   * through pendingActions, so exactly-once delivery stays in the claim.
   */
  actionStream: machineProcedure.subscription(async function* ({ ctx, signal }) {
    const { dispatch } = ctx.services;
    const wakes = wakeQueue(signal);
    const off = dispatch.onWork(ctx.machine.machineRef, wakes.notify);
    try {
      if (dispatch.mayHaveWork(ctx.machine.machineRef)) yield { kind: "wake" as const };
      while (await wakes.next()) yield { kind: "wake" as const };
    } finally {
      off();
    }
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
  reportResult: agentProcedure.input(ResultInput.extend({ machineId: MachineId.optional() })).mutation(async ({ ctx, input }) => {
    const m = await machineOf(ctx, input.machineId);
    limitAgent(ctx, m.machineRef, "results");
    return reportResult(ctx, m, input);
  }),
});

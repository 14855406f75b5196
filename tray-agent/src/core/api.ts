// The agent's view of the server: the agent.* procedures it calls over tRPC (httpLink), with a request
// timeout, and a classification of failures the agent loop acts on.
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import type {
  ActionOutcome,
  BrandingAnswer,
  MachineIdentity,
  MetricReport,
  ProgressInput,
  ResultStatus,
} from "../../../server/contract/index.ts";
import type { AppRouter } from "../../../server/routers/_app.ts";

/** What the agent calls. A fake implements it in unit tests; integration tests use the real one. */
export interface AgentApi {
  /** `currentToken`: the machine's saved token, which re-enrolling a known machine id requires. */
  enroll(
    identity: MachineIdentity,
    currentToken?: string,
  ): Promise<{ machineToken: string; reportIntervalSeconds: number }>;
  report(input: {
    metrics: MetricReport;
    identity?: Partial<Omit<MachineIdentity, "machineId">>;
  }): Promise<{ nextReportInSeconds: number }>;
  /** Raw delivered actions: the agent validates each one itself. */
  pendingActions(): Promise<{ actions: unknown[] }>;
  ack(input: { actionId: string; claimToken: string }): Promise<unknown>;
  reportResult(input: {
    actionId: string;
    claimToken: string;
    status: ResultStatus;
    result: string;
    outcome?: ActionOutcome;
  }): Promise<{ duplicate: boolean }>;
  /** One progress event of an action waiting for its user (idempotent by seq). */
  progress(input: ProgressInput): Promise<unknown>;
  /** The organisation's branding; without its logo when `etag` (the held one) is still current. */
  branding(etag: string | null): Promise<BrandingAnswer>;
}

/** Per-request timeout: a hung connection must not stall the agent. */
const REQUEST_TIMEOUT_MS = 15_000;

/** The real API over HTTP. `token()` is read on every call (it changes after enrollment). */
export function createAgentApi(serverUrl: string, token: () => string | null): AgentApi {
  const client = createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${serverUrl}/trpc`,
        headers: () => {
          const t = token();
          return t ? { authorization: `Bearer ${t}` } : {};
        },
        fetch: (input, init) =>
          fetch(input, { ...(init as RequestInit), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }),
      }),
    ],
  });
  return {
    // Re-enrolling a known machine id needs its current token (identity rules, issue 10).
    enroll: (identity, currentToken) =>
      client.agent.enroll.mutate({
        ...identity,
        ...(currentToken ? { currentToken } : {}),
      }),
    report: (input) => client.agent.report.mutate(input),
    pendingActions: async () => ({ actions: (await client.agent.pendingActions.query({})).actions }),
    ack: (input) => client.agent.ack.mutate(input),
    reportResult: (input) => client.agent.reportResult.mutate(input),
    // An older server has no agent.progress: it answers NOT_FOUND ("no procedure"), which the agent
    // logs once and then stops sending (the results still carry what happened).
    progress: (input) => client.agent.progress.mutate(input),
    // The input makes the server answer with an etag (and no logo while it is current); see branding.ts.
    branding: async (etag) => (await client.agent.branding.query(etag ? { etag } : {})) as BrandingAnswer,
  };
}

/** How a failed call should be treated. */
export type FailureKind =
  /** Network down, timeout, 5xx, rate limit: retry later with backoff. */
  | "unreachable"
  /** The token is not (or no longer) valid: enroll again if we can. */
  | "unauthorized"
  /** The server refused this request for good (CONFLICT, NOT_FOUND, BAD_REQUEST, FORBIDDEN). */
  | "rejected";

/** The tRPC error code of an error, if the server sent one. */
export function errorCodeOf(err: unknown): string | null {
  if (err instanceof TRPCClientError) return (err.data as { code?: string } | undefined)?.code ?? null;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[A-Z_]+$/.test(code) ? code : null;
}

export function classifyFailure(err: unknown): FailureKind {
  const code = errorCodeOf(err);
  if (code === "UNAUTHORIZED") return "unauthorized";
  if (
    code === "CONFLICT" ||
    code === "NOT_FOUND" ||
    code === "BAD_REQUEST" ||
    code === "FORBIDDEN" ||
    code === "PRECONDITION_FAILED"
  )
    return "rejected";
  return "unreachable";
}

// The original design's REST endpoints, kept for existing scripts and agents, with their JSON shapes:
//   POST /api/actions/queue   (admin key)  {machine_id, action_type, data}  → 201 {ok, action_id}
//   GET  /api/actions/pending?machine_id=  (machine token; agent key in legacy mode) → {actions: [{action_id, type, data, claim_token}]}
//   POST /api/actions/report  (machine token; agent key in legacy mode) {action_id, claim_token, status, result} → {ok}
// They share the services (and so the lifecycle, leases and rate limits) of the tRPC procedures. The
// agent key + machine_id form is the organization's legacy mode (off for new organizations); a report
// must carry the claim token of the delivery it answers, so a stale holder cannot finish an action
// that was delivered again to another poll (hostile review, finding 3).
import type { IncomingMessage, ServerResponse } from "node:http";
import { TRPCError } from "@trpc/server";
import { DomainError, toTRPCError } from "../domain/errors.ts";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { z } from "zod";
import type { AppDeps, Principal } from "../context.ts";
import { ExpiresInSeconds, MachineId, RESULT_MAX, ResultStatus } from "../contract/index.ts";
import { ackAction, claimActions, queueActions, reportResult } from "../services/actions.ts";
import { assertWellFormedText, storageError } from "../services/errors.ts";
import { machineForAgent } from "../services/machineDirectory.ts";
import { resolveActionData } from "../services/settings.ts";
import { asAgent } from "../trpc.ts";
import { bearerOf } from "./context.ts";
import { SECURITY_HEADERS } from "./static.ts";

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers }).end(JSON.stringify(body));
}

const EMPTY_POLL = JSON.stringify({ actions: [] });
/** A 200 with a fixed JSON text: with its length stated, Node sends head and body in one write. */
function sendText(res: ServerResponse, text: string): void {
  res
    .writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) })
    .end(text);
}

/** The empty poll's whole head, security headers included, built once (see answerPendingNow). */
const EMPTY_POLL_HEAD: string[] = [
  ...SECURITY_HEADERS,
  "content-type",
  "application/json; charset=utf-8",
  "content-length",
  String(Buffer.byteLength(EMPTY_POLL)),
];
/**
 * GET /api/actions/pending with no query or only a plain `machine_id` (characters a MachineId allows,
 * none that URL decoding or trimming would change): anything else takes the full route.
 */
const PLAIN_PENDING = /^\/api\/actions\/pending(?:\?machine_id=([A-Za-z0-9_.:@-]{1,128}))?$/;

/**
 * The original design's empty poll, answered before anything else and without a promise, when every
 * step of the full route below is known from the caches: the credential resolved before
 * (principals.cached), its machine (a machine token's own, or in legacy mode the agent key's named
 * machine, both cached), nothing due for it, and the poll within its rate limit. The head is written
 * whole, security headers included (the caller sets them on every other answer). Returns false,
 * having written nothing, otherwise: the full route then answers (and counts a refusal over the
 * limit once more). Whether work is due is read before the limit is counted, so a poll that goes on
 * to the full route is counted once, there.
 */
export function answerPendingNow(deps: AppDeps, req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== "GET") return false;
  const path = PLAIN_PENDING.exec(req.url ?? "");
  if (!path) return false;
  const bearer = bearerOf(req);
  const p = bearer ? deps.services.principals.cached(bearer) : undefined;
  if (!p) return false;
  const machineId = path[1];
  let machineRef: string | undefined;
  if (p.kind === "machine")
    machineRef = machineId === undefined || machineId === p.machineId ? p.machineRef : undefined;
  else if (p.kind === "key" && machineId !== undefined && p.scopes.includes("agent"))
    machineRef = deps.services.principals.directory.cachedLegacy(p.orgId, machineId);
  if (machineRef === undefined || deps.services.dispatch.mayHaveWork(machineRef)) return false;
  try {
    deps.services.limiter.hit(`polls:${machineRef}`, deps.config.limits.agentPerMinute, "polls");
  } catch {
    return false;
  }
  res.writeHead(200, EMPTY_POLL_HEAD).end(EMPTY_POLL);
  return true;
}

async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes)
      throw new TRPCError({ code: "PAYLOAD_TOO_LARGE", message: `Body larger than ${maxBytes} bytes` });
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new TRPCError({ code: "BAD_REQUEST", message: "Invalid JSON" });
  }
  assertWellFormedText(body);
  return body;
}

function fieldError(err: z.ZodError): TRPCError {
  const i = err.issues[0];
  return new TRPCError({ code: "BAD_REQUEST", message: `${i?.path.join(".") || "body"}: ${i?.message ?? "invalid"}` });
}

const QueueBody = z.object({
  machine_id: MachineId,
  action_type: z.unknown(),
  data: z.unknown().optional(),
  expires_in_seconds: ExpiresInSeconds.optional(),
});
const ReportBody = z.object({
  action_id: z.string().uuid(),
  claim_token: z
    .string({ error: "required: send the claim_token of the delivery (from /api/actions/pending)" })
    .min(1)
    .max(100),
  status: ResultStatus,
  result: z.string().max(RESULT_MAX).default(""),
  machine_id: MachineId.optional(),
});

function requirePrincipal(p: Principal | null): Principal {
  if (!p) throw new TRPCError({ code: "UNAUTHORIZED", message: "Unauthorized: send Authorization: Bearer KEY" });
  return p;
}

/** The machine an agent call is for: the token's machine, or the explicit machine_id with an agent key. */
function agentMachine(deps: AppDeps, p: Principal, machineId: string | undefined) {
  const agent = asAgent(p);
  if (!agent) throw new TRPCError({ code: "FORBIDDEN", message: "This needs an agent key or a machine token" });
  return machineForAgent(deps.services.principals.directory, agent, machineId, "machine_id");
}

function parseUrl(raw: string): { pathname: string; searchParams: URLSearchParams } {
  const q = raw.indexOf("?");
  return q < 0
    ? { pathname: raw, searchParams: new URLSearchParams() }
    : { pathname: raw.slice(0, q), searchParams: new URLSearchParams(raw.slice(q + 1)) };
}

async function route(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // WHATWG URL parsing was 2 % of an empty poll's CPU; only the path and one query parameter are read.
  const url = parseUrl(req.url ?? "/");
  const bearer = bearerOf(req);
  // Cookies are not accepted here: these endpoints are for scripts and agents.
  const principal = bearer ? await deps.services.principals.fromBearer(bearer) : null;

  if (url.pathname === "/api/actions/queue" && req.method === "POST") {
    const p = requirePrincipal(principal);
    if (p.kind !== "key" || !p.scopes.includes("admin"))
      throw new TRPCError({ code: "FORBIDDEN", message: "Queueing needs an admin-scoped key" });
    const body = QueueBody.safeParse(await readJson(req, deps.config.maxBodyBytes));
    if (!body.success) throw fieldError(body.error);
    if (!body.data.action_type)
      throw new TRPCError({ code: "BAD_REQUEST", message: "Missing machine_id or action_type" });
    const spec = await resolveActionData(deps, p.orgId, { type: body.data.action_type, data: body.data.data });
    const actor = `key:${p.name}`;
    deps.services.limiter.hit(`queue:${actor}:${p.orgId}`, deps.config.limits.queuePerMinute, "queued actions");
    const [id] = await queueActions(
      deps,
      { orgId: p.orgId, actor },
      {
        machineIds: [body.data.machine_id],
        spec,
        expiresInSeconds: body.data.expires_in_seconds,
        via: "rest.actions.queue",
      },
    );
    return send(res, 201, { ok: true, action_id: id });
  }

  if (url.pathname === "/api/actions/pending" && req.method === "GET") {
    const p = requirePrincipal(principal);
    const machineId = url.searchParams.get("machine_id") ?? undefined;
    if (machineId !== undefined && !MachineId.safeParse(machineId).success)
      throw new TRPCError({ code: "BAD_REQUEST", message: "machine_id: invalid machine id" });
    const m = await agentMachine(deps, p, machineId);
    deps.services.limiter.hit(`polls:${m.machineRef}`, deps.config.limits.agentPerMinute, "polls");
    // Most polls find nothing due (the dispatch index, no query): answer the fixed body at once.
    if (!deps.services.dispatch.mayHaveWork(m.machineRef)) return sendText(res, EMPTY_POLL);
    const actions = await claimActions(deps, m.machineRef);
    // The original design's agents have no ack: they run what they receive at once (a restart execs
    // before it can report). So a REST delivery is the start of execution, acknowledged here; otherwise
    // the lease would hand it out again after the agent restarted (the original defect).
    for (const a of actions) await ackAction(deps, m, { actionId: a.id, claimToken: a.claimToken });
    return send(res, 200, {
      actions: actions.map((a) => ({ action_id: a.id, type: a.type, data: a.data, claim_token: a.claimToken })),
    });
  }

  if (url.pathname === "/api/actions/report" && req.method === "POST") {
    const p = requirePrincipal(principal);
    const body = ReportBody.safeParse(await readJson(req, deps.config.maxBodyBytes));
    if (!body.success) throw fieldError(body.error);
    const m = await agentMachineForAction(deps, p, body.data.action_id, body.data.machine_id);
    deps.services.limiter.hit(`results:${m.machineRef}`, deps.config.limits.agentPerMinute, "results");
    const r = await reportResult(deps, m, {
      actionId: body.data.action_id,
      claimToken: body.data.claim_token,
      status: body.data.status,
      result: body.data.result,
    });
    return send(res, 200, { ok: true, status: r.status, duplicate: r.duplicate });
  }

  throw new TRPCError({ code: "NOT_FOUND", message: "No such endpoint" });
}

/** For reports the original design sends no machine id: with an agent key (legacy mode), the action names it. */
async function agentMachineForAction(deps: AppDeps, p: Principal, actionId: string, machineId: string | undefined) {
  if (p.kind === "key" && p.scopes.includes("agent") && !machineId) {
    await deps.services.principals.directory.assertLegacy(p.orgId);
    const a = await deps.db.action.findFirst({ where: { id: actionId, orgId: p.orgId }, select: { machineRef: true } });
    if (!a) throw new TRPCError({ code: "NOT_FOUND", message: "No such action" });
    return { orgId: p.orgId, machineRef: a.machineRef };
  }
  return agentMachine(deps, p, machineId);
}

/** Answers a REST request; errors become `{error}` with the HTTP status of their tRPC code. */
export async function handleRest(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    await route(deps, req, res);
  } catch (caught) {
    const err =
      caught instanceof TRPCError
        ? caught
        : caught instanceof DomainError
          ? toTRPCError(caught)
          : (storageError(caught) ?? caught);
    if (!(err instanceof TRPCError)) throw err;
    const status = getHTTPStatusCodeFromError(err);
    const cause = err.cause as { retryAfterSeconds?: number } | undefined;
    const headers: Record<string, string> = cause?.retryAfterSeconds
      ? { "retry-after": String(cause.retryAfterSeconds) }
      : {};
    send(res, status, { error: err.message }, headers);
  }
}

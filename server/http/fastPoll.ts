// The hot requests, answered without the tRPC machinery (and one refusal: a push stream beyond the
// process cap, see streamsFull): an agent's poll when nothing is waiting for its machine, a valid
// metric report, and a single-call actions.queue with an admin key (scripts queueing one call at a
// time: 2,000/s is a target, and through the adapter one call cost more than the commit it waits for). The tRPC handler turns every request
// into a Fetch Request/Response pair with web streams, which costs several times what answering takes.
// Here the same credential check, the same input schema and text check, the same rate limit and the
// same service run, and the body is what tRPC would send. Anything else (work may be waiting, another
// input, a bad credential or body, a limit reached, a failed write) falls through to tRPC, which
// answers it as usual, so every error keeps tRPC's shape. The most frequent of them, an empty poll
// whose token resolved before, does not even wait for a promise (answerEmptyPollNow, called first).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AppDeps } from "../context.ts";
import { DomainError } from "../domain/errors.ts";
import { QueueInput } from "../routers/actions.ts";
import { ReportInput } from "../routers/agent.ts";
import { queueActions } from "../services/actions.ts";
import { assertWellFormedText } from "../services/errors.ts";
import { recordReport } from "../services/machines.ts";
import { queueBudgetKey } from "../services/rateLimit.ts";
import { resolveActionData } from "../services/settings.ts";
import { asAdmin } from "../trpc.ts";
import { bearerOf } from "./context.ts";
import { SECURITY_HEADERS } from "./static.ts";

/**
 * A string, not a Buffer: Node sends the head and a string body in one write(); a Buffer body goes out
 * as a writev of two buffers, which cost ~10 % more CPU per empty poll here (writev was a fifth of the
 * server's profile under wrk).
 */
const EMPTY = JSON.stringify({ result: { data: { actions: [] } } });
const EMPTY_LENGTH = Buffer.byteLength(EMPTY);
/** The paths an input-less `agent.pendingActions` query arrives on (no input, or `{}` as the agent sends). */
const POLL_PATHS = new Set([
  "/trpc/agent.pendingActions",
  "/trpc/agent.pendingActions?input=%7B%7D",
  "/trpc/agent.pendingActions?input={}",
]);
const HEADERS = { "content-type": "application/json", vary: "trpc-accept, accept" };
/** The empty poll's whole head, security headers included, built once (see answerEmptyPollNow). */
const POLL_HEAD: string[] = [
  ...SECURITY_HEADERS,
  "content-type",
  "application/json",
  "vary",
  "trpc-accept, accept",
  "content-length",
  String(EMPTY_LENGTH),
];

async function machineOf(deps: AppDeps, req: IncomingMessage) {
  const bearer = bearerOf(req);
  if (!bearer) return null;
  const p = await deps.services.principals.fromBearer(bearer);
  return p?.kind === "machine" ? p : null;
}

function withinLimit(deps: AppDeps, key: string, what: string): boolean {
  try {
    deps.services.limiter.hit(key, deps.config.limits.agentPerMinute, what);
    return true;
  } catch {
    return false; // over the limit: tRPC answers TOO_MANY_REQUESTS with its retry hint (one more hit is harmless)
  }
}

/**
 * Most requests of a fleet, answered before anything else and without a promise: an empty poll whose
 * machine token resolved before (principals.cached: no hash, no await), nothing due for its machine,
 * within its rate limit. Its head is written whole, security headers included, in one writeHead (the
 * caller sets them on every other answer). Returns false, having written nothing, when any of these
 * does not hold: the caller goes on as usual (a refusal over the limit is counted again there).
 */
export function answerEmptyPollNow(deps: AppDeps, req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== "GET" || !POLL_PATHS.has(req.url ?? "")) return false;
  const bearer = bearerOf(req);
  const m = bearer ? deps.services.principals.cached(bearer) : undefined;
  if (m?.kind !== "machine" || deps.services.dispatch.mayHaveWork(m.machineRef)) return false;
  if (!withinLimit(deps, `polls:${m.machineRef}`, "polls")) return false;
  res.writeHead(200, POLL_HEAD).end(EMPTY);
  return true;
}

/** Answers the request and returns true, or returns false and leaves it to tRPC. */
export async function answerHotPath(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (req.method === "GET" && req.url?.startsWith("/trpc/agent.actionStream")) return streamsFull(deps, req, res);
  if (req.method === "GET" && POLL_PATHS.has(req.url ?? "")) return emptyPoll(deps, req, res);
  if (req.method === "POST" && req.url === "/trpc/agent.report") return report(deps, req, res);
  if (req.method === "POST" && req.url === "/trpc/actions.queue") return queueOne(deps, req, res);
  return false;
}

/**
 * Past DASHFLEET_STREAMS_PER_PROCESS push streams, a new one is refused with a plain HTTP 503 (tRPC's
 * error shape, Retry-After) before any stream starts; tRPC would answer 200 and an error event. A
 * machine already holding its full share of streams may still replace its oldest.
 */
async function streamsFull(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const { streams } = deps.services;
  if (streams.count() < streams.perProcess) return false;
  const m = await machineOf(deps, req);
  if (m && streams.count(m.machineRef) >= streams.perMachine) return false;
  const message = `This server holds its maximum of ${streams.perProcess} push streams; poll instead and retry later`;
  const body = JSON.stringify({
    error: { message, code: -32603, data: { code: "SERVICE_UNAVAILABLE", httpStatus: 503 } },
  });
  res.writeHead(503, { "content-type": "application/json", "retry-after": "60" }).end(body);
  return true;
}

async function emptyPoll(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const m = await machineOf(deps, req);
  if (!m || deps.services.dispatch.mayHaveWork(m.machineRef)) return false;
  if (!withinLimit(deps, `polls:${m.machineRef}`, "polls")) return false;
  res.writeHead(200, { ...HEADERS, "content-length": EMPTY_LENGTH }).end(EMPTY);
  return true;
}

/** True for a plain JSON body of a stated, allowed size (tRPC handles the rest: 413, 415, …). */
function plainJson(deps: AppDeps, req: IncomingMessage): boolean {
  const length = Number(req.headers["content-length"]);
  const type = req.headers["content-type"] ?? "";
  return length > 0 && length <= deps.config.maxBodyBytes && /^application\/json\b/i.test(type);
}

/**
 * Reads the body and parses it as JSON with well-formed text. The text is left on `req.body` (tRPC's
 * Node adapter reads it when present), so a request handed on to tRPC is answered as usual. Returns
 * undefined when the body is not that (tRPC answers), or null when the client went away (answered).
 */
async function readBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  } catch {
    res.destroy(); // the client went away mid-body: nobody to answer
    return null;
  }
  const text = Buffer.concat(chunks).toString("utf8");
  (req as IncomingMessage & { body?: string }).body = text;
  try {
    const raw = JSON.parse(text) as unknown;
    assertWellFormedText(raw);
    return raw ?? undefined;
  } catch {
    return undefined;
  }
}

function answer(res: ServerResponse, data: unknown): void {
  const body = JSON.stringify({ result: { data } });
  res.writeHead(200, { ...HEADERS, "content-length": Buffer.byteLength(body) }).end(body);
}

async function report(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (!plainJson(deps, req)) return false;
  const m = await machineOf(deps, req);
  if (!m) return false;
  const raw = await readBody(req, res);
  if (raw === null) return true;
  const parsed = ReportInput.safeParse(raw);
  if (!parsed.success) return false;
  const input = parsed.data;
  if (!withinLimit(deps, `reports:${m.machineRef}`, "reports")) return false;
  try {
    await recordReport(deps.db, deps.clock, m.machineRef, input.metrics, input.identity);
  } catch {
    return false; // nothing was stored: tRPC tries once more and answers any error in its own shape
  }
  answer(res, { nextReportInSeconds: deps.config.reportIntervalSeconds });
  return true;
}

/**
 * actions.queue with an admin-scoped key (the scripts' path; sessions go through tRPC and its cookie
 * checks): the same input schema, role check, queue budget, action data resolution and service as the
 * procedure in routers/actions.ts. Any refusal falls through to tRPC before anything is stored, and so
 * does a domain error from the service (it stores nothing: one transaction); the budget spent here is
 * handed back first, then tRPC runs the call once more and answers in its own shape.
 */
async function queueOne(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (!plainJson(deps, req)) return false;
  const bearer = bearerOf(req);
  const p = bearer ? await deps.services.principals.fromBearer(bearer) : null;
  const admin = p?.kind === "key" ? asAdmin(p) : null;
  if (!admin || admin.role === "viewer") return false;
  const done = deps.services.queue.arriving();
  try {
    return await queueAs(deps, admin, req, res);
  } finally {
    done();
  }
}

async function queueAs(
  deps: AppDeps,
  admin: NonNullable<ReturnType<typeof asAdmin>>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  const raw = await readBody(req, res);
  if (raw === null) return true;
  const parsed = QueueInput.safeParse(raw);
  if (!parsed.success) return false;
  const input = parsed.data;
  const budget = queueBudgetKey(admin);
  try {
    deps.services.limiter.spend(budget, 1, deps.config.limits.queuePerMinute, "queued actions");
  } catch {
    return false; // over the budget: tRPC refuses it too, with its retry hint
  }
  let spec;
  try {
    spec = await resolveActionData(deps, admin.orgId, input);
  } catch {
    deps.services.limiter.charge(budget, -1); // handed back: tRPC spends it again
    return false; // bad action data: tRPC names the field
  }
  let id: string | undefined;
  try {
    [id] = await queueActions(deps, admin, {
      machineIds: [input.machineId],
      spec,
      expiresInSeconds: input.expiresInSeconds,
      via: "actions.queue",
    });
  } catch (err) {
    // A domain error (unknown machine, a full or failing commit) stored nothing: tRPC runs the call
    // again and answers in its own shape. Anything else might have come after the commit: answer it
    // here rather than risk queueing twice.
    if (err instanceof DomainError) {
      deps.services.limiter.charge(budget, -1); // handed back: tRPC spends it again
      return false;
    }
    deps.log.error({ err, path: "actions.queue" }, "internal error");
    const body = JSON.stringify({
      error: {
        message: "Internal server error",
        code: -32603,
        data: { code: "INTERNAL_SERVER_ERROR", httpStatus: 500, path: "actions.queue" },
      },
    });
    res.writeHead(500, { ...HEADERS, "content-length": Buffer.byteLength(body) }).end(body);
    return true;
  }
  answer(res, { id });
  return true;
}

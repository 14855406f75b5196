// The two hot requests of a large fleet, answered without the tRPC machinery (and one refusal: a push
// stream beyond the process cap, see streamsFull): an agent's poll when
// nothing is waiting for its machine, and a valid metric report. The tRPC handler turns every request
// into a Fetch Request/Response pair with web streams, which costs several times what answering takes.
// Here the same credential check, the same input schema and text check, the same rate limit and the
// same service run, and the body is what tRPC would send. Anything else (work may be waiting, another
// input, a bad credential or body, a limit reached, a failed write) falls through to tRPC, which
// answers it as usual, so every error keeps tRPC's shape.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AppDeps } from "../context.ts";
import { ReportInput } from "../routers/agent.ts";
import { assertWellFormedText } from "../services/errors.ts";
import { recordReport } from "../services/machines.ts";
import { bearerOf } from "./context.ts";

const EMPTY = Buffer.from(JSON.stringify({ result: { data: { actions: [] } } }));
/** The paths an input-less `agent.pendingActions` query arrives on (no input, or `{}` as the agent sends). */
const POLL_PATHS = new Set([
  "/trpc/agent.pendingActions",
  "/trpc/agent.pendingActions?input=%7B%7D",
  "/trpc/agent.pendingActions?input={}",
]);
const HEADERS = { "content-type": "application/json", vary: "trpc-accept, accept" };

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

/** Answers the request and returns true, or returns false and leaves it to tRPC. */
export async function answerHotPath(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (req.method === "GET" && req.url?.startsWith("/trpc/agent.actionStream")) return streamsFull(deps, req, res);
  if (req.method === "GET" && POLL_PATHS.has(req.url ?? "")) return emptyPoll(deps, req, res);
  if (req.method === "POST" && req.url === "/trpc/agent.report") return report(deps, req, res);
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
  res.writeHead(200, { ...HEADERS, "content-length": EMPTY.length }).end(EMPTY);
  return true;
}

async function report(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const length = Number(req.headers["content-length"]);
  const type = req.headers["content-type"] ?? "";
  // Only a plain JSON body of a stated, allowed size is read here; tRPC handles the rest (413, 415, …).
  if (!(length > 0 && length <= deps.config.maxBodyBytes) || !/^application\/json\b/i.test(type)) return false;
  const m = await machineOf(deps, req);
  if (!m) return false;
  const chunks: Buffer[] = [];
  try {
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  } catch {
    res.destroy(); // the client went away mid-body: nobody to answer
    return true;
  }
  const text = Buffer.concat(chunks).toString("utf8");
  // The body is consumed: hand tRPC the text (its Node adapter reads `req.body` when present).
  (req as IncomingMessage & { body?: string }).body = text;
  let input;
  try {
    const raw = JSON.parse(text) as unknown;
    assertWellFormedText(raw);
    const parsed = ReportInput.safeParse(raw);
    if (!parsed.success) return false;
    input = parsed.data;
  } catch {
    return false;
  }
  if (!withinLimit(deps, `reports:${m.machineRef}`, "reports")) return false;
  try {
    await recordReport(deps.db, deps.clock, m.machineRef, input.metrics, input.identity);
  } catch {
    return false; // nothing was stored: tRPC tries once more and answers any error in its own shape
  }
  const body = Buffer.from(
    JSON.stringify({ result: { data: { nextReportInSeconds: deps.config.reportIntervalSeconds } } }),
  );
  res.writeHead(200, { ...HEADERS, "content-length": body.length }).end(body);
  return true;
}

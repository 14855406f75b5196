// The hot path of a large fleet: an agent's poll when nothing is waiting for its machine. The tRPC
// handler turns every request into a Fetch Request/Response pair with web streams, which costs several
// times what answering takes; an empty poll is answered here instead, with the same authentication, the
// same rate limit and the same body tRPC would send. Anything else (work may be waiting, an input, an
// unknown or wrong credential, a limit reached) falls through to tRPC, which answers as usual.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AppDeps } from "../context.ts";
import { bearerOf } from "./context.ts";

const EMPTY = Buffer.from(JSON.stringify({ result: { data: { actions: [] } } }));
/** The paths an input-less `agent.pendingActions` query arrives on (no input, or `{}`). */
const PATHS = new Set(["/trpc/agent.pendingActions", "/trpc/agent.pendingActions?input=%7B%7D", "/trpc/agent.pendingActions?input={}"]);

/** Answers an empty poll and returns true, or returns false without touching the response. */
export async function answerEmptyPoll(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (req.method !== "GET" || !PATHS.has(req.url ?? "")) return false;
  const bearer = bearerOf(req);
  if (!bearer) return false;
  const p = await deps.services.principals.fromBearer(bearer);
  if (p?.kind !== "machine" || deps.services.dispatch.mayHaveWork(p.machineRef)) return false;
  try {
    deps.services.limiter.hit(`polls:${p.machineRef}`, deps.config.limits.agentPerMinute, "polls");
  } catch {
    return false; // over the limit: tRPC answers TOO_MANY_REQUESTS with its retry hint
  }
  res.writeHead(200, { "content-type": "application/json", vary: "trpc-accept, accept", "content-length": EMPTY.length }).end(EMPTY);
  return true;
}

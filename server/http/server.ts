// The HTTP front: tRPC at /trpc, the original design's REST endpoints at /api/actions, the dashboard at /.
import http from "node:http";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import type { AppDeps } from "../context.ts";
import { appRouter } from "../routers/_app.ts";
import { createHttpContext } from "./context.ts";
import { BatchGate } from "./batchGate.ts";
import { answerEmptyPollNow, answerHotPath } from "./fastPoll.ts";
import { createPushStreams, PUSH_STREAM_PATH } from "./fastPush.ts";
import { answerPendingNow, handleRest } from "./rest.ts";
import { createStaticHandler, securityHeaders } from "./static.ts";

/**
 * The most calls one tRPC request may batch. One GET of 300 × fleet.list held the process for 19 s
 * and 2 GB (finding 4); every list is paged, so a request's work is bounded by this times a page.
 * Clients should batch at most this many (httpBatchLink `maxItems`).
 */
export const MAX_BATCH_CALLS = 20;

/** How many calls a tRPC URL batches: its procedure paths are joined by commas (`/trpc/a,b,c?batch=1`). */
export function batchCallCount(url: string): number {
  // Up to the query, without WHATWG URL: it was the largest single cost of an empty tRPC poll.
  const query = url.indexOf("?");
  const end = query < 0 ? url.length : query;
  let n = 1;
  for (let i = url.indexOf("/trpc/") + "/trpc/".length; i < end; i++) if (url.charCodeAt(i) === 44) n += 1;
  return n;
}

/** A tRPC-shaped error answer (what tRPC's own clients understand), before any call runs. */
function refuse(
  res: http.ServerResponse,
  status: 400 | 503,
  message: string,
  headers: Record<string, string> = {},
): void {
  const code = status === 400 ? "BAD_REQUEST" : "SERVICE_UNAVAILABLE";
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(
    JSON.stringify({
      error: { message, code: status === 400 ? -32600 : -32603, data: { code, httpStatus: status } },
    }),
  );
}

/** Batched requests processed at once, and how many may wait for a turn (see batchGate.ts). */
export const BATCH_CONCURRENCY = 2;
export const BATCH_QUEUE = 256;

export function createHttpServer(deps: AppDeps): http.Server {
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: "/trpc/",
    maxBodySize: deps.config.maxBodyBytes,
    // A second guard behind the check in the request handler (same limit).
    maxBatchSize: MAX_BATCH_CALLS,
    createContext: ({ req, res }) => createHttpContext(deps, req, res),
    onError({ error, path }) {
      // Only internal errors are logged: client mistakes are answered, not logged.
      if (error.code === "INTERNAL_SERVER_ERROR") deps.log.error({ err: error.cause ?? error, path }, "internal error");
    },
  });

  const batches = new BatchGate(BATCH_CONCURRENCY, BATCH_QUEUE);
  const pushStreams = createPushStreams(deps);
  const serveStatic = createStaticHandler(deps.config.dashboardDir, {
    onStreamError: (err, url) => deps.log.warn({ err, url }, "static file vanished while being served"),
  });

  const server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    if (url.startsWith("/trpc/")) {
      // An empty poll with a cached token: answered at once, its head written whole (security headers
      // included). Every other answer gets them here.
      if (answerEmptyPollNow(deps, req, res)) return;
      securityHeaders(res);
      const calls = batchCallCount(url);
      if (calls > MAX_BATCH_CALLS)
        return refuse(
          res,
          400,
          `A request may batch at most ${MAX_BATCH_CALLS} calls; this one has ${calls}. Send them in several requests.`,
        );
      if (calls > 1) {
        if (!batches.admit(res, () => void trpc(req, res)))
          refuse(res, 503, "The server is busy with other batched requests. Retry in a second.", {
            "retry-after": "1",
          });
        return;
      }
      // Agents' push streams skip tRPC's SSE machinery (its memory per stream); see fastPush.ts.
      if (url === PUSH_STREAM_PATH) {
        void pushStreams.answer(req, res).then(
          (answered) => answered || trpc(req, res),
          (err: unknown) => {
            deps.log.error({ err }, "push stream failed");
            if (!res.headersSent) trpc(req, res);
          },
        );
        return;
      }
      // Empty polls and metric reports (most requests of a fleet) skip the tRPC machinery; see fastPoll.ts.
      void answerHotPath(deps, req, res).then(
        (answered) => answered || trpc(req, res),
        (err: unknown) => {
          deps.log.error({ err }, "hot path failed");
          if (!res.headersSent) trpc(req, res);
        },
      );
    } else if (url.startsWith("/api/")) {
      if (answerPendingNow(deps, req, res)) return;
      securityHeaders(res);
      handleRest(deps, req, res).catch((err: unknown) => {
        deps.log.error({ err }, "REST handler failed");
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "Internal server error" }));
      });
    } else if (url === "/healthz") {
      // The pid tells apart the processes of DASHFLEET_WORKERS behind one port (tests, operators).
      res.writeHead(200, { "content-type": "application/json" }).end(`{"ok":true,"pid":${process.pid}}`);
    } else {
      serveStatic(req, res);
    }
  });
  // Agents keep connections open between polls; keep them a little longer than the proxy default.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on("close", () => pushStreams.close());
  return server;
}

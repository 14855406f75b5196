// The HTTP front: tRPC at /trpc, the original design's REST endpoints at /api/actions, the dashboard at /.
import http from "node:http";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import type { AppDeps } from "../context.ts";
import { appRouter } from "../routers/_app.ts";
import { createHttpContext } from "./context.ts";
import { answerHotPath } from "./fastPoll.ts";
import { handleRest } from "./rest.ts";
import { securityHeaders, serveStatic } from "./static.ts";

export function createHttpServer(deps: AppDeps): http.Server {
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: "/trpc/",
    maxBodySize: deps.config.maxBodyBytes,
    createContext: ({ req, res }) => createHttpContext(deps, req, res),
    onError({ error, path }) {
      // Only internal errors are logged: client mistakes are answered, not logged.
      if (error.code === "INTERNAL_SERVER_ERROR") deps.log.error({ err: error.cause ?? error, path }, "internal error");
    },
  });

  const server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    if (url.startsWith("/trpc/")) {
      securityHeaders(res);
      // Empty polls and metric reports (most requests of a fleet) skip the tRPC machinery; see fastPoll.ts.
      void answerHotPath(deps, req, res).then(
        (answered) => answered || trpc(req, res),
        (err: unknown) => {
          deps.log.error({ err }, "hot path failed");
          if (!res.headersSent) trpc(req, res);
        },
      );
    } else if (url.startsWith("/api/")) {
      securityHeaders(res);
      handleRest(deps, req, res).catch((err: unknown) => {
        deps.log.error({ err }, "REST handler failed");
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "Internal server error" }));
      });
    } else if (url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    } else {
      serveStatic(deps.config.dashboardDir, req, res);
    }
  });
  // Agents keep connections open between polls; keep them a little longer than the proxy default.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

// Serves the built dashboard with a strict Content-Security-Policy (no inline script), through sirv
// (a maintained static file server: path normalisation, ETags, ranges, the single-page fallback).
import fs from "node:fs";
import path from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import sirv from "sirv";

/** Our content types (with charsets) where sirv's lookup differs or has none. */
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
};

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/**
 * Every answer's security headers, as [name, value, …]: the agents' empty polls write them in the same
 * writeHead as the rest of their head (one array built once) instead of four setHeader calls each.
 */
export const SECURITY_HEADERS: readonly string[] = [
  "Content-Security-Policy",
  CSP,
  "X-Content-Type-Options",
  "nosniff",
  "Referrer-Policy",
  "no-referrer",
  "X-Frame-Options",
  "DENY",
];

export function securityHeaders(res: ServerResponse): void {
  for (let i = 0; i < SECURITY_HEADERS.length; i += 2) res.setHeader(SECURITY_HEADERS[i]!, SECURITY_HEADERS[i + 1]!);
}

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
export type StaticOptions = { onStreamError?: (err: Error, file: string) => void };

/**
 * A handler serving files under `dir`, or index.html for client-side routes (paths without a file
 * extension). `dev` mode makes sirv look each file up when asked rather than list the folder once at
 * start, so `npm run build` while serving is seen at once (its hashed asset names change).
 */
export function createStaticHandler(dir: string, opts: StaticOptions = {}) {
  const serve = sirv(dir, {
    dev: true,
    etag: true,
    single: true,
    dotfiles: false,
    setHeaders(res, pathname) {
      // Paths without an extension are "/" and client routes: sirv answers them with index.html.
      const type = TYPES[path.extname(pathname) || ".html"];
      if (type) res.setHeader("Content-Type", type);
      // Built assets carry a content hash in their name: cache them forever; everything else revalidates.
      res.setHeader(
        "Cache-Control",
        pathname.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
      );
    },
  }) as Handler;

  return function serveStatic(req: IncomingMessage, res: ServerResponse): void {
    securityHeaders(res);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { "content-type": "text/plain" }).end("Method not allowed");
      return;
    }
    // sirv looks a file up, writes the head, then pipes a read stream it gives no error handler: a file
    // removed between the look-up and the open (`npm run build` while serving) would emit an unhandled
    // 'error' and kill the process. pipe() announces its source on the response ('pipe'), synchronously,
    // before the open can fail: the error is handled here and only this response is cut short.
    res.once("pipe", (src: Readable) => {
      src.once("error", (err) => {
        opts.onStreamError?.(err, req.url ?? "");
        res.destroy();
      });
    });
    serve(req, res, () => {
      if (fs.existsSync(path.join(dir, "index.html"))) {
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not found");
        return;
      }
      res
        .writeHead(503, { "content-type": "text/plain; charset=utf-8" })
        .end("The dashboard is not built yet: run `npm run build` (npm start does it for you).");
    });
  };
}

// A fault-injecting HTTP proxy between agents and the server: it can refuse chosen calls, lose the
// answer of a call the server did process, or disappear altogether (connection refused), and it
// records every request (time, procedure, caller) for rate measurements.
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** What to do with one request: forward it, answer 503 without forwarding, or forward it and lose the answer. */
export type Verdict = "pass" | "refuse" | "lose-answer";

export type ProxyRequest = { at: number; path: string; caller: string; status: number | null };

export type FaultProxy = {
  url: string;
  port: number;
  /** Requests seen while up. */
  log: ProxyRequest[];
  /** Decides per request (default: pass). */
  rule: (path: string) => Verdict;
  /** Stops listening (clients get connection refused) and drops open connections. */
  down: () => Promise<void>;
  /** Listens again on the same port. */
  up: () => Promise<void>;
  close: () => Promise<void>;
};

export async function startProxy(target: string, port = 0): Promise<FaultProxy> {
  const t = new URL(target);
  let server: http.Server | null = null;
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    url: "",
    port,
    log: [],
    rule: () => "pass",
    async down() {
      if (!server) return;
      const s = server;
      server = null;
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => s.close(() => r()));
    },
    async up() {
      if (server) return;
      server = http.createServer(handle);
      server.on("connection", (sock) => {
        sockets.add(sock);
        sock.once("close", () => sockets.delete(sock));
      });
      await new Promise<void>((resolve, reject) => {
        server!.once("error", reject);
        server!.listen(proxy.port, "127.0.0.1", () => resolve());
      });
      proxy.port = (server.address() as AddressInfo).port;
      proxy.url = `http://127.0.0.1:${proxy.port}`;
    },
    async close() {
      await proxy.down();
    },
  };

  function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const path = (req.url ?? "/").split("?")[0]!.replace(/^\/trpc\//, "");
    const entry: ProxyRequest = { at: Date.now(), path, caller: String(req.headers.authorization ?? ""), status: null };
    proxy.log.push(entry);
    const verdict = proxy.rule(path);
    if (verdict === "refuse") {
      req.resume();
      entry.status = 503;
      res.writeHead(503, { "content-type": "application/json" }).end('{"error":"injected fault"}');
      return;
    }
    const upstream = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } },
      (up) => {
        entry.status = up.statusCode ?? null;
        if (verdict === "lose-answer") {
          // The server did the work; the caller never learns it.
          up.resume();
          up.once("end", () => req.socket.destroy());
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
  }

  await proxy.up();
  return proxy;
}

/** Most requests seen in any window of `windowMs` within [from, to]. */
export function peakRate(log: ProxyRequest[], windowMs: number, from = 0, to = Infinity): number {
  const times = log
    .map((r) => r.at)
    .filter((t) => t >= from && t <= to)
    .sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

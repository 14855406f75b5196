// Process helpers shared by the bench entry points (run.ts, push.ts, fleetPhase.ts, wrkThroughput.ts): a
// free port on 127.0.0.1, waiting for a started server's /healthz, and a process's tree from /proc.
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once /healthz answers 200; fails if the child exits first or after 60 s. */
export async function waitHealthy(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((r) => {
      http
        .get({ host: "127.0.0.1", port, path: "/healthz" }, (res) => (res.resume(), r(res.statusCode === 200)))
        .on("error", () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("server did not become healthy");
}

/** A process and its descendants (a cluster's primary and its workers; a postmaster and its backends). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const task of fs.readdirSync(`/proc/${out[i]}/task`)) {
        const kids = fs.readFileSync(`/proc/${out[i]}/task/${task}/children`, "utf8").trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/**
 * A bench server's environment: loopback on `port`, quiet logs, no demo org, and the per-minute limits
 * lifted (simulated agents claim on every wake, run on compressed time and queue far above a human's
 * rate). `extra` adds to it (the database, a preload's settings).
 */
export function benchServerEnv(port: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    DASHFLEET_DEMO: "false",
    DASHFLEET_AGENT_PER_MINUTE: "1000000",
    DASHFLEET_QUEUE_PER_MINUTE: "100000000",
    ...extra,
  };
}

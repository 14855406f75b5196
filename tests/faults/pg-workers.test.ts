// DASHFLEET_WORKERS end to end (server/cluster.ts): `node --import tsx server/index.ts` with two
// workers on a throwaway PostgreSQL serves from two pids behind one port, prints the URL and the demo
// organization once, restarts a worker killed with SIGKILL while the other keeps answering, replaces
// its workers one at a time on SIGHUP without a failed request, and stops every process on SIGTERM. Several workers on SQLite, or a bad value, are refused with a clear message.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnTsx, type NodeChild } from "../helpers/child.ts";
import { freePort, serverEnv, sleep } from "../helpers/fleet-sim.ts";
import { startPgCluster, type PgCluster } from "../helpers/pg.ts";
import { trpcClient } from "../helpers/server.ts";

/**
 * GET /healthz on a new connection (cluster hands each connection to the next worker in turn). null
 * when refused, reset or unanswered for 10 s: generous, so a busy machine's slow answer is not
 * counted as a failed request (those are what the tests count).
 */
function health(port: number): Promise<{ pid: number } | null> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/healthz", agent: false, timeout: 10_000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => {
        try {
          resolve(res.statusCode === 200 ? (JSON.parse(body) as { pid: number }) : null);
        } catch {
          resolve(null);
        }
      });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(null));
  });
}

/** The distinct pids answering `tries` requests. */
async function pidsAnswering(port: number, tries = 20): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < tries; i++) {
    const r = await health(port);
    if (r) pids.add(r.pid);
  }
  return pids;
}

/** Polls `probe` until it holds; `ms` bounds a failure (starting workers is slow on a busy machine), not a speed. */
async function until<T>(what: string, probe: () => Promise<T | null | false>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`not reached in ${ms} ms: ${what}`);
    await sleep(100);
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const count = (text: string, part: string) => text.split(part).length - 1;

describe("DASHFLEET_WORKERS=2 on PostgreSQL", () => {
  let cluster: PgCluster;
  let server: NodeChild;
  let port: number;
  beforeAll(async () => {
    cluster = await startPgCluster();
    port = await freePort();
    server = spawnTsx("server/index.ts", [], {
      env: serverEnv("/nonexistent/unused.db", port, {
        DASHFLEET_DATABASE_URL: await cluster.createDatabase(),
        DASHFLEET_WORKERS: "2",
        DASHFLEET_DEMO: "true",
        LOG_LEVEL: "info",
      }),
    });
  }, 180_000);
  afterAll(async () => {
    await server?.kill();
    await cluster?.stop();
  });

  it("serves from two worker processes behind one port, announcing itself once", async () => {
    const pids = await until(
      "two workers answering",
      async () => {
        const p = await pidsAnswering(port, 10);
        return p.size === 2 ? p : null;
      },
      120_000,
    );
    expect(pids.has(server.child.pid!)).toBe(false); // the primary serves nothing itself
    await until("the URL printed", async () => server.output().includes("DashFleet: dashboard and API on"), 10_000);
    expect(count(server.output(), "DashFleet: dashboard and API on")).toBe(1);
    expect(count(server.output(), "Demo organization created")).toBe(1);
    // The demo org's admin key works through either worker: a real API call on several connections.
    const adminKey = /admin key: (\S+)/.exec(server.output())?.[1];
    expect(adminKey).toBeTruthy();
    for (let i = 0; i < 4; i++) {
      const admin = trpcClient(`http://127.0.0.1:${port}`, {
        authorization: `Bearer ${adminKey}`,
        connection: "close",
      });
      expect((await admin.fleet.list.query()).total).toBe(0);
    }
  }, 180_000);

  it("restarts a worker killed with SIGKILL while the other keeps answering", async () => {
    const before = await pidsAnswering(port, 10);
    expect(before.size).toBe(2);
    const [victim, survivor] = [...before] as [number, number];
    process.kill(victim, "SIGKILL");
    // Once the primary has seen the death (its log line: it no longer hands connections to the dead
    // worker), every request is answered, by the other worker (or the dead one's successor, if it is
    // already up). Waited for, not slept: a fixed 200 ms was a guess at how fast the primary notices.
    await until(
      "the primary to see the death",
      async () => /"msg":"server worker died; restarting it"/.test(server.output()),
      30_000,
    );
    const during: (number | null)[] = [];
    for (let i = 0; i < 10; i++) during.push((await health(port))?.pid ?? null);
    expect(during).not.toContain(null);
    expect(during).not.toContain(victim);
    expect(during).toContain(survivor);
    // A new worker takes the dead one's place.
    const after = await until(
      "a restarted worker answering",
      async () => {
        const p = await pidsAnswering(port, 10);
        return p.size === 2 && !p.has(victim) ? p : null;
      },
      120_000,
    );
    expect(after.has(survivor)).toBe(true);
    expect(alive(victim)).toBe(false);
    expect(server.output()).toMatch(/"signal":"SIGKILL".*"msg":"server worker died; restarting it"/);
  }, 180_000);

  it("replaces both workers one at a time on SIGHUP, answering every request meanwhile", async () => {
    const before = await pidsAnswering(port, 10);
    expect(before.size).toBe(2);
    let failed = 0;
    let answered = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        if (await health(port)) answered += 1;
        else failed += 1;
        await sleep(20);
      }
    })();
    server.child.kill("SIGHUP");
    await until("the rolling restart done", async () => server.output().includes("rolling restart done"), 180_000);
    polling = false;
    await poller;
    const after = await pidsAnswering(port, 10);
    expect(after.size).toBe(2);
    for (const pid of before) {
      expect(after.has(pid)).toBe(false);
      expect(alive(pid)).toBe(false);
    }
    expect(answered).toBeGreaterThan(20);
    expect(failed).toBe(0);
    // Replaced on purpose: not taken for deaths.
    expect(count(server.output(), "server worker died")).toBe(1);
  }, 300_000);

  it("stops every process on SIGTERM", async () => {
    const workers = await pidsAnswering(port, 10);
    expect(workers.size).toBe(2);
    await server.stop(30_000);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    for (const pid of workers) expect(alive(pid)).toBe(false);
    expect(await health(port)).toBeNull();
  }, 60_000);
});

describe("DASHFLEET_WORKERS refused", () => {
  it("refuses several workers on SQLite, naming DASHFLEET_DATABASE_URL", async () => {
    const port = await freePort();
    const p = spawnTsx("server/index.ts", [], {
      env: serverEnv("/tmp/never-created-dashfleet.db", port, { DASHFLEET_WORKERS: "2" }),
    });
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toContain("DASHFLEET_WORKERS: 2 server processes need PostgreSQL");
    expect(p.output()).toContain("DASHFLEET_DATABASE_URL");
    expect(p.output()).not.toMatch(/\n\s+at /); // a message, not a stack trace
  }, 60_000);

  it("refuses a value that is not a number of processes, naming the variable", async () => {
    const port = await freePort();
    const p = spawnTsx("server/index.ts", [], {
      env: serverEnv("/tmp/never-created-dashfleet.db", port, { DASHFLEET_WORKERS: "two" }),
    });
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toContain("DASHFLEET_WORKERS: must be a whole number of server processes, 1 or more");
  }, 60_000);
});

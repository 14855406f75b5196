// One retention round and one sweep transaction at a time across server processes on PostgreSQL
// (server/services/retention.ts RetentionLeader, server/db/advisory.ts): a process finding the
// retention lock held skips its round, a sweep waits for the other's transaction, a holder killed
// (its connection gone without an unlock) leaves no stale lock behind, two processes' rounds racing
// never fail nor count a report twice, and two sweeps at once write one event per expired lease.
import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../server/clock.ts";
import { loadConfig } from "../../server/config.ts";
import { lockSweep, SWEEP_LOCK_KEY } from "../../server/db/advisory.ts";
import { openDb, type Db } from "../../server/db.ts";
import { sweepActions } from "../../server/services/actionMoves.ts";
import { RETENTION_LOCK_KEY, RetentionJob } from "../../server/services/retention.ts";
import { startPgCluster, type PgCluster } from "../helpers/pg.ts";
import { enroll, startTestServer, type TestServer } from "../helpers/server.ts";

let cluster: PgCluster;
let url: string;
let server: TestServer;
let machineRef: string;
/** A second "process": its own Prisma client (own pool) on the same database. */
let otherDb: Db;

const job = (db: Db) =>
  new RetentionJob({
    db,
    clock: systemClock,
    config: loadConfig({ DASHFLEET_DATABASE_URL: url, DASHFLEET_RETAIN_EVERY_SECONDS: "0" }),
    log: pino({ level: "silent" }),
  });

/** A session holding `key`, as another server process would. */
async function holder(key: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on("error", () => undefined);
  await c.connect();
  const { rows } = await c.query<{ got: boolean }>(`SELECT pg_try_advisory_lock(${key}) AS got`);
  expect(rows[0]?.got).toBe(true);
  return c;
}

/** Ends a session the way SIGKILL ends a process: the socket closes, no unlock is ever sent. */
async function killSession(c: pg.Client): Promise<void> {
  const pid = (c as unknown as { processID: number }).processID;
  (c as unknown as { connection: { stream: { destroy: () => void } } }).connection.stream.destroy();
  // The server notices the closed socket and ends the backend (and its locks) shortly after.
  const probe = new pg.Client({ connectionString: url });
  await probe.connect();
  try {
    // Bounded by a time, not a count of probes: each probe is slow on a busy machine.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const { rows } = await probe.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid]);
      if (rows.length === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("the killed session's backend did not end");
  } finally {
    await probe.end();
  }
}

/**
 * Waits until some session of the test database waits for an advisory lock (pg_locks, not granted):
 * proof that a transaction is blocked on the sweep lock, where a fixed 500 ms pause only showed that
 * it had not finished yet (true as well of one not started on a busy machine).
 */
async function waitingForAdvisoryLock(): Promise<void> {
  const probe = new pg.Client({ connectionString: url });
  await probe.connect();
  try {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const { rows } = await probe.query(
        `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      if (rows.length > 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("no session waits for the advisory lock");
  } finally {
    await probe.end();
  }
}

async function insertReports(n: number): Promise<void> {
  const at = new Date(Date.now() - 60_000);
  await server.deps.db.metricReport.createMany({
    data: Array.from({ length: n }, (_, i) => ({ machineRef, at, cpu: i % 100, memory: 50, disk: 60, uptime: 1 })),
  });
}

beforeAll(async () => {
  cluster = await startPgCluster();
  url = await cluster.createDatabase();
  server = await startTestServer({ env: { DASHFLEET_DATABASE_URL: url, DASHFLEET_RETAIN_EVERY_SECONDS: "0" } });
  const org = await server.createOrg();
  await enroll(server, org.agentKey, "leader-1");
  machineRef = (await server.deps.db.machine.findFirstOrThrow({ select: { id: true } })).id;
  otherDb = await openDb(url);
}, 180_000);

afterAll(async () => {
  await otherDb?.$disconnect();
  await server?.stop();
  await cluster?.stop();
});

describe("retention rounds across processes on PostgreSQL", () => {
  it("skips its round while another process holds the lock, and runs once the holder is killed", async () => {
    await insertReports(10);
    const other = await holder(RETENTION_LOCK_KEY);
    const skipped = await job(server.deps.db).runOnce();
    expect(skipped.skipped).toBe(true);
    expect(skipped.rolledUp).toBe(0);
    await killSession(other);
    const ran = await job(server.deps.db).runOnce();
    expect(ran.skipped).toBeUndefined();
    expect(ran.rolledUp).toBe(10);
  });

  it("releases the lock after its round (the next round anywhere runs)", async () => {
    await insertReports(5);
    expect((await job(otherDb).runOnce()).rolledUp).toBe(5);
    const check = await holder(RETENTION_LOCK_KEY); // would fail if a round had left it held
    await check.end();
  });

  it("two processes' rounds at once: none fails, every report is counted exactly once (6 rounds, more until two met)", async () => {
    const a = job(server.deps.db);
    const b = job(otherDb);
    let inserted = 0;
    let skips = 0;
    // 6 rounds, and more (up to 30) until two have met: whether they overlap depends on the machine's
    // scheduling, and a test of rounds racing must have seen a race.
    for (let round = 0; round < 6 || (skips === 0 && round < 30); round++) {
      await insertReports(2500);
      inserted += 2500;
      // The rollup works in batches of 1,000: a round spans several transactions, so the two overlap.
      const rounds = await Promise.all([a.runOnce(), b.runOnce()]);
      skips += rounds.filter((r) => r.skipped).length;
      expect(rounds.filter((r) => !r.skipped).length).toBeGreaterThanOrEqual(1);
    }
    // Anything a skipped round left is rolled up by the next one.
    while ((await a.runOnce()).rolledUp > 0);
    const [sum] = await server.deps.db.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT COALESCE(SUM("samples"), 0) AS n FROM "MetricRollup" WHERE "resolution" = '5m'`,
    );
    expect(Number(sum?.n)).toBe(inserted + 15);
    expect(skips).toBeGreaterThan(0); // the rounds did meet
  }, 300_000);
});

describe("sweeps across processes on PostgreSQL", () => {
  /** Settles with the time it resolved, or stays pending. */
  const watch = (p: Promise<unknown>) => {
    const state = { done: false };
    void p.then(() => (state.done = true));
    return state;
  };

  it("one sweep transaction at a time: a second one waits until the first commits", async () => {
    let commit!: () => void;
    const held = new Promise<void>((r) => (commit = r));
    let locked!: () => void;
    const hasLock = new Promise<void>((r) => (locked = r));
    const first = server.deps.db.$transaction(
      async (tx) => {
        await lockSweep(tx);
        locked();
        await held;
      },
      { timeout: 60_000 },
    );
    await hasLock;
    // Another process's sweep transaction, meanwhile: it waits on the lock.
    const second = watch(otherDb.$transaction((other) => lockSweep(other), { timeout: 60_000 }));
    await waitingForAdvisoryLock();
    expect(second.done).toBe(false);
    commit();
    await first;
    await until(() => second.done);
  }, 90_000);

  it("a killed sweeper's lock goes with its connection", async () => {
    const c = new pg.Client({ connectionString: url });
    c.on("error", () => undefined);
    await c.connect();
    await c.query("BEGIN");
    await c.query(`SELECT pg_advisory_xact_lock(${SWEEP_LOCK_KEY})`);
    const waiting = watch(otherDb.$transaction((other) => lockSweep(other), { timeout: 60_000 }));
    await waitingForAdvisoryLock();
    expect(waiting.done).toBe(false);
    await killSession(c);
    await until(() => waiting.done);
  }, 90_000);

  it("a sweep on each of two processes at once moves an expired lease once, with one event", async () => {
    const org = await server.createOrg();
    const token = await enroll(server, org.agentKey, "sweep-1");
    const admin = server.client(org.adminKey);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++)
      ids.push(
        (await admin.actions.queue.mutate({ machineId: "sweep-1", type: "message", data: { message: `m${i}` } })).id,
      );
    const { actions } = await server.client(token).agent.pendingActions.query();
    expect(actions.length).toBeGreaterThan(0);
    // Expire the leases, then sweep from both "processes" at once, several times over.
    await server.deps.db.action.updateMany({
      where: { id: { in: actions.map((a) => a.id) } },
      data: { leaseUntil: new Date(Date.now() - 1000) },
    });
    await Promise.all([
      sweepActions({ db: server.deps.db, clock: systemClock }),
      sweepActions({ db: otherDb, clock: systemClock }),
      sweepActions({ db: server.deps.db, clock: systemClock }),
      sweepActions({ db: otherDb, clock: systemClock }),
    ]);
    const events = await server.deps.db.actionEvent.groupBy({
      by: ["actionId"],
      where: { actionId: { in: actions.map((a) => a.id) }, detail: "lease expired; offered again" },
      _count: { _all: true },
    });
    expect(events).toHaveLength(actions.length);
    for (const e of events) expect(e._count._all).toBe(1);
  }, 90_000);
});

async function until(check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

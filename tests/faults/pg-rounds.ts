// The two-process experiment on PostgreSQL, shared by the short (npm test) and long (npm run
// test:faults) suites: two server processes on one database, agents and admins spread over both. Each
// round SIGKILLs one process mid-burst; the agents on it fail over to the other URL (and the admins,
// as a load balancer would send them), the killed one restarts on its port, its agents return. Then an
// action queued on one process must wake an agent streaming from the other (push latency), and after a
// drain every acknowledged action is checked in the database: stored, delivered and run exactly once.
// Nothing here counts what got done in a fixed time: a round waits for an amount of work before its
// random kill, the killed process stays down until its own agents have acked work through the other,
// and push is timed from the queue call's return with the fleet's load stopped (the target is the
// server's, not the load generator's).
import pg from "pg";
import { createPushChannel } from "../../tray-agent/src/core/push.ts";
import {
  enrollFleet,
  freePort,
  newLedger,
  prepareDb,
  queueOne,
  recordFigures,
  sleep,
  SimAgent,
  spawnServer,
  type Ledger,
  type ServerProcess,
} from "../helpers/fleet-sim.ts";
import { startPgCluster } from "../helpers/pg.ts";
import { trpcClient, type TRPCClient } from "../helpers/server.ts";
import { drainUntilIdle, waitForWork, waitUntil } from "./work.ts";

/** Short lease so that delivered-but-unacked actions come back quickly after a kill. */
const ENV = { DASHFLEET_LEASE_SECONDS: "2" };
/** A start after a SIGKILL (`node --import tsx`) on a busy machine: a bound, not a speed. */
const START_MS = 120_000;

export type TwoProcessReport = {
  kills: number;
  ledger: Ledger;
  /** Problems found by the final check (must be empty). */
  problems: string[];
  /** Actions acked by agents while one process was down, per round (agents carried on). */
  acksWhileDown: number[];
  /** Of those, acked by the killed process's own agents through the other one, per round (failover). */
  failoverAcks: number[];
  /** Queue returned on one process → wake on the push stream of the other (0 if it came first), in ms. */
  wakeMs: number[];
  /** Queue returned on one process → the agent's claim through the other returned the action, in ms. */
  deliveredMs: number[];
  figures: Record<string, number>;
};

export type RoundOptions = {
  name: string;
  machines?: number;
  /** Work each round must see returned (queue calls, result reports) before its kill. */
  workPerRound?: { queued: number; reported: number };
  /** Then the kill comes at a random moment of [minMs, maxMs) later. */
  minMs?: number;
  maxMs?: number;
  /** Cross-process push samples taken after the rounds. */
  pushSamples?: number;
};

const live = (servers: (ServerProcess | null)[]) => servers.filter((s): s is ServerProcess => s !== null);

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

export async function pgTwoProcessRounds(rounds: number, opts: RoundOptions): Promise<TwoProcessReport> {
  const t0 = Date.now();
  const phases: Record<string, number> = {};
  const phase = (name: string) =>
    (phases[`${name}Ms`] = Date.now() - t0 - Object.values(phases).reduce((a, b) => a + b, 0));
  const cluster = await startPgCluster();
  const servers: (ServerProcess | null)[] = [null, null];
  try {
    const dbUrl = await cluster.createDatabase();
    const [org] = await prepareDb(dbUrl);
    const env = { ...ENV, DASHFLEET_DATABASE_URL: dbUrl };
    const ports = [await freePort(), await freePort()];
    const start = async (i: number) =>
      (servers[i] = await spawnServer("unused-on-postgresql.db", { port: ports[i], env, timeoutMs: START_MS }));
    await Promise.all([start(0), start(1)]);
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const up = [true, true];

    const ledger = newLedger();
    const fleet = await enrollFleet(urls[0]!, org!.agentKey, opts.machines ?? 6);
    // Agent i is at home on server i % 2 and moves to the other when a call gets no answer.
    const agents = fleet.map((m, i) => ({
      sim: new SimAgent(m.machineId, m.token, ledger),
      home: i % 2,
      at: i % 2,
      clients: urls.map((u) => trpcClient(u, { authorization: `Bearer ${m.token}` })),
    }));
    const admins = urls.map((u) => trpcClient(u, { authorization: `Bearer ${org!.adminKey}` }));

    const stop = { stopped: false };
    const agentLoop = async (a: (typeof agents)[number]) => {
      while (!stop.stopped) {
        const failures = a.sim.transportFailures;
        await a.sim.cycle(a.clients[a.at]!);
        if (a.sim.transportFailures > failures) a.at = 1 - a.at; // fail over to the other URL
        await sleep(10 + Math.floor(Math.random() * 20));
      }
    };
    let n = 0;
    const adminLoop = async (home: number) => {
      while (!stop.stopped) {
        const at = up[home] ? home : 1 - home; // a load balancer sends admins to a live process
        const a = agents[n % agents.length]!;
        n += 1;
        const other = agents[(n + 1) % agents.length]!.sim.machineId;
        await queueOne(admins[at]!, ledger, a.sim.machineId, n, {
          url: urls[at]!,
          adminKey: org!.adminKey,
          otherMachineId: other,
        });
        await sleep(5);
      }
    };
    phase("setup");
    const load = Promise.all([adminLoop(0), adminLoop(1), ...agents.map(agentLoop)]);

    const acksWhileDown: number[] = [];
    const failoverAcks: number[] = [];
    const roundProblems: string[] = [];
    const homeOf = new Map(agents.map((a) => [a.sim.machineId, a.home]));
    let kills = 0;
    for (let round = 0; round < rounds; round++) {
      // A busy machine does less in a given time: wait for the round's work, not for a time.
      const shortfall = opts.workPerRound ? await waitForWork(ledger, opts.workPerRound) : null;
      if (shortfall) roundProblems.push(`round ${round}: ${shortfall}`);
      const min = opts.minMs ?? 300;
      const max = opts.maxMs ?? 1500;
      await sleep(min + Math.floor(Math.random() * (max - min)));
      const victim = round % 2;
      up[victim] = false;
      await servers[victim]!.kill();
      kills += 1;
      const acked = ledger.acked.size;
      // The victim's own agents acked through the other process (the ledger's acks are in return order).
      const failedOver = () =>
        [...ledger.acked.keys()].slice(acked).filter((id) => homeOf.get(ledger.queued.get(id) ?? "") === victim).length;
      // Down until its agents have carried on through the other process (they fail over on the first
      // call that gets no answer), then restarted on its port: a wait for that event, not a time.
      if (!(await waitUntil(() => failedOver() > 0, 60_000)))
        roundProblems.push(`round ${round}: no agent of the killed process acked through the other in 60 s`);
      failoverAcks.push(failedOver());
      await start(victim);
      acksWhileDown.push(ledger.acked.size - acked);
      up[victim] = true;
      for (const a of agents) if (a.home === victim) a.at = victim;
    }

    phase("rounds");
    // The rounds' load ends here: push latency is the server's figure, timed without a load generator
    // that takes every core of a busy machine (bench/push.ts measures it at 10,000 streams).
    stop.stopped = true;
    await load;
    // Push across processes: queued through one process, the agent streams from the other.
    const { wakeMs, deliveredMs } = await crossProcessPush(urls, admins, org!.agentKey, opts.pushSamples ?? 20);
    phase("push");

    const drained = await drain(dbUrl, agents);
    // Through the API of both processes: every acknowledged action is listed.
    const missing = new Set<string>();
    for (const admin of admins) {
      const listed = await listAll(admin);
      for (const id of ledger.queued.keys()) if (!listed.has(id)) missing.add(id);
    }
    phase("drain");
    await Promise.all(live(servers).map((s) => s.stop(30_000)));
    phase("stop");

    const problems = [...roundProblems, ...(await checkLedgerPg(dbUrl, ledger))];
    if (!drained)
      problems.push("the fleet did not drain: actions still open or results unconfirmed, no progress for 30 s");
    for (const id of missing) problems.push(`lost action ${id}: not listed by one of the processes`);
    const wakes = [...wakeMs].sort((a, b) => a - b);
    const delivered = [...deliveredMs].sort((a, b) => a - b);
    const figures = {
      rounds,
      sigkills: kills,
      actionsQueuedAndAcknowledged: ledger.queued.size,
      actionsAcked: ledger.acked.size,
      resultsReported: ledger.reported.size,
      acksWhileOneProcessDownMin: Math.min(...acksWhileDown),
      failoverAcksMin: Math.min(...failoverAcks),
      callsLostToKills: ledger.transportErrors,
      lost: problems.filter((p) => p.startsWith("lost")).length,
      executedTwice: [...ledger.executions.values()].filter((x) => x > 1).length,
      redelivered: ledger.redelivered.length,
      pushSamples: wakes.length,
      pushWakeP50Ms: Math.round(percentile(wakes, 50)),
      pushWakeP99Ms: Math.round(percentile(wakes, 99)),
      pushDeliveredP50Ms: Math.round(percentile(delivered, 50)),
      pushDeliveredP99Ms: Math.round(percentile(delivered, 99)),
      pushDeliveredMaxMs: Math.round(delivered.at(-1) ?? NaN),
      ...phases,
    };
    recordFigures(opts.name, figures);
    return { kills, ledger, problems, acksWhileDown, failoverAcks, wakeMs, deliveredMs, figures };
  } finally {
    await Promise.all(live(servers).map((s) => s.kill()));
    await cluster.stop();
  }
}

/**
 * Enrolls a machine, streams its wake-ups from process B (the agent's real push client) and claims on
 * each wake through B; queues through process A one action at a time and times from the queue call's
 * return to the wake on B's stream (what LISTEN/NOTIFY carries across) and to the claim returning it
 * (the whole path the agent sees, including a poll's round trip on a loaded machine).
 */
async function crossProcessPush(
  urls: string[],
  admins: TRPCClient[],
  agentKey: string,
  samples: number,
): Promise<{ wakeMs: number[]; deliveredMs: number[] }> {
  const [machine] = await enrollFleet(urls[0]!, agentKey, 1, "push");
  const agent = trpcClient(urls[1]!, { authorization: `Bearer ${machine!.token}` });
  const seen = new Map<string, number>();
  const wakes: number[] = [];
  let connected = false;
  let claiming = Promise.resolve();
  const channel = createPushChannel({
    serverUrl: urls[1]!,
    machineToken: machine!.token,
    minBackoffMs: 100,
    maxBackoffMs: 500,
    log: { info: (m) => void (m === "push channel connected" && (connected = true)) },
  })(() => {
    wakes.push(performance.now());
    claiming = claiming.then(async () => {
      const { actions } = await agent.agent.pendingActions.query({});
      const at = performance.now();
      for (const a of actions) {
        seen.set(a.id, at);
        await agent.agent.ack.mutate({ actionId: a.id, claimToken: a.claimToken });
      }
    });
  });
  const wakeMs: number[] = [];
  const deliveredMs: number[] = [];
  try {
    if (!(await waitUntil(() => connected, 30_000)))
      throw new Error("the push stream on the second process did not connect");
    // Warm-up, not timed: one action all the way (queue on A, wake on B's stream, claim through B).
    // It replaces a fixed pause: the stream is connected a moment before B listens for the machine's
    // wake-ups, and B's LISTEN connection may still be starting after a restart (then the 10 s check
    // delivers it); once this one arrived, both are in place.
    const { id: warmUp } = await admins[0]!.actions.queue.mutate({
      machineId: machine!.machineId,
      type: "message",
      data: { message: "push warm-up" },
    });
    if (!(await waitUntil(() => seen.has(warmUp), 30_000)))
      throw new Error("the warm-up action queued on the first process never reached the agent on the second");
    await claiming;
    for (let i = 0; i < samples; i++) {
      const asked = performance.now();
      const { id } = await admins[0]!.actions.queue.mutate({
        machineId: machine!.machineId,
        type: "message",
        data: { message: `push ${i}` },
      });
      const queued = performance.now();
      const deadline = Date.now() + 10_000;
      while (!seen.has(id) && Date.now() < deadline) await sleep(2);
      // Not delivered within 10 s: recorded as 10 s, so the bound fails with a figure.
      const woke = wakes.find((w) => w >= asked);
      wakeMs.push(woke === undefined ? 10_000 : Math.max(0, woke - queued));
      deliveredMs.push(seen.has(id) ? Math.max(0, seen.get(id)! - queued) : 10_000);
      // The next sample starts with the agent idle (its ack of this one returned), as the first did.
      await claiming;
    }
  } finally {
    channel.close();
  }
  return { wakeMs, deliveredMs };
}

/** Lets the agents deliver their journals and the fleet drain through whichever process they are on. */
async function drain(dbUrl: string, agents: { sim: SimAgent; at: number; clients: TRPCClient[] }[]): Promise<boolean> {
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  try {
    return await drainUntilIdle(
      async () => void (await Promise.all(agents.map((a) => a.sim.cycle(a.clients[a.at]!)))),
      async () => {
        const { rows } = await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM "Action" a JOIN "Machine" m ON m."id" = a."machineRef"
           WHERE a."status" IN ('pending','delivered','executing') AND m."machineId" LIKE 'sim-%'`,
        );
        return Number(rows[0]!.n) + agents.reduce((s, a) => s + a.sim.journal.size + a.sim.unsureAcks.size, 0);
      },
    );
  } finally {
    await db.end();
  }
}

async function listAll(admin: TRPCClient): Promise<Set<string>> {
  const listed = new Set<string>();
  let cursor: string | null = null;
  do {
    const page: { items: { id: string }[]; nextCursor: string | null } = await admin.actions.list.query({
      limit: 100,
      cursor,
    });
    for (const a of page.items) listed.add(a.id);
    cursor = page.nextCursor;
  } while (cursor);
  return listed;
}

/** tests/faults/kill-rounds.ts checkLedger, on PostgreSQL: each string is one violation. */
export async function checkLedgerPg(dbUrl: string, ledger: Ledger): Promise<string[]> {
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  try {
    const problems: string[] = [];
    const { rows } = await db.query<{ id: string; status: string; result: string | null; machineId: string }>(
      `SELECT a."id", a."status", a."result", m."machineId" FROM "Action" a JOIN "Machine" m ON m."id" = a."machineRef"`,
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const [id, machineId] of ledger.queued) {
      const r = byId.get(id);
      if (!r) problems.push(`lost action ${id}: its queue call returned but it is not in the database`);
      else if (r.machineId !== machineId) problems.push(`action ${id} is for ${r.machineId}, queued for ${machineId}`);
    }
    for (const [id, rep] of ledger.reported) {
      const r = byId.get(id);
      if (!r) problems.push(`lost result of ${id}: the action is missing`);
      else if (r.status !== rep.status || r.result !== rep.result)
        problems.push(`lost result of ${id}: reported ${rep.status} "${rep.result}", stored ${r.status} "${r.result}"`);
    }
    for (const id of ledger.acked.keys()) {
      const r = byId.get(id);
      if (r && !["executing", "done", "error"].includes(r.status)) problems.push(`acked action ${id} is ${r.status}`);
    }
    for (const [id, n] of ledger.executions) if (n > 1) problems.push(`action ${id} was run ${n} times`);
    for (const id of ledger.redelivered) problems.push(`action ${id} was delivered again after its ack returned`);
    // The event log: no delivery after an action started executing (event time, then id, orders them).
    const late = await db.query<{ actionId: string }>(
      `SELECT d."actionId" FROM "ActionEvent" d WHERE d."status" = 'delivered' AND d."kind" IS NULL AND EXISTS (
         SELECT 1 FROM "ActionEvent" e WHERE e."actionId" = d."actionId" AND e."status" = 'executing'
         AND e."kind" IS NULL AND (e."at", e."id") < (d."at", d."id"))`,
    );
    for (const r of late.rows) problems.push(`action ${r.actionId} has a delivery event after it started executing`);
    const reports = await db.query<{ machineId: string; n: string }>(
      `SELECT m."machineId", count(r."id") AS n FROM "Machine" m LEFT JOIN "MetricReport" r ON r."machineRef" = m."id" GROUP BY m."id"`,
    );
    const stored = new Map(reports.rows.map((r) => [r.machineId, Number(r.n)]));
    for (const [machineId, n] of ledger.metricReports)
      if ((stored.get(machineId) ?? 0) < n)
        problems.push(`lost metric reports of ${machineId}: ${n} returned, ${stored.get(machineId) ?? 0} stored`);
    return problems;
  } finally {
    await db.end();
  }
}

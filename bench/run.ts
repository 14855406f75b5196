// `npm run bench [-- --quick]`: the performance suite. Starts a DashFleet server and a bare node:http
// reference as child processes; throughput ratios come from wrk (bench/wrk.ts, bench/wrkThroughput.ts)
// against the bare server in the same run; the fleet, batched queueing and push phases are driven from
// forked worker processes (bench/sim.ts, bench/fleetPhase.ts, bench/push.ts; push on a server process
// of its own, so its memory figure is not heap freed by earlier phases). Samples the server's memory and
// CPU from /proc, then repeats the poll and queue figures and the fleet on a throwaway PostgreSQL cluster
// with 1 and 2 server processes, and prints one table of figures, each against its target, with the
// load average and how long each phase took.
// Knobs (env): BENCH_FLEET (machines), BENCH_FACTOR (time compression), BENCH_FLEET_SECONDS,
// BENCH_PUSH_AGENTS, BENCH_QUEUE_RATE, BENCH_QUEUE_SECONDS, BENCH_CONCURRENCY, BENCH_ROUND_SECONDS,
// BENCH_ROUNDS, BENCH_PG (0: skip PostgreSQL), BENCH_PG_MACHINES, BENCH_PG_FLEET (machines of the
// PostgreSQL fleet; 0: none), BENCH_PG_FLEET_SECONDS, BENCH_FLEET_MAX_SECONDS (a fleet run still waiting
// for answers then is stopped and reported as not finished), BENCH_PHASES (comma list of poll, fleet, queue,
// batch, push, pg, pgfleet: run only those; pg is PostgreSQL's poll and queue, pgfleet its fleet).
import { fork, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openDb } from "../server/db.ts";
import { startPgCluster } from "../tests/helpers/pg.ts";
import { prepareFleet, machineIdOf, machineToken, type BenchFleet } from "./setup.ts";
import { pushOnFreshServer } from "./push.ts";
import type { LoadResult } from "./sim.ts";
import { fleetLoad, forkSim as work, treeStats } from "./fleetPhase.ts";
import { ensureWrk, loadAverage } from "./wrk.ts";
import { pollThroughput, queueThroughput } from "./wrkThroughput.ts";
import { benchServerEnv, freePort, waitHealthy } from "./proc.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.argv.includes("--quick");
const num = (name: string, full: number, q: number) => Number(process.env[name] ?? (quick ? q : full));

const cfg = {
  fleet: num("BENCH_FLEET", 100_000, 5_000),
  factor: num("BENCH_FACTOR", 1, 10),
  fleetSeconds: num("BENCH_FLEET_SECONDS", 60, 15),
  pushAgents: num("BENCH_PUSH_AGENTS", 10_000, 2_000),
  pushActions: num("BENCH_PUSH_ACTIONS", 300, 100),
  queueRate: num("BENCH_QUEUE_RATE", 2_000, 2_000),
  queueSeconds: num("BENCH_QUEUE_SECONDS", 10, 4),
  concurrency: num("BENCH_CONCURRENCY", 64, 64),
  roundSeconds: num("BENCH_ROUND_SECONDS", 5, 3),
  rounds: num("BENCH_ROUNDS", 3, 2),
  workers: 2,
  pg: num("BENCH_PG", 1, 1) === 1,
  pgMachines: num("BENCH_PG_MACHINES", 5_000, 3_000),
  pgFleet: num("BENCH_PG_FLEET", 100_000, 5_000),
  pgFleetSeconds: 0,
};
cfg.pgFleetSeconds = Number(process.env.BENCH_PG_FLEET_SECONDS ?? cfg.fleetSeconds);
const phases = new Set((process.env.BENCH_PHASES ?? "poll,fleet,queue,batch,push,pg,pgfleet").split(","));
const sqlitePhases = ["poll", "fleet", "queue", "batch", "push"].filter((p) => phases.has(p));
/** How long each phase (and each setup) took, printed with the table. */
const timings: string[] = [];
const since = (t0: number) => {
  const s = Math.round((Date.now() - t0) / 1000);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
};
/** Load averages seen at the start of each phase (the machine is shared: figures move with it). */
const loads: string[] = [];

const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** Measures one phase: CPU share of one core used by the server (its process tree), and its peak RSS. */
async function sampled<T>(
  pid: number,
  run: () => Promise<T>,
): Promise<{ value: T; cpuPercent: number; peakRssMiB: number }> {
  const before = treeStats(pid);
  const t0 = Date.now();
  let peak = before.rssMiB;
  const timer = setInterval(() => (peak = Math.max(peak, treeStats(pid).rssMiB)), 250);
  try {
    const value = await run();
    const after = treeStats(pid);
    peak = Math.max(peak, after.rssMiB);
    return {
      value,
      cpuPercent: (100 * (after.cpuSeconds - before.cpuSeconds)) / ((Date.now() - t0) / 1000),
      peakRssMiB: peak,
    };
  } finally {
    clearInterval(timer);
  }
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const sortNum = (xs: number[]) => xs.sort((a, b) => a - b);
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");

type Row = { figure: string; value: string; reference: string; target: string; met: boolean | null };
const rows: Row[] = [];
/** Index of the first of the machines reserved for the queueing runs. */
let queueBase = 0;

/** Starts `node server/index.ts` with the bench's environment; resolves once /healthz answers. */
async function startBenchServer(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "server/index.ts"], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
    env: benchServerEnv(port, env),
  });
  await waitHealthy(port, child);
  return { child, port };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null) child.kill("SIGKILL");
}

/** The agent key + machine_id poll (the original design's protocol) needs the org in legacy mode. */
async function enableLegacy(target: string, orgId: string): Promise<void> {
  const db = await openDb(target);
  try {
    await db.organization.update({ where: { id: orgId }, data: { legacyAgents: true }, select: { id: true } });
  } finally {
    await db.$disconnect();
  }
}

const startedAt = Date.now();

async function main() {
  ensureWrk();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-bench-"));
  const bare = fork(path.join(root, "bench", "bare.ts"), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const barePort = await new Promise<number>((r) => bare.once("message", (m: { port: number }) => r(m.port)));
  const phase: Phase = async (name, run, detail) => {
    if (!phases.has(name)) return;
    const shown = detail ? `${name} (${detail})` : name;
    loads.push(`${shown} ${loadAverage()}`);
    const t0 = Date.now();
    await run();
    timings.push(`${shown} ${since(t0)}`);
    log(`${shown} took ${since(t0)}`);
  };
  try {
    if (sqlitePhases.length > 0) await sqlite(dir, barePort, phase);
    if (cfg.pg && (phases.has("pg") || phases.has("pgfleet"))) await postgres(barePort, phase);
  } finally {
    bare.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  print();
}

/** Runs a named phase if BENCH_PHASES asks for it, noting the load average and how long it took. */
type Phase = (name: string, run: () => Promise<unknown>, detail?: string) => Promise<void>;

/** The SQLite phases: one server for poll, fleet and queueing, then a fresh one for the push streams. */
async function sqlite(dir: string, barePort: number, phase: Phase) {
  // Each queueing run uses 1,000 machines of its own past the fleet and the push agents: its actions are drained
  // but never acknowledged, so their leases run out later, and they must not reach the push phase.
  queueBase = Math.max(cfg.fleet, cfg.pushAgents);
  const machines = queueBase + 2000;
  log(`preparing a database with ${machines} machines in ${dir}; load average ${loadAverage()}`);
  const t0 = Date.now();
  const fleet = await prepareFleet(path.join(dir, "fleet.db"), machines);
  await enableLegacy(fleet.dbFile, fleet.orgId);
  timings.push(`SQLite setup (${machines} machines) ${since(t0)}`);
  const { child: server, port } = await startBenchServer({ DASHFLEET_DB: fleet.dbFile });
  let mainPeak = NaN;
  try {
    const pid = server.pid!;
    log(`server pid ${pid} on port ${port}; bare reference on ${barePort}`);
    await phase("poll", async () => {
      const r = await pollThroughput({ fleet, port, barePort, pid, ...pollCfg() });
      rows.push(...r.rows);
    });
    await phase("fleet", async () => {
      const r = await fleetLoad({ fleet, port, pid, machines: cfg.fleet, ...fleetCfg(), seconds: cfg.fleetSeconds });
      rows.push(...r.rows);
    });
    await phase("queue", async () => {
      const db = await openDb(fleet.dbFile);
      try {
        const r = await queueThroughput({ fleet, port, pid, db, base: queueBase, tag: "wrk1", ...queueCfg() });
        rows.push(...r.rows);
      } finally {
        await db.$disconnect();
      }
    });
    await phase("batch", () => queueLoad(fleet, port, pid, 10, 1));
    mainPeak = treeStats(pid).hwmMiB;
  } finally {
    await stopServer(server);
  }
  // The streams' memory is RSS with the streams minus RSS of a process that has served nothing yet:
  // on the server of the phases above, the streams reused the heap those phases freed (0.8 KB a stream).
  let pushPeak = NaN;
  await phase("push", async () => {
    const r = await pushOnFreshServer(fleet, {
      agents: cfg.pushAgents,
      actions: cfg.pushActions,
      workers: cfg.workers,
    });
    rows.push(...r.rows);
    pushPeak = r.hwmMiB;
  });
  const peak = Math.max(...[mainPeak, pushPeak].filter(Number.isFinite));
  rows.push({
    figure: "Server peak memory (VmHWM): the server of poll, fleet and queueing; the push phase's own server",
    value: `${f1(mainPeak)} MiB; ${f1(pushPeak)} MiB`,
    reference: "",
    target: "< 1024 MiB",
    met: peak < 1024,
  });
}

const pollCfg = () => ({ rounds: cfg.rounds, seconds: cfg.roundSeconds, connections: cfg.concurrency });
const queueCfg = () => ({ seconds: cfg.queueSeconds, connections: cfg.concurrency });
const fleetCfg = () => ({ factor: cfg.factor, workers: cfg.workers });

/** The postmaster's pid of a cluster (first line of postmaster.pid), for its processes' CPU. */
function postmasterPid(clusterDir: string): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(clusterDir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return undefined;
  }
}

/**
 * The same poll and queue figures, and the fleet, with the server on PostgreSQL (a throwaway cluster,
 * fsync off: tests/helpers/pg.ts), with DASHFLEET_WORKERS=1 and =2, and the 2/1 ratios. wrk, the fleet's
 * simulators and the bare server share the same two cores, so on this machine a second server process
 * competes with the generator and with PostgreSQL for CPU.
 */
async function postgres(barePort: number, phase: Phase) {
  const cluster = await startPgCluster();
  const dbPid = postmasterPid(cluster.dir);
  try {
    const url = await cluster.createDatabase("bench");
    // The fleet takes machines 0..pgFleet-1 (the polls' 1,000 credentials among them); each queueing run
    // 1,000 of its own past them, so their unacknowledged actions never reach a simulated agent.
    const fleetN = phases.has("pgfleet") ? cfg.pgFleet : 0;
    const base = Math.max(cfg.pgMachines - 2000, fleetN, 1000);
    const machines = base + 2000;
    log(`PostgreSQL: preparing ${machines} machines; load average ${loadAverage()}`);
    const t0 = Date.now();
    const fleet = await prepareFleet(url, machines);
    await enableLegacy(url, fleet.orgId);
    const setup = `PostgreSQL setup (${machines} machines, bulk insert ${(fleet.insertMs / 1000).toFixed(1)} s) ${since(t0)}`;
    timings.push(setup);
    log(setup);
    rows.push({
      figure: `PostgreSQL: ${machines} machines inserted (10,000 per INSERT … unnest, then ANALYZE)`,
      value: `${(fleet.insertMs / 1000).toFixed(1)} s`,
      reference: `migration and organization included: ${since(t0)}`,
      target: "",
      met: null,
    });
    const db = await openDb(url);
    const rates: Record<number, { trpc: number; queue: number; bare: number }> = {};
    const fleets: Record<number, { answered: number; offered: number; p99: number; errors: number }> = {};
    try {
      for (const workers of [1, 2]) {
        const label = `PostgreSQL, ${workers} process${workers > 1 ? "es" : ""}`;
        const { child, port } = await startBenchServer({
          DASHFLEET_DATABASE_URL: url,
          DASHFLEET_WORKERS: String(workers),
        });
        try {
          const pid = child.pid!;
          await phase(
            "pg",
            async () => {
              // Two rounds each, so the whole run stays under ~20 minutes.
              const poll = await pollThroughput({
                fleet,
                port,
                barePort,
                pid,
                label,
                ...pollCfg(),
                rounds: Math.min(cfg.rounds, 2),
              });
              rows.push(...poll.rows);
              const queue = await queueThroughput({
                fleet,
                port,
                pid,
                db,
                base: base + (workers - 1) * 1000,
                tag: `pg${workers}`,
                label,
                ...queueCfg(),
              });
              rows.push(...queue.rows);
              rates[workers] = { trpc: poll.rates.trpc ?? NaN, queue: queue.rate, bare: poll.rates.bare ?? NaN };
            },
            `${workers}p`,
          );
          if (fleetN > 0)
            await phase(
              "pgfleet",
              async () => {
                const r = await fleetLoad({
                  fleet,
                  port,
                  pid,
                  machines: fleetN,
                  ...fleetCfg(),
                  seconds: cfg.pgFleetSeconds,
                  label,
                  dbPid,
                });
                rows.push(...r.rows);
                // A run stopped at its time limit has no rate to compare.
                if (Number.isFinite(r.answeredPerSecond))
                  fleets[workers] = {
                    answered: r.answeredPerSecond,
                    offered: r.offeredPerSecond,
                    p99: r.p99,
                    errors: r.errors,
                  };
              },
              `${workers}p`,
            );
        } finally {
          await stopServer(child);
        }
      }
    } finally {
      await db.$disconnect();
    }
    const one = rates[1];
    const two = rates[2];
    if (one && two)
      for (const [what, r] of [
        ["tRPC empty poll", two.trpc / one.trpc],
        ["single-call actions.queue", two.queue / one.queue],
      ] as const)
        rows.push({
          figure: `PostgreSQL: ${what}, 2 processes / 1 process`,
          value: `${r.toFixed(2)}×`,
          reference: `2 cores shared by wrk, the bare server (idle then), PostgreSQL and the server processes; bare ceiling ${Math.round(one.bare)}/s then ${Math.round(two.bare)}/s`,
          target: "≥ 1.3×",
          met: r >= 1.3,
        });
    const f1p = fleets[1];
    const f2p = fleets[2];
    if (f1p && f2p) {
      // The fleet is an open loop (a fixed offered rate): a server that keeps up answers all of it, so the
      // answered ratio is 1 whenever one process already keeps up; the p99 ratio shows the headroom.
      // (The requests due in a window vary a little with the agents' random phases: 5 % of slack.)
      const keptUp = f1p.answered >= 0.95 * f1p.offered;
      rows.push({
        figure: `PostgreSQL: fleet of ${fleetN}, 2 processes / 1 process`,
        value: `answered ${(f2p.answered / f1p.answered).toFixed(2)}× (${Math.round(f1p.answered)}/s → ${Math.round(f2p.answered)}/s of ${Math.round(f1p.offered)}/s offered); p99 ${f1(f1p.p99)} → ${f1(f2p.p99)} ms`,
        reference: keptUp
          ? "one process already answered the whole offered load: the ratio is 1 by construction, not a scaling figure"
          : "one process fell behind the offered load: the answered ratio is the scaling figure",
        target: keptUp ? "" : "≥ 1.3×",
        met: keptUp ? null : f2p.answered / f1p.answered >= 1.3,
      });
    }
  } finally {
    await cluster.stop();
  }
}

/**
 * Admins queueing at a fixed rate; then every action must be stored once and delivered once.
 * batch = 1: one HTTP request per actions.queue call (the target); more: tRPC's batch format.
 */
async function queueLoad(fleet: BenchFleet, port: number, pid: number, batch: number, run: number) {
  const base = queueBase + run * 1000;
  const targets = Array.from({ length: 1000 }, (_, i) => machineIdOf(base + i));
  const tag = `b${batch}`;
  log(`queue: ${cfg.queueRate}/s for ${cfg.queueSeconds} s, ${batch} call(s) per request`);
  const s = await sampled(pid, () =>
    Promise.all(
      Array.from({ length: cfg.workers }, (_, w) =>
        work<LoadResult & { ids: string[] }>({
          mode: "queue",
          port,
          adminKey: fleet.adminKey,
          machineIds: targets.filter((_, i) => i % cfg.workers === w),
          batch,
          tag,
          perSecond: cfg.queueRate / cfg.workers,
          durationMs: cfg.queueSeconds * 1000,
          maxSockets: 64,
        }),
      ),
    ),
  );
  const ids = s.value.flatMap((r) => r.ids);
  const errors = s.value.reduce((a, r) => a + r.errors, 0);
  const elapsed = Math.max(...s.value.map((r) => r.elapsedMs)) / 1000;
  const firstError = s.value.find((r) => r.firstError)?.firstError;
  if (firstError) log(`queue first error: ${firstError}`);
  const lat = sortNum(s.value.flatMap((r) => r.latencies));
  // Drain: every target machine claims until empty; each queued id must come back exactly once.
  const seen = new Map<string, number>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const claim = (i: number) =>
    new Promise<string[]>((resolve, reject) => {
      http
        .get(
          {
            host: "127.0.0.1",
            port,
            path: "/trpc/agent.pendingActions?input=%7B%7D",
            agent,
            headers: { authorization: `Bearer ${machineToken(fleet.salt, base + i)}` },
          },
          (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () =>
              res.statusCode === 200
                ? resolve(
                    (JSON.parse(body) as { result: { data: { actions: { id: string }[] } } }).result.data.actions.map(
                      (a) => a.id,
                    ),
                  )
                : reject(new Error(body)),
            );
          },
        )
        .on("error", reject);
    });
  for (let start = 0; start < targets.length; start += 32) {
    await Promise.all(
      Array.from({ length: Math.min(32, targets.length - start) }, async (_, k) => {
        for (;;) {
          const got = await claim(start + k);
          if (got.length === 0) return;
          for (const id of got) seen.set(id, (seen.get(id) ?? 0) + 1);
        }
      }),
    );
  }
  agent.destroy();
  // Counted through the server's own client, so the check reads the same on SQLite and PostgreSQL.
  const db = await openDb(fleet.dbFile);
  let stored: { n: number; d: number };
  let deliveredOnce: number;
  try {
    const tagged = `"createdBy" = 'key:admin' AND "payload" LIKE ?`;
    const [c] = await db.$queryRawUnsafe<{ n: bigint | number; d: bigint | number }[]>(
      `SELECT count(*) AS n, count(DISTINCT id) AS d FROM "Action" WHERE ${tagged}`,
      `%bench ${tag} %`,
    );
    stored = { n: Number(c?.n ?? 0), d: Number(c?.d ?? 0) };
    const [o] = await db.$queryRawUnsafe<{ n: bigint | number }[]>(
      // Any status, as in bench/wrkThroughput.ts: a drain that outlasts the lease under load sees the sweep
      // return its first claims to pending, still delivered once; a second delivery would count 2.
      `SELECT count(*) AS n FROM "Action" WHERE ${tagged} AND "deliveryCount" = 1`,
      `%bench ${tag} %`,
    );
    deliveredOnce = Number(o?.n ?? 0);
  } finally {
    await db.$disconnect();
  }
  const once = ids.every((id) => seen.get(id) === 1) && seen.size === ids.length;
  const rate = ids.length / elapsed;
  rows.push({
    figure: `Queueing actions.queue at ${cfg.queueRate}/s for ${cfg.queueSeconds} s, ${batch === 1 ? "one call per HTTP request" : `${batch} calls per request (tRPC batch)`}`,
    value: `${Math.round(rate)}/s sustained, lag p50 ${f1(pct(lat, 50))} ms p99 ${f1(pct(lat, 99))} ms, ${errors} errors`,
    reference: `${ids.length} accepted, ${stored.n} stored (${stored.d} distinct), ${deliveredOnce} delivered once; drain ${once ? "each exactly once" : "MISMATCH"}`,
    target: batch === 1 ? "≥ 2000/s, stored once, delivered once" : "(for comparison) stored once, delivered once",
    met:
      rate >= 0.98 * cfg.queueRate &&
      errors === 0 &&
      once &&
      stored.n === ids.length &&
      stored.d === ids.length &&
      deliveredOnce === ids.length,
  });
  rows.push({
    figure: `Queueing (${batch === 1 ? "one call per request" : `batches of ${batch}`}): server CPU and peak RSS`,
    value: `${f1(s.cpuPercent)} % of a core, ${f1(s.peakRssMiB)} MiB`,
    reference: "",
    target: "",
    met: null,
  });
}

function print() {
  const header = ["Figure", "Value", "Reference / check", "Target", "Met"];
  const table = rows.map((r) => [r.figure, r.value, r.reference, r.target, r.met === null ? "" : r.met ? "yes" : "NO"]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(
    `\nDashFleet bench ${quick ? "(--quick) " : ""}— ${os.cpus().length} CPUs, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
  );
  console.log(`config: ${JSON.stringify(cfg)}`);
  // A shared machine inflates every figure: the load average at the start of each phase, and now.
  console.log(`load average (1/5/15 min) at each phase: ${loads.join("; ")}; at the end ${loadAverage()}`);
  console.log(`time: ${timings.join("; ")}; whole run ${since(startedAt)}\n`);
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const t of table) console.log(line(t));
  const out = path.join(root, "bench", "results");
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(
    path.join(out, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
    JSON.stringify({ cfg, quick, loads, timings, rows }, null, 2),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

// `npm run bench [-- --quick]`: the performance suite. Starts a DashFleet server and a bare node:http
// reference as child processes; throughput ratios come from wrk (bench/wrk.ts, bench/wrkThroughput.ts)
// against the bare server in the same run; the fleet, batched queueing and push phases are driven from
// forked worker processes (bench/sim.ts, bench/push.ts). Samples the server's memory and CPU from
// /proc, then repeats the poll and queue figures on a throwaway PostgreSQL cluster with 1 and 2 server
// processes, and prints one table of figures, each against its target, with the load average.
// Knobs (env): BENCH_FLEET (machines), BENCH_FACTOR (time compression), BENCH_FLEET_SECONDS,
// BENCH_PUSH_AGENTS, BENCH_QUEUE_RATE, BENCH_QUEUE_SECONDS, BENCH_CONCURRENCY, BENCH_ROUND_SECONDS,
// BENCH_ROUNDS, BENCH_PG (0: skip PostgreSQL), BENCH_PHASES (comma list of poll, fleet, queue, batch,
// push, pg: run only those).
import { fork, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { openDb } from "../server/db.ts";
import { startPgCluster } from "../tests/helpers/pg.ts";
import { prepareFleet, machineIdOf, machineToken, type BenchFleet } from "./setup.ts";
import { pushLatency } from "./push.ts";
import type { Job, LoadResult } from "./sim.ts";
import { ensureWrk, loadAverage } from "./wrk.ts";
import { pollThroughput, queueThroughput } from "./wrkThroughput.ts";
import { freePort, waitHealthy } from "./proc.ts";

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
};
const phases = new Set((process.env.BENCH_PHASES ?? "poll,fleet,queue,batch,push,pg").split(","));
/** Load averages seen at the start of each phase (the machine is shared: figures move with it). */
const loads: string[] = [];

const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** CPU time (s) and memory (MiB) of a process, from /proc. */
function procStats(pid: number): { cpuSeconds: number; rssMiB: number; hwmMiB: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14, 15)
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, rssMiB: kb("VmRSS") / 1024, hwmMiB: kb("VmHWM") / 1024 };
}

/** Measures one phase: CPU share of one core used by the server, and its peak RSS during the phase. */
async function sampled<T>(
  pid: number,
  run: () => Promise<T>,
): Promise<{ value: T; cpuPercent: number; peakRssMiB: number }> {
  const before = procStats(pid);
  const t0 = Date.now();
  let peak = before.rssMiB;
  const timer = setInterval(() => (peak = Math.max(peak, procStats(pid).rssMiB)), 250);
  try {
    const value = await run();
    const after = procStats(pid);
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

/** Runs one job in a forked worker and returns its result. */
function work<R>(job: Job, onMessage?: (m: unknown, child: ChildProcess) => void): Promise<R> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(root, "bench", "sim.ts"), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    child.on("message", (m: { result?: R; error?: string }) => {
      if (m.result !== undefined) resolve(m.result);
      else if (m.error !== undefined) reject(new Error(m.error));
      else onMessage?.(m, child);
    });
    child.on("exit", (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
    child.send(job);
  });
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const sortNum = (xs: number[]) => xs.sort((a, b) => a - b);
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");

type Row = { figure: string; value: string; reference: string; target: string; met: boolean | null };
const rows: Row[] = [];
let coldStart = "";
/** Index of the first of the machines reserved for the queueing runs. */
let queueBase = 0;

/** Starts `node server/index.ts` with the bench's environment; resolves once /healthz answers. */
async function startBenchServer(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "server/index.ts"], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      DASHFLEET_DEMO: "false",
      // Simulators run on compressed time and queue far above a human's rate: lift the per-minute limits.
      DASHFLEET_AGENT_PER_MINUTE: "1000000",
      DASHFLEET_QUEUE_PER_MINUTE: "100000000",
      ...env,
    },
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

async function main() {
  ensureWrk();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-bench-"));
  // Each queueing run uses 1,000 machines of its own past the fleet and the push agents: its actions are drained
  // but never acknowledged, so their leases run out later, and they must not reach the push phase.
  queueBase = Math.max(cfg.fleet, cfg.pushAgents);
  const machines = queueBase + 2000;
  log(`preparing a database with ${machines} machines in ${dir}; load average ${loadAverage()}`);
  const fleet = await prepareFleet(path.join(dir, "fleet.db"), machines);
  await enableLegacy(fleet.dbFile, fleet.orgId);

  const bare = fork(path.join(root, "bench", "bare.ts"), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const barePort = await new Promise<number>((r) => bare.once("message", (m: { port: number }) => r(m.port)));
  const { child: server, port } = await startBenchServer({ DASHFLEET_DB: fleet.dbFile });
  try {
    const pid = server.pid!;
    log(`server pid ${pid} on port ${port}; bare reference on ${barePort}`);
    const phase = async (name: string, run: () => Promise<unknown>) => {
      if (!phases.has(name)) return;
      loads.push(`${name} ${loadAverage()}`);
      await run();
    };
    await phase("poll", async () => {
      const r = await pollThroughput({ fleet, port, barePort, pid, ...pollCfg() });
      rows.push(...r.rows);
    });
    await phase("fleet", () => fleetLoad(fleet, port, pid));
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
    await phase("push", async () =>
      rows.push(
        ...(await pushLatency(fleet, port, pid, {
          agents: cfg.pushAgents,
          actions: cfg.pushActions,
          workers: cfg.workers,
        })),
      ),
    );
    const final = procStats(pid);
    rows.push({
      figure: "Server peak memory (VmHWM, whole run)",
      value: `${f1(final.hwmMiB)} MiB`,
      reference: "",
      target: "< 1024 MiB",
      met: final.hwmMiB < 1024,
    });
    await stopServer(server);
    await phase("pg", () => postgres(barePort));
  } finally {
    await stopServer(server);
    bare.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  print();
}

const pollCfg = () => ({ rounds: cfg.rounds, seconds: cfg.roundSeconds, connections: cfg.concurrency });
const queueCfg = () => ({ seconds: cfg.queueSeconds, connections: cfg.concurrency });

/**
 * The same poll and queue figures with the server on PostgreSQL (a throwaway cluster, fsync on), with
 * DASHFLEET_WORKERS=1 and =2, and the 2/1 ratios. wrk and the bare server share the same two cores,
 * so on this machine a second server process competes with the generator for CPU.
 */
async function postgres(barePort: number) {
  const cluster = await startPgCluster();
  try {
    const url = await cluster.createDatabase("bench");
    log(`PostgreSQL: preparing ${cfg.pgMachines} machines; load average ${loadAverage()}`);
    const fleet = await prepareFleet(url, cfg.pgMachines);
    await enableLegacy(url, fleet.orgId);
    const db = await openDb(url);
    const rates: Record<number, { trpc: number; queue: number; bare: number }> = {};
    try {
      for (const workers of [1, 2]) {
        const label = `PostgreSQL, ${workers} process${workers > 1 ? "es" : ""}`;
        const { child, port } = await startBenchServer({
          DASHFLEET_DATABASE_URL: url,
          DASHFLEET_WORKERS: String(workers),
        });
        try {
          const pid = child.pid!;
          // Two rounds each, so the whole run stays under ~15 minutes.
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
            base: cfg.pgMachines - 2000 + (workers - 1) * 1000,
            tag: `pg${workers}`,
            label,
            ...queueCfg(),
          });
          rows.push(...queue.rows);
          rates[workers] = { trpc: poll.rates.trpc ?? NaN, queue: queue.rate, bare: poll.rates.bare ?? NaN };
        } finally {
          await stopServer(child);
        }
      }
    } finally {
      await db.$disconnect();
    }
    const one = rates[1]!;
    const two = rates[2]!;
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
  } finally {
    await cluster.stop();
  }
}

/** The simulated fleet: N agents polling every 30 s and reporting every 60 s (divided by the factor). */
async function fleetLoad(fleet: BenchFleet, port: number, pid: number) {
  const n = cfg.fleet;
  const pollMs = 30_000 / cfg.factor;
  const reportMs = 60_000 / cfg.factor;
  log(`fleet: ${n} agents, poll every ${pollMs} ms, report every ${reportMs} ms, for ${cfg.fleetSeconds} s`);
  const per = Math.ceil(n / cfg.workers);
  const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? (2 * pollMs) / 1000);
  const fleetJob = (w: number): Job => ({
    mode: "fleet",
    port,
    salt: fleet.salt,
    from: w * per,
    to: Math.min(n, (w + 1) * per),
    pollMs,
    reportMs,
    warmupMs: warmupSeconds * 1000,
    durationMs: cfg.fleetSeconds * 1000,
    maxSockets: 1000,
  });
  type FleetResult = LoadResult & {
    polls: number;
    reports: number;
    warm: { latencies: number[]; errors: number; reports: number; firstError: string | null };
  };
  const db = new Database(fleet.dbFile, { readonly: true });
  const reportsBefore = (db.prepare(`SELECT count(*) AS n FROM "MetricReport"`).get() as { n: number }).n;
  // The workers run warm-up and measured window in one go, on the same connections. The warm-up is the
  // whole fleet arriving at a fresh server (every credential looked up once), counted apart.
  const s = await sampled(pid, () =>
    Promise.all(Array.from({ length: cfg.workers }, (_, w) => work<FleetResult>(fleetJob(w)))),
  );
  const warmLat = sortNum(s.value.flatMap((r) => r.warm.latencies));
  coldStart = `first ${warmupSeconds} s: p50 ${f1(pct(warmLat, 50))} ms, p99 ${f1(pct(warmLat, 99))} ms, ${s.value.reduce((a, r) => a + r.warm.errors, 0)} errors`;
  const warmError = s.value.find((r) => r.warm.firstError)?.warm.firstError;
  log(`fleet cold start: ${coldStart}${warmError ? ` (first error: ${warmError})` : ""}`);
  const reportsAfter = (db.prepare(`SELECT count(*) AS n FROM "MetricReport"`).get() as { n: number }).n;
  db.close();
  const lat = sortNum(s.value.flatMap((r) => r.latencies));
  const polls = s.value.reduce((a, r) => a + r.polls, 0);
  const reports = s.value.reduce((a, r) => a + r.reports, 0);
  const allReports = reports + s.value.reduce((a, r) => a + r.warm.reports, 0);
  const errors = s.value.reduce((a, r) => a + r.errors, 0);
  const firstError = s.value.find((r) => r.firstError)?.firstError;
  if (firstError) log(`fleet first error: ${firstError}`);
  const p99 = pct(lat, 99);
  rows.push({
    figure: `Fleet of ${n} (×${cfg.factor} time): ${f1(polls / cfg.fleetSeconds)} polls/s + ${f1(reports / cfg.fleetSeconds)} reports/s for ${cfg.fleetSeconds} s`,
    value: `p50 ${f1(pct(lat, 50))} ms, p99 ${f1(p99)} ms, max ${f1(lat.at(-1) ?? NaN)} ms, ${errors} errors`,
    reference: `${reportsAfter - reportsBefore} report rows stored for ${allReports} answered (warm-up included)`,
    target: "p99 < 50 ms, 0 errors",
    met: p99 < 50 && errors === 0 && reportsAfter - reportsBefore === allReports,
  });
  rows.push({
    figure: "Fleet cold start (warm-up, not the target)",
    value: coldStart,
    reference: "",
    target: "",
    met: null,
  });
  rows.push({
    figure: "Fleet: server CPU and peak RSS during the run",
    value: `${f1(s.cpuPercent)} % of a core, ${f1(s.peakRssMiB)} MiB`,
    reference: "",
    target: "< 1024 MiB",
    met: s.peakRssMiB < 1024,
  });
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
  const db = new Database(fleet.dbFile, { readonly: true });
  const stored = db
    .prepare(
      `SELECT count(*) AS n, count(DISTINCT id) AS d FROM "Action" WHERE "createdBy" = 'key:admin' AND "payload" LIKE ?`,
    )
    .get(`%bench ${tag} %`) as { n: number; d: number };
  const deliveredOnce = (
    db
      .prepare(
        `SELECT count(*) AS n FROM "Action" WHERE "createdBy" = 'key:admin' AND "payload" LIKE ? AND "deliveryCount" = 1 AND "status" = 'delivered'`,
      )
      .get(`%bench ${tag} %`) as { n: number }
  ).n;
  db.close();
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
  console.log(`load average (1/5/15 min) at each phase: ${loads.join("; ")}; at the end ${loadAverage()}\n`);
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const t of table) console.log(line(t));
  const out = path.join(root, "bench", "results");
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(
    path.join(out, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
    JSON.stringify({ cfg, quick, loads, rows }, null, 2),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

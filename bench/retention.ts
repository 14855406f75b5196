// `npm run bench:retention`: a 100,000-machine fleet over a simulated week in compressed time, to show
// that the database stops growing once retention prunes as fast as reports arrive, and what pruning
// does to request latency. Prints a table and writes it as JSON to bench/results/.
//
// Scaling (printed with the figures, and in docs/benchmarks.md): a real 100,000-machine fleet at a
// 10 s report interval writes 10,000 rows/s (864 M a day); a week of that cannot be written in
// minutes. So the retention job and the stored report times run on a compressed clock (a week in
// BENCH_SECONDS real seconds), and reports arrive at a rate the machine can take: BENCH_ROWS_PER_SECOND
// rows/s are inserted into the server's own database connection (multi-row INSERTs in short
// transactions, as the report group commit does), so each machine reports every
// fleet × compression / rate simulated seconds. The rollup windows are scaled too (5-minute rollups
// kept 1 day, hourly ones 3 days, raw reports the default 48 h), so every tier reaches its retention
// within the week. Requests run in real time against the same server from forked worker processes, at
// a sampled rate (BENCH_POLLS_PER_SECOND agent polls and BENCH_REPORTS_PER_SECOND reports spread over
// the machines' tokens, and an admin paging fleet.list): the whole fleet's 5,000 requests/s are
// bench/run.ts's subject; here the question is what a retention round adds to a request's latency, so
// latencies are split by whether a round was running when the request was due.
//
// Knobs (env): BENCH_FLEET, BENCH_SECONDS, BENCH_SIM_DAYS, BENCH_ROWS_PER_SECOND, BENCH_ROUND_SECONDS,
// BENCH_POLLS_PER_SECOND, BENCH_REPORTS_PER_SECOND, BENCH_LIST_PER_SECOND, BENCH_WARMUP_SECONDS.
import { fork } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { startServer } from "../server/app.ts";
import type { Clock } from "../server/clock.ts";
import { loadConfig } from "../server/config.ts";
import { RetentionJob, type RetentionRound } from "../server/services/retention.ts";
import { machineToken, prepareFleet } from "./setup.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const env = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const cfg = {
  fleet: env("BENCH_FLEET", 100_000),
  seconds: env("BENCH_SECONDS", 360),
  simDays: env("BENCH_SIM_DAYS", 7),
  rowsPerSecond: env("BENCH_ROWS_PER_SECOND", 4000),
  roundSeconds: env("BENCH_ROUND_SECONDS", 10),
  pollsPerSecond: env("BENCH_POLLS_PER_SECOND", 200),
  reportsPerSecond: env("BENCH_REPORTS_PER_SECOND", 50),
  listPerSecond: env("BENCH_LIST_PER_SECOND", 2),
  warmupSeconds: env("BENCH_WARMUP_SECONDS", 20),
  workers: 2,
};
/** Simulated seconds per real second. */
const compression = (cfg.simDays * 86400) / cfg.seconds;
const retention = {
  rawHours: 48,
  fiveMinuteDays: 1,
  hourlyDays: 3,
  actionsDays: 90,
  auditDays: 365,
  sessionsDays: 0,
  everySeconds: 0,
};

const nowMs = () => performance.timeOrigin + performance.now();
const log = (msg: string) => console.error(`[retention ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** A clock that runs `factor` times faster than real time from `start`. */
class CompressedClock implements Clock {
  readonly #real0 = performance.now();
  constructor(
    readonly start: number,
    readonly factor: number,
  ) {}
  now(): Date {
    return new Date(this.start + (performance.now() - this.#real0) * this.factor);
  }
}

// ---------------------------------------------------------------------------------------------------
// Worker: open-loop requests at fixed rates; latency counts from when a request was due.

type WorkerJob = {
  port: number;
  salt: string;
  from: number;
  to: number;
  pollsPerSecond: number;
  reportsPerSecond: number;
  listPerSecond: number;
  adminKey: string;
  startAt: number;
  warmupMs: number;
  durationMs: number;
};
type Kind = "poll" | "report" | "list";
type Stats = { count: number; p50: number; p99: number; max: number };
type WorkerResult = {
  sent: number;
  answered: number;
  errors: number;
  firstError: string | null;
  stats: Record<Kind, { during: Stats; outside: Stats; all: Stats }>;
};

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : NaN);
  return { count: s.length, p50: at(0.5), p99: at(0.99), max: s.length ? s[s.length - 1]! : NaN };
}

async function worker(job: WorkerJob): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 500 });
  const samples: Record<Kind, { due: number[]; ms: number[] }> = {
    poll: { due: [], ms: [] },
    report: { due: [], ms: [] },
    list: { due: [], ms: [] },
  };
  let errors = 0;
  let answered = 0;
  let firstError: string | null = null;
  const request = (kind: Kind, i: number, due: number) => {
    const machineHeaders = { authorization: `Bearer ${machineToken(job.salt, i)}` };
    const body =
      kind === "report"
        ? JSON.stringify({
            metrics: {
              cpuPercent: Math.round(Math.random() * 1000) / 10,
              memoryPercent: 42.5,
              diskPercent: 61.2,
              uptimeSeconds: 12345,
            },
          })
        : undefined;
    const pathOf =
      kind === "poll"
        ? "/trpc/agent.pendingActions?input=%7B%7D"
        : kind === "report"
          ? "/trpc/agent.report"
          : `/trpc/fleet.list?input=${encodeURIComponent(JSON.stringify({ limit: 50, sort: ["hostname", "cpu", "health", "lastSeen"][i % 4] }))}`;
    const headers = kind === "list" ? { authorization: `Bearer ${job.adminKey}` } : machineHeaders;
    const req = http.request(
      {
        host: "127.0.0.1",
        port: job.port,
        method: body ? "POST" : "GET",
        path: pathOf,
        agent,
        headers: body
          ? { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) }
          : headers,
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          answered += 1;
          if (res.statusCode !== 200) {
            errors += 1;
            firstError ??= `${kind} HTTP ${res.statusCode}`;
          } else if (due >= job.startAt + job.warmupMs) {
            samples[kind].due.push(due);
            samples[kind].ms.push(nowMs() - due);
          }
        });
      },
    );
    req.on("error", (err) => {
      errors += 1;
      firstError ??= `${kind}: ${String(err)}`;
    });
    req.end(body);
  };
  const rates: [Kind, number][] = [
    ["poll", job.pollsPerSecond],
    ["report", job.reportsPerSecond],
    ["list", job.listPerSecond],
  ];
  const sent: Record<Kind, number> = { poll: 0, report: 0, list: 0 };
  const end = job.startAt + job.warmupMs + job.durationMs;
  while (nowMs() < job.startAt) await sleep(5);
  while (nowMs() < end) {
    const elapsed = nowMs() - job.startAt;
    for (const [kind, rate] of rates) {
      const due = Math.floor((elapsed * rate) / 1000);
      for (; sent[kind] < due; sent[kind]++) {
        const i = job.from + ((sent[kind] * 7919) % (job.to - job.from));
        request(kind, i, job.startAt + (sent[kind] * 1000) / rate);
      }
    }
    await sleep(5);
  }
  await sleep(2000); // let the last answers arrive
  agent.destroy();
  // The parent sends the retention rounds' [start, end] once the run is over; latencies are split by them.
  const rounds = await new Promise<[number, number][]>((r) =>
    process.once("message", (m: { rounds: [number, number][] }) => r(m.rounds)),
  );
  const during = (t: number) => rounds.some(([a, b]) => t >= a && t <= b);
  const out = {} as WorkerResult["stats"];
  for (const kind of ["poll", "report", "list"] as const) {
    const d: number[] = [];
    const o: number[] = [];
    samples[kind].due.forEach((t, k) => (during(t) ? d : o).push(samples[kind].ms[k]!));
    out[kind] = { during: stats(d), outside: stats(o), all: stats([...d, ...o]) };
  }
  const result: WorkerResult = { sent: sent.poll + sent.report + sent.list, answered, errors, firstError, stats: out };
  await new Promise<void>((resolve) => process.send!({ result }, undefined, {}, () => resolve()));
}

// ---------------------------------------------------------------------------------------------------
// Parent: the server, the compressed inflow, the retention rounds, the size samples.

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-retention-"));
  const dbFile = path.join(dir, "fleet.db");
  const started = Date.now();
  log(`preparing ${cfg.fleet} machines in ${dir}`);
  const fleet = await prepareFleet(dbFile, cfg.fleet);
  const config = loadConfig({
    DASHFLEET_DB: dbFile,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    DASHFLEET_DEMO: "false",
    DASHFLEET_AGENT_PER_MINUTE: "1000000",
    DASHFLEET_RETAIN_EVERY_SECONDS: "0", // the bench runs the rounds itself, on the compressed clock
  });
  // The server answers requests on the real clock (leases, caches and online state as in production).
  const server = await startServer({ config, log: pino({ level: "warn" }) });
  const db = server.deps.db;
  const sizeOf = () =>
    ["", "-wal"].reduce((sum, s) => sum + (fs.existsSync(dbFile + s) ? fs.statSync(dbFile + s).size : 0), 0);
  log(`server on port ${server.port}; database ${mib(sizeOf())} MiB before the run`);

  const startAt = nowMs() + 1000;
  const per = Math.ceil(cfg.fleet / cfg.workers);
  const workers = Array.from({ length: cfg.workers }, (_, w) => {
    const child = fork(fileURLToPath(import.meta.url), ["--worker"], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const job: WorkerJob = {
      port: server.port,
      salt: fleet.salt,
      from: w * per,
      to: Math.min(cfg.fleet, (w + 1) * per),
      pollsPerSecond: cfg.pollsPerSecond / cfg.workers,
      reportsPerSecond: cfg.reportsPerSecond / cfg.workers,
      listPerSecond: cfg.listPerSecond / cfg.workers,
      adminKey: fleet.adminKey,
      startAt,
      warmupMs: cfg.warmupSeconds * 1000,
      durationMs: cfg.seconds * 1000,
    };
    const result = new Promise<WorkerResult>((resolve, reject) => {
      child.on("message", (m: { result?: WorkerResult }) => m.result && resolve(m.result));
      child.on("exit", (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
    });
    child.send(job);
    return { child, result };
  });

  // Warm-up in real time (agents arriving, credentials cached), then the compressed week.
  while (nowMs() < startAt + cfg.warmupSeconds * 1000) await sleep(50);
  const clock = new CompressedClock(Date.now(), compression);
  const job = new RetentionJob({ db, clock, config: { ...config, retention }, log: pino({ level: "warn" }) });
  const runEnd = nowMs() + cfg.seconds * 1000;
  const simDay = () => (clock.now().getTime() - clock.start) / 86_400_000;

  // Inflow: every 100 ms the rows due by now, as multi-row INSERTs (250 rows each) in one transaction.
  let injected = 0;
  const commitMs: number[] = [];
  const inflow = (async () => {
    const t0 = nowMs();
    while (nowMs() < runEnd) {
      const due = Math.floor(((nowMs() - t0) * cfg.rowsPerSecond) / 1000);
      // Never more than half a second's rows at once: a writer that falls behind shows as a lower rate.
      const n = Math.min(due - injected, cfg.rowsPerSecond / 2);
      if (n > 0) {
        const at = clock.now();
        const statements = [];
        for (let k = 0; k < n; k += 250) {
          const m = Math.min(250, n - k);
          const params: unknown[] = [];
          for (let j = 0; j < m; j++) {
            const i = (injected + k + j) % cfg.fleet;
            params.push(`bm_${fleet.salt}_${i}`, at, (i % 97) + Math.random(), 40 + (i % 13), 60, 3600);
          }
          statements.push(
            db.$executeRawUnsafe(
              `INSERT INTO "MetricReport" ("machineRef", "at", "cpu", "memory", "disk", "uptime") VALUES ${Array.from({ length: m }, () => "(?, ?, ?, ?, ?, ?)").join(", ")}`,
              ...params,
            ),
          );
        }
        const c0 = nowMs();
        await db.$transaction(statements);
        commitMs.push(nowMs() - c0);
        injected += n;
      }
      await sleep(100);
    }
  })();

  // Retention rounds every BENCH_ROUND_SECONDS (real), each on the compressed clock.
  const rounds: { start: number; end: number; simDay: number; round: RetentionRound }[] = [];
  const pruning = (async () => {
    while (nowMs() < runEnd) {
      const start = nowMs();
      const round = await job.runOnce();
      rounds.push({ start, end: nowMs(), simDay: simDay(), round });
      const wait = cfg.roundSeconds * 1000 - (nowMs() - start);
      if (wait > 0) await sleep(Math.min(wait, runEnd - nowMs()));
    }
  })();

  // Size samples every second: database + WAL file, by simulated day.
  const sizes: { simDay: number; bytes: number }[] = [];
  let lastDay = -1;
  while (nowMs() < runEnd) {
    sizes.push({ simDay: simDay(), bytes: sizeOf() });
    const day = Math.floor(simDay());
    if (day !== lastDay) {
      lastDay = day;
      log(`simulated day ${day}: ${mib(sizeOf())} MiB, ${injected} rows injected, ${rounds.length} rounds`);
    }
    await sleep(1000);
  }
  await Promise.all([inflow, pruning]);
  const rolled = rounds.reduce((s, r) => s + r.round.rolledUp, 0);
  const last = await job.runOnce();
  await job.stop();
  const results = await Promise.all(
    workers.map(({ child, result }) => {
      child.send({ rounds: rounds.map((r) => [r.start, r.end]) });
      return result;
    }),
  );
  const count = async (sql: string) => Number((await db.$queryRawUnsafe<{ n: bigint | number }[]>(sql))[0]!.n);
  const rows = {
    raw: await count(`SELECT COUNT(*) AS n FROM "MetricReport"`),
    fiveMinute: await count(`SELECT COUNT(*) AS n FROM "MetricRollup" WHERE "resolution" = '5m'`),
    hourly: await count(`SELECT COUNT(*) AS n FROM "MetricRollup" WHERE "resolution" = '1h'`),
  };
  const finalBytes = sizeOf();
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });

  // Plateau: the largest size of each simulated day.
  const days = Math.ceil(cfg.simDays);
  const perDay = Array.from({ length: days }, (_, d) =>
    Math.max(0, ...sizes.filter((s) => Math.floor(s.simDay) === d).map((s) => s.bytes)),
  );
  const settled = perDay.slice(3);
  const plateau = Math.max(...settled);
  const growth = settled.length > 1 ? (settled.at(-1)! - settled[0]!) / settled[0]! : NaN;
  const roundMs = stats(rounds.map((r) => r.end - r.start));
  const batchMs = stats(rounds.map((r) => r.round.longestBatchMs));
  const merge = (kind: Kind, part: "during" | "outside" | "all"): Stats => {
    // Percentiles of the two workers' halves: the worse of the two (each saw half the fleet).
    const s = results.map((r) => r.stats[kind][part]);
    return {
      count: s.reduce((a, b) => a + b.count, 0),
      p50: Math.max(...s.map((x) => x.p50)),
      p99: Math.max(...s.map((x) => x.p99)),
      max: Math.max(...s.map((x) => x.max)),
    };
  };
  const errors = results.reduce((s, r) => s + r.errors, 0);
  const sentTotal = results.reduce((s, r) => s + r.sent, 0);
  const answeredTotal = results.reduce((s, r) => s + r.answered, 0);
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");
  const perMachineSim = (cfg.fleet / cfg.rowsPerSecond) * compression;
  const lines: [string, string][] = [
    [
      "Fleet",
      `${cfg.fleet} machines (bulk-inserted), ${cfg.simDays} simulated days in ${cfg.seconds} s real (×${Math.round(compression)})`,
    ],
    [
      "Compressed inflow",
      `${injected} report rows (${Math.round(injected / cfg.seconds)}/s real; a real fleet of this size at 10 s writes 10,000/s): one report per machine every ${f(perMachineSim / 3600)} simulated hours`,
    ],
    [
      "Retention windows",
      "raw 48 h (default); 5-minute rollups 1 day, hourly 3 days (scaled down from 30 and 400 days so every tier prunes within the week)",
    ],
    [
      "Retention rounds",
      `${rounds.length}, every ${cfg.roundSeconds} s real (${f((cfg.roundSeconds * compression) / 3600)} simulated h); round p50 ${f(roundMs.p50)} ms, max ${f(roundMs.max)} ms; ${rolled} rows rolled up`,
    ],
    [
      "Longest single retention batch (writer held)",
      `p50 over rounds ${f(batchMs.p50)} ms, max ${f(batchMs.max)} ms (batches of ≤ 1,000 rows, vacuum steps of 256 pages)`,
    ],
    ["Database + WAL, largest per simulated day (MiB)", perDay.map((b, d) => `d${d} ${mib(b)}`).join(", ")],
    [
      "Plateau (days 3–end)",
      `${mib(plateau)} MiB; change from day 3 to the last day ${f(100 * growth)} %; at the end ${mib(finalBytes)} MiB`,
    ],
    [
      "Rows at the end",
      `raw ${rows.raw}, 5-minute ${rows.fiveMinute}, hourly ${rows.hourly}; last round ${JSON.stringify(last.pruned)}`,
    ],
    ["Inflow commit (per 100 ms batch)", `p50 ${f(stats(commitMs).p50)} ms, p99 ${f(stats(commitMs).p99)} ms`],
  ];
  for (const kind of ["poll", "report", "list"] as const) {
    const d = merge(kind, "during");
    const o = merge(kind, "outside");
    const name =
      kind === "poll"
        ? "Agent poll (agent.pendingActions)"
        : kind === "report"
          ? "Agent report (agent.report)"
          : "Admin fleet.list page (50 rows)";
    lines.push([
      name,
      `during rounds p50 ${f(d.p50)} / p99 ${f(d.p99)} / max ${f(d.max)} ms (${d.count}); outside p50 ${f(o.p50)} / p99 ${f(o.p99)} ms (${o.count})`,
    ]);
  }
  const agentDuring = Math.max(merge("poll", "during").p99, merge("report", "during").p99);
  lines.push([
    "Agent p99 during pruning vs target p99 < 50 ms",
    `${f(agentDuring)} ms: ${agentDuring < 50 ? "met" : "MISSED"}; ${answeredTotal} of ${sentTotal} requests answered, ${errors} errors${errors ? ` (first: ${results.find((r) => r.firstError)?.firstError})` : ""}`,
  ]);
  lines.push([
    "Run time",
    `${Math.round((Date.now() - started) / 1000)} s, load average at the end ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")} (shared machine, ${os.cpus().length} cores)`,
  ]);
  console.log("\nRetention bench");
  for (const [k, v] of lines) console.log(`${k.padEnd(48)} ${v}`);
  fs.mkdirSync(path.join(root, "bench", "results"), { recursive: true });
  fs.writeFileSync(
    path.join(root, "bench", "results", `retention-${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
    JSON.stringify(
      { cfg, lines, perDay, rounds: rounds.map((r) => ({ wallMs: r.end - r.start, simDay: r.simDay, ...r.round })) },
      null,
      2,
    ),
  );
}

if (process.argv.includes("--worker")) {
  process.once("message", (job: WorkerJob) => {
    worker(job).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

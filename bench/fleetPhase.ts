// The simulated fleet phase of `npm run bench` (bench/run.ts), for any database and any number of server
// processes: N agents polling every 30 s and reporting every 60 s (divided by the time factor), driven
// from forked bench/sim.ts workers. Report rows are counted through the server's own db module
// (`openDb`: SQLite or PostgreSQL). CPU and memory are summed over the server's process tree (a
// cluster's primary and workers) and, on PostgreSQL, over the cluster's processes; the machine's own
// CPU split (/proc/stat) says whether the time went to CPU or to waiting for the disk.
import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isPostgresUrl } from "../server/db/dialect.ts";
import { openDb, type Db } from "../server/db.ts";
import type { BenchFleet } from "./setup.ts";
import { processTree } from "./proc.ts";
import type { Job, LoadResult } from "./sim.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");

export type Row = { figure: string; value: string; reference: string; target: string; met: boolean | null };

/** Runs one job in a forked bench/sim.ts worker and returns its result. */
export function forkSim<R>(
  job: Job,
  onMessage?: (m: unknown, child: ChildProcess) => void,
  onSpawn?: (child: ChildProcess) => void,
): Promise<R> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(root, "bench", "sim.ts"), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    onSpawn?.(child);
    child.on("message", (m: { result?: R; error?: string }) => {
      if (m.result !== undefined) resolve(m.result);
      else if (m.error !== undefined) reject(new Error(m.error));
      else onMessage?.(m, child);
    });
    child.on("exit", (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
    child.send(job);
  });
}

/** A process's command name, or "?" once it has ended. */
function comm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

/**
 * CPU seconds and memory (MiB, summed) of a process tree, from /proc. tsx's esbuild service (a child of
 * a server started through tsx, there only to compile TypeScript) is left out: it is not the server.
 */
export function treeStats(pid: number): { cpuSeconds: number; rssMiB: number; hwmMiB: number; processes: number } {
  let ticks = 0;
  let rss = 0;
  let hwm = 0;
  const pids = processTree(pid).filter((p) => comm(p) !== "esbuild");
  for (const p of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14, 15)
      const status = fs.readFileSync(`/proc/${p}/status`, "utf8");
      const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
      rss += kb("VmRSS");
      hwm += kb("VmHWM");
    } catch {
      // gone
    }
  }
  return { cpuSeconds: ticks / 100, rssMiB: rss / 1024, hwmMiB: hwm / 1024, processes: pids.length };
}

/** The machine's CPU time so far by kind (all cores, in ticks), from the first line of /proc/stat. */
function machineTicks(): { user: number; system: number; iowait: number; idle: number; total: number } {
  const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return {
    user: user + nice,
    system: system + irq + softirq,
    iowait,
    idle,
    total: user + nice + system + idle + iowait + irq + softirq + steal,
  };
}

/** Report rows stored so far, through the server's own client (SQLite or PostgreSQL). */
export async function countReports(db: Db): Promise<number> {
  const rows = await db.$queryRawUnsafe<{ n: bigint | number }[]>(`SELECT count(*) AS n FROM "MetricReport"`);
  return Number(rows[0]?.n ?? 0);
}

type PgCounters = {
  commits: number;
  updates: number;
  hot: number;
  wal: string;
  walRecords: number;
  machineIndexBytes: number;
};

/**
 * PostgreSQL's own counters: commits, Machine rows updated (and how many as HOT updates), WAL position
 * and records (the whole cluster: the bench's own), and the size of Machine's indexes. Per stored
 * report they do not depend on how busy the machine is, unlike latencies.
 */
async function pgCounters(db: Db): Promise<PgCounters> {
  const [t] = await db.$queryRawUnsafe<{ upd: bigint; hot: bigint; idx: bigint }[]>(
    `SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot, pg_indexes_size(relid) AS idx FROM pg_stat_user_tables WHERE relname = 'Machine'`,
  );
  const [d] = await db.$queryRawUnsafe<{ commits: bigint; wal: string; records: bigint }[]>(
    `SELECT xact_commit AS commits, pg_current_wal_lsn()::text AS wal, (SELECT wal_records FROM pg_stat_wal) AS records ` +
      `FROM pg_stat_database WHERE datname = current_database()`,
  );
  return {
    commits: Number(d?.commits ?? 0),
    updates: Number(t?.upd ?? 0),
    hot: Number(t?.hot ?? 0),
    wal: d?.wal ?? "0/0",
    walRecords: Number(d?.records ?? 0),
    machineIndexBytes: Number(t?.idx ?? 0),
  };
}

/** Bytes between two WAL positions ("X/Y", hexadecimal halves of a 64-bit offset). */
function walBytes(from: string, to: string): number {
  const at = (lsn: string) => {
    const [hi = "0", lo = "0"] = lsn.split("/");
    return parseInt(hi, 16) * 2 ** 32 + parseInt(lo, 16);
  };
  return at(to) - at(from);
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export type FleetOptions = {
  fleet: BenchFleet;
  port: number;
  /** The server's pid; its child processes (cluster workers) are counted with it. */
  pid: number;
  machines: number;
  factor: number;
  seconds: number;
  /** Simulator processes. */
  workers: number;
  /** Put before each figure, e.g. "PostgreSQL, 2 processes" (empty for the SQLite run). */
  label?: string;
  /** The database's own processes (PostgreSQL's postmaster), whose CPU is shown beside the server's. */
  dbPid?: number;
};

export type FleetSummary = {
  rows: Row[];
  p99: number;
  errors: number;
  /** Requests answered per second of wall time (warm-up excluded, the tail's drain included); NaN if not finished. */
  answeredPerSecond: number;
  offeredPerSecond: number;
};

type FleetResult = LoadResult & {
  polls: number;
  reports: number;
  warm: { latencies: number[]; errors: number; reports: number; firstError: string | null };
};

/** The simulated fleet against a running server; one row against the target, and where the time went. */
export async function fleetLoad(o: FleetOptions): Promise<FleetSummary> {
  const n = o.machines;
  const pollMs = 30_000 / o.factor;
  const reportMs = 60_000 / o.factor;
  const prefix = o.label ? `${o.label}: ` : "";
  log(`${prefix}fleet: ${n} agents, poll every ${pollMs} ms, report every ${reportMs} ms, for ${o.seconds} s`);
  const per = Math.ceil(n / o.workers);
  const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? (2 * pollMs) / 1000);
  const job = (w: number): Job => ({
    mode: "fleet",
    port: o.port,
    salt: o.fleet.salt,
    from: w * per,
    to: Math.min(n, (w + 1) * per),
    pollMs,
    reportMs,
    warmupMs: warmupSeconds * 1000,
    durationMs: o.seconds * 1000,
    maxSockets: 1000,
  });
  const db = await openDb(o.fleet.dbFile);
  try {
    const reportsBefore = await countReports(db);
    const onPg = isPostgresUrl(o.fleet.dbFile);
    // A busy PostgreSQL backend publishes its statistics once a second, an idle one up to 10 s after its
    // last commit: wait that long first, so the server's start (the fleet-state backfill over every
    // machine) is not counted, and a second after the run.
    const statsLag = (ms: number) => new Promise((r) => setTimeout(r, ms));
    if (onPg) await statsLag(11_000);
    const pgBefore = onPg ? await pgCounters(db) : null;
    log(
      `${prefix}fleet: server processes ${processTree(o.pid)
        .map((p) => `${p} (${comm(p)})`)
        .join(", ")}`,
    );
    const server0 = treeStats(o.pid);
    const pg0 = o.dbPid ? treeStats(o.dbPid) : null;
    const m0 = machineTicks();
    const t0 = Date.now();
    let peak = server0.rssMiB;
    const timer = setInterval(() => (peak = Math.max(peak, treeStats(o.pid).rssMiB)), 250);
    // The workers run warm-up and measured window in one go, on the same connections. The warm-up is the
    // whole fleet arriving at a fresh server (every credential looked up once), counted apart.
    // A server far behind the offered load (or starved of CPU on a shared machine) would leave the
    // simulators waiting for their backlog for as long again: past this limit they are stopped and the
    // run counts as not finished.
    const limitSeconds = Number(process.env.BENCH_FLEET_MAX_SECONDS ?? warmupSeconds + o.seconds + 180);
    const sims: ChildProcess[] = [];
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      log(`${prefix}fleet: requests still unanswered after ${limitSeconds} s: stopping the simulators`);
      for (const c of sims) c.kill("SIGKILL");
    }, limitSeconds * 1000);
    let results: FleetResult[] = [];
    try {
      results = await Promise.all(
        Array.from({ length: o.workers }, (_, w) => forkSim<FleetResult>(job(w), undefined, (c) => sims.push(c))),
      );
    } catch (err) {
      if (!timedOut) throw err;
    } finally {
      clearInterval(timer);
      clearTimeout(deadline);
    }
    const seconds = (Date.now() - t0) / 1000;
    const server1 = treeStats(o.pid);
    peak = Math.max(peak, server1.rssMiB);
    const pg1 = o.dbPid ? treeStats(o.dbPid) : null;
    const m1 = machineTicks();
    const reportsAfter = await countReports(db);
    if (onPg) await statsLag(1500);
    const pgAfter = onPg ? await pgCounters(db) : null;

    const warmLat = results.flatMap((r) => r.warm.latencies).sort((a, b) => a - b);
    const warmErrors = results.reduce((a, r) => a + r.warm.errors, 0);
    const coldStart = `first ${warmupSeconds} s: p50 ${f1(pct(warmLat, 50))} ms, p99 ${f1(pct(warmLat, 99))} ms, ${warmErrors} errors`;
    const warmError = results.find((r) => r.warm.firstError)?.warm.firstError;
    if (!timedOut) log(`${prefix}fleet cold start: ${coldStart}${warmError ? ` (first error: ${warmError})` : ""}`);
    const lat = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const polls = results.reduce((a, r) => a + r.polls, 0);
    const reports = results.reduce((a, r) => a + r.reports, 0);
    const allReports = reports + results.reduce((a, r) => a + r.warm.reports, 0);
    const errors = results.reduce((a, r) => a + r.errors, 0);
    const firstError = results.find((r) => r.firstError)?.firstError;
    if (firstError) log(`${prefix}fleet first error: ${firstError}`);
    const stored = reportsAfter - reportsBefore;
    const p99 = pct(lat, 99);
    // Each worker's window ends when its last request due in it was answered: a server that fell
    // behind stretches it, so this rate drops below the offered one.
    const answeredPerSecond = (polls + reports) / (Math.max(...results.map((r) => r.elapsedMs)) / 1000);
    const offeredPerSecond = n * (1000 / pollMs + 1000 / reportMs);
    const share = (a: number, b: number) => (100 * (b - a)) / seconds;
    const dt = m1.total - m0.total || 1;
    const split = (k: "user" | "system" | "iowait" | "idle") => f1((100 * (m1[k] - m0[k])) / dt);
    const rows: Row[] = timedOut
      ? [
          {
            figure: `${prefix}Fleet of ${n} (×${o.factor} time): ${f1(offeredPerSecond)} requests/s offered for ${o.seconds} s`,
            value: `did not finish: requests still unanswered ${limitSeconds} s after the start (simulators stopped)`,
            reference: `${stored} report rows stored meanwhile; the limit is BENCH_FLEET_MAX_SECONDS (warm-up + run + 180 s)`,
            target: "p99 < 50 ms, 0 errors",
            met: false,
          },
        ]
      : [
          {
            figure: `${prefix}Fleet of ${n} (×${o.factor} time): ${f1(polls / o.seconds)} polls/s + ${f1(reports / o.seconds)} reports/s for ${o.seconds} s`,
            value: `p50 ${f1(pct(lat, 50))} ms, p99 ${f1(p99)} ms, max ${f1(lat.at(-1) ?? NaN)} ms, ${errors} errors`,
            reference: `${stored} report rows stored for ${allReports} answered (warm-up included)${stored === allReports ? "" : " MISMATCH"}`,
            target: "p99 < 50 ms, 0 errors",
            met: p99 < 50 && errors === 0 && stored === allReports,
          },
          {
            figure: `${prefix}Fleet cold start (warm-up, not the target)`,
            value: coldStart,
            reference: "",
            target: "",
            met: null,
          },
        ];
    rows.push({
      figure: `${prefix}Fleet: server CPU and peak RSS during the run`,
      value:
        `${f1(share(server0.cpuSeconds, server1.cpuSeconds))} % of a core, ${f1(peak)} MiB` +
        (server1.processes > 1 ? ` (${server1.processes} processes summed)` : "") +
        (pg0 && pg1 ? `; PostgreSQL ${f1(share(pg0.cpuSeconds, pg1.cpuSeconds))} % of a core` : ""),
      reference: `machine (all cores): user ${split("user")} %, system ${split("system")} %, I/O wait ${split("iowait")} %, idle ${split("idle")} %`,
      target: "< 1024 MiB",
      met: peak < 1024,
    });
    if (pgBefore && pgAfter) {
      const updates = pgAfter.updates - pgBefore.updates;
      const wal = walBytes(pgBefore.wal, pgAfter.wal);
      const perReport = (x: number) => x / Math.max(1, stored);
      rows.push({
        figure: `${prefix}Fleet: what PostgreSQL did during the run`,
        value:
          `${f1((pgAfter.commits - pgBefore.commits) / seconds)} commits/s, ` +
          `${f1(wal / 2 ** 20 / seconds)} MiB/s of WAL, ` +
          `${updates} Machine rows updated (${f1((100 * (pgAfter.hot - pgBefore.hot)) / Math.max(1, updates))} % HOT); ` +
          `per report row stored: ${Math.round(perReport(wal))} B and ${f1(perReport(pgAfter.walRecords - pgBefore.walRecords))} records of WAL; ` +
          `Machine's indexes ${f1(pgBefore.machineIndexBytes / 2 ** 20)} → ${f1(pgAfter.machineIndexBytes / 2 ** 20)} MiB`,
        reference:
          `over ${f1(seconds)} s (warm-up included); a HOT update writes no index entries; ` +
          "the per-report counts do not depend on the machine's load (migration 20261126051500_machine_hot_updates)",
        target: "",
        met: null,
      });
    }
    if (timedOut) return { rows, p99: Infinity, errors: NaN, answeredPerSecond: NaN, offeredPerSecond };
    return { rows, p99, errors, answeredPerSecond, offeredPerSecond };
  } finally {
    await db.$disconnect();
  }
}

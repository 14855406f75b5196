// The throughput phases of the bench, all driven by wrk (bench/wrk.ts) and each a ratio to the ceiling
// measured in the same run: wrk against a bare node:http server (bench/bare.ts).
//   - agent polls: tRPC with a machine token, REST with a machine token, REST legacy (agent key +
//     machine_id), and, for comparison, the full tRPC handler (a poll naming its machine);
//   - single-call actions.queue with an admin key (bench/wrk-queue.lua), then every row counted in the
//     database against wrk's 2xx answers, and every action claimed exactly once.
// Works against SQLite or PostgreSQL and against one server process or several (the pids are summed).
import fs from "node:fs";
import path from "node:path";
import http from "node:http";
import type { Db } from "../server/db.ts";
import { machineIdOf, machineToken, type BenchFleet } from "./setup.ts";
import { processTree } from "./proc.ts";
import { loadAverage, pollTargets, runWrk } from "./wrk.ts";

export type BenchRow = { figure: string; value: string; reference: string; target: string; met: boolean | null };

const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");
const k = (x: number) => Math.round(x).toLocaleString("en-US");

/** CPU seconds (user + system) of a process tree, from /proc. */
function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks / 100;
}

/**
 * Runs `fn` and returns its value with the CPU the server tree used meanwhile, in % of one core, and
 * in seconds.
 */
async function withCpu<T>(pid: number, fn: () => Promise<T>): Promise<{ value: T; cpu: number; used: number }> {
  const c0 = cpuSeconds(pid);
  const t0 = Date.now();
  const value = await fn();
  const used = cpuSeconds(pid) - c0;
  return { value, cpu: (100 * used) / ((Date.now() - t0) / 1000), used };
}

/**
 * The pid (among this process's descendants) listening on a TCP port of 127.0.0.1, from /proc: the bare
 * reference is started by the caller, which passes only its port. 0 when not found.
 */
function listenerPid(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let inode = "";
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      for (const line of fs.readFileSync(table, "utf8").split("\n").slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f[1]?.endsWith(`:${hexPort}`) && f[3] === "0A") inode = f[9] ?? "";
      }
    } catch {
      // no such table
    }
  }
  if (!inode) return 0;
  for (const pid of processTree(process.pid)) {
    try {
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`))
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return pid;
    } catch {
      // gone, or not ours to read
    }
  }
  return 0;
}

/** GETs each path once, 16 at a time, each on a new connection (a cluster spreads them). */
async function warm(port: number, targets: [string, string][]): Promise<void> {
  const get = ([path, bearer]: [string, string]) =>
    new Promise<void>((resolve) => {
      http
        .get({ host: "127.0.0.1", port, path, agent: false, headers: { authorization: `Bearer ${bearer}` } }, (res) => {
          res.resume();
          res.on("end", resolve);
        })
        .on("error", () => resolve());
    });
  for (let pass = 0; pass < 2; pass++)
    for (let i = 0; i < targets.length; i += 16) await Promise.all(targets.slice(i, i + 16).map(get));
}

export type PollOptions = {
  fleet: BenchFleet;
  port: number;
  barePort: number;
  /** The server's pid (its workers are found below it). */
  pid: number;
  rounds: number;
  seconds: number;
  connections: number;
  /** Added to figure names, e.g. "PostgreSQL, 2 processes". */
  label?: string;
  /** Target ratio to bare for each agent poll path. */
  target?: number;
};

const TOKENS = 1000;

/**
 * Empty-poll throughput of the three agent poll paths and the full tRPC handler against the bare
 * server, in interleaved rounds (the machine is shared and noisy: each ratio sums the same rounds).
 * The fleet's organization must be in legacy mode for the agent key + machine_id path.
 */
export async function pollThroughput(o: PollOptions): Promise<{ rows: BenchRow[]; rates: Record<string, number> }> {
  const target = o.target ?? 0.5;
  const ids = Array.from({ length: TOKENS }, (_, i) => i);
  const files = {
    bare: pollTargets(ids.map(() => ["/", ""])),
    trpc: pollTargets(ids.map((i) => ["/trpc/agent.pendingActions?input=%7B%7D", machineToken(o.fleet.salt, i)])),
    rest: pollTargets(ids.map((i) => ["/api/actions/pending", machineToken(o.fleet.salt, i)])),
    legacy: pollTargets(ids.map((i) => [`/api/actions/pending?machine_id=${machineIdOf(i)}`, o.fleet.agentKey])),
    full: pollTargets(
      ids.map((i) => [
        `/trpc/agent.pendingActions?input=${encodeURIComponent(JSON.stringify({ machineId: machineIdOf(i) }))}`,
        machineToken(o.fleet.salt, i),
      ]),
    ),
  };
  type Kind = keyof typeof files;
  const kinds = Object.keys(files) as Kind[];
  const sum = Object.fromEntries(
    kinds.map((kind) => [kind, { n: 0, s: 0, bad: 0, p99: 0, cpu: 0, used: 0 }]),
  ) as Record<Kind, { n: number; s: number; bad: number; p99: number; cpu: number; used: number }>;
  // CPU per answered request, server and bare alike: on a shared machine the rates move with the load,
  // the CPU an answer costs much less (the ratio of the two is what the rates tend to when both are
  // CPU-bound).
  const barePid = listenerPid(o.barePort);
  const one = (kind: Kind, seconds: number) =>
    runWrk({
      url: `http://127.0.0.1:${kind === "bare" ? o.barePort : o.port}`,
      seconds,
      connections: o.connections,
      script: "wrk-poll.lua",
      env: { DF_PATHS_FILE: files[kind] },
    });
  // Warm-up, not counted: every legacy machine and every full-handler path asked once on fresh
  // connections (so each server process resolves them; a miss is a database query), then JIT.
  await warm(
    o.port,
    ids.map((i) => [`/api/actions/pending?machine_id=${machineIdOf(i)}`, o.fleet.agentKey]),
  );
  for (const kind of kinds) await one(kind, 1);
  const loads: string[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const line: string[] = [];
    // The server paths take turns at going first after the bare run (the first one came out lowest).
    const paths = kinds.filter((kind) => kind !== "bare");
    const order: Kind[] = ["bare", ...paths.slice(r % paths.length), ...paths.slice(0, r % paths.length)];
    for (const kind of order) {
      const { value: w, cpu, used } = await withCpu(kind === "bare" ? barePid : o.pid, () => one(kind, o.seconds));
      const s = sum[kind];
      s.n += w.requests;
      s.s += w.seconds;
      s.bad += w.non2xx + w.socketErrors;
      s.p99 = Math.max(s.p99, w.p99Ms);
      s.cpu = Math.max(s.cpu, cpu);
      s.used += used;
      line.push(`${kind} ${k(w.rps)}/s`);
    }
    loads.push(loadAverage());
    log(`poll round ${r + 1}${o.label ? ` (${o.label})` : ""}: ${line.join(", ")}; load ${loads.at(-1)}`);
  }
  const rate = (kind: Kind) => sum[kind].n / sum[kind].s;
  const bare = rate("bare");
  const usPer = (kind: Kind) => (sum[kind].used > 0 ? `${f1((1e6 * sum[kind].used) / sum[kind].n)} µs` : "n/a");
  const suffix = o.label ? ` [${o.label}]` : "";
  const rows: BenchRow[] = [
    {
      figure: `Generator ceiling: wrk -t1 -c${o.connections} against bare node:http${suffix}`,
      value: `${k(bare)}/s, p99 ${f1(sum.bare.p99)} ms, bare server CPU ${usPer("bare")} a request`,
      reference: `${o.rounds} rounds of ${o.seconds} s; load average ${loads.join(", ")}`,
      target: "(the ceiling every ratio divides by)",
      met: null,
    },
  ];
  const pathRow = (kind: Kind, figure: string, forComparison = false) => {
    const ratio = rate(kind) / bare;
    const s = sum[kind];
    rows.push({
      figure: `${figure}${suffix}`,
      value: `${k(rate(kind))}/s = ${ratio.toFixed(2)}× bare, p99 ${f1(s.p99)} ms, ${s.bad} errors`,
      reference: `server CPU ${f1(s.cpu)} % of a core, ${usPer(kind)} a request (bare ${usPer("bare")})`,
      target: forComparison ? "(for comparison)" : `≥ ${target}× bare, 0 errors`,
      met: forComparison ? null : ratio >= target && s.bad === 0,
    });
  };
  pathRow("trpc", "Empty poll, tRPC agent.pendingActions, machine token");
  pathRow("rest", "Empty poll, REST /api/actions/pending, machine token");
  pathRow("legacy", "Empty poll, REST legacy: agent key + machine_id");
  pathRow("full", "Empty poll through the full tRPC handler (no fast path)", true);
  for (const f of Object.values(files)) fs.rmSync(path.dirname(f), { recursive: true, force: true });
  return { rows, rates: Object.fromEntries(kinds.map((kind) => [kind, rate(kind)])) };
}

export type QueueOptions = {
  fleet: BenchFleet;
  port: number;
  pid: number;
  /** The database the server writes (read here to count rows). */
  db: Db;
  /** First of the 1,000 machines this run queues to (sim-base …); none of them is polled by another phase. */
  base: number;
  seconds: number;
  connections: number;
  tag: string;
  label?: string;
  /** Single-call queue rate to reach, per second. */
  target?: number;
};

/** Claims through agent.pendingActions until empty, for each machine; returns every id handed out. */
async function drain(fleet: BenchFleet, port: number, base: number, count: number): Promise<string[]> {
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
                : reject(new Error(`claim HTTP ${res.statusCode}: ${body.slice(0, 200)}`)),
            );
          },
        )
        .on("error", reject);
    });
  const seen: string[] = [];
  for (let start = 0; start < count; start += 32) {
    await Promise.all(
      Array.from({ length: Math.min(32, count - start) }, async (_, j) => {
        for (;;) {
          const got = await claim(start + j);
          if (got.length === 0) return;
          seen.push(...got);
        }
      }),
    );
  }
  agent.destroy();
  return seen;
}

/**
 * Single-call actions.queue as fast as the server answers (closed loop, wrk with bench/wrk-queue.lua),
 * then: rows stored with this run's tag == wrk's 2xx count, each distinct, each claimed exactly once.
 */
export async function queueThroughput(o: QueueOptions): Promise<{ rows: BenchRow[]; rate: number }> {
  const target = o.target ?? 2000;
  const machines = 1000;
  const suffix = o.label ? ` [${o.label}]` : "";
  log(`queue${suffix}: wrk -c${o.connections}, single-call actions.queue for ${o.seconds} s`);
  const load0 = loadAverage();
  const t0 = Date.now();
  const stopAt = t0 + 200 + o.seconds * 1000;
  const { value: w, cpu } = await withCpu(o.pid, () =>
    runWrk({
      url: `http://127.0.0.1:${o.port}`,
      // Past the stop, the script only asks /healthz: every queue call sent gets its answer counted.
      seconds: o.seconds + Math.max(4, o.seconds),
      connections: o.connections,
      script: "wrk-queue.lua",
      env: {
        DF_KEY: o.fleet.adminKey,
        DF_TAG: o.tag,
        DF_BASE: String(o.base),
        DF_MACHINES: String(machines),
        DF_STOP_AT: String(stopAt),
      },
    }),
  );
  if (process.env.BENCH_DEBUG) console.error(w.stdout);
  const m = /DF_QUEUE sent=(\d+) ok=(\d+) bad=(\d+) first=(.*)/.exec(w.stdout);
  if (!m) throw new Error(`wrk-queue.lua printed no result:\n${w.stdout}`);
  const [sent, ok, bad] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (m[4]) log(`queue first error: ${m[4]}`);
  const window = (stopAt - t0) / 1000;
  const rate = ok / window;
  const like = `%bench ${o.tag} %`;
  const countOf = async (sql: string) =>
    Number((await o.db.$queryRawUnsafe<{ n: number | bigint }[]>(sql, like))[0]?.n ?? 0);
  const stored = await countOf(`SELECT count(*) AS n FROM "Action" WHERE "payload" LIKE ?`);
  const distinct = await countOf(`SELECT count(DISTINCT "id") AS n FROM "Action" WHERE "payload" LIKE ?`);
  const claimed = await drain(o.fleet, o.port, o.base, machines);
  const once = new Set(claimed).size === claimed.length && claimed.length === stored;
  // Any status: a drain that outlasts the lease (60 s, under load) sees the sweep return the first
  // claims to pending, still delivered once; a second delivery would count 2.
  const deliveredOnce = await countOf(
    `SELECT count(*) AS n FROM "Action" WHERE "payload" LIKE ? AND "deliveryCount" = 1`,
  );
  const exact =
    ok === sent &&
    bad === 0 &&
    w.socketErrors === 0 &&
    stored === ok &&
    distinct === ok &&
    once &&
    deliveredOnce === ok;
  log(
    `queue${suffix}: ${k(rate)}/s, ${ok} answered 2xx of ${sent} sent, ${stored} rows; load ${load0} → ${loadAverage()}`,
  );
  const rows = [
    {
      figure: `Queueing, single-call actions.queue (wrk -c${o.connections}, ${o.seconds} s, admin key)${suffix}`,
      value: `${k(rate)}/s sustained, p50 ${f1(w.p50Ms)} ms, p99 ${f1(w.p99Ms)} ms, ${bad + w.socketErrors} errors`,
      reference: `${sent} sent, ${ok} 2xx; ${stored} rows stored (${distinct} distinct); ${claimed.length} claimed, ${deliveredOnce} delivered once; server CPU ${f1(cpu)} % of a core; load ${load0}`,
      target: `≥ ${k(target)}/s; rows = 2xx, each delivered exactly once`,
      met: rate >= target && exact,
    },
  ];
  return { rows, rate };
}

// Push-channel bench: N agents each hold the SSE stream, a worker queues actions for random connected
// machines, and the agents record when they held each one. Prints streams open, the server's memory per
// stream and dispatch latency, each against its target. Used by bench/run.ts (`pushOnFreshServer`: a server
// process started for this phase alone, so the memory figure is not heap freed by earlier phases) and
// runnable alone: `npx tsx bench/push.ts` starts its own server on a fresh database.
// Knobs (env): BENCH_PUSH_AGENTS (streams), BENCH_PUSH_ACTIONS, BENCH_PUSH_WORKERS (agent processes),
// BENCH_PUSH_RATE (actions queued per second), BENCH_PUSH_VIA=trpc (streams through tRPC's own SSE path).
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { prepareFleet, machineIdOf, type BenchFleet } from "./setup.ts";
import type { LoadResult } from "./sim.ts";
import { forkSim } from "./fleetPhase.ts";
import { benchServerEnv, freePort, waitHealthy } from "./proc.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export type PushRow = { figure: string; value: string; reference: string; target: string; met: boolean | null };
export type PushOptions = {
  agents: number;
  actions: number;
  workers: number;
  perSecond?: number;
  /** "trpc" opens the streams through tRPC's own SSE path (for comparison with the agents' fast path). */
  via?: "fast" | "trpc";
  /** How the server's memory figure was taken, printed beside it. */
  memoryNote?: string;
  /** The server's memory after a full garbage collection (bench/heapProbe.ts), when it can be asked. */
  probe?: () => Promise<MemoryProbe>;
};

/** process.memoryUsage() of the server right after a full garbage collection, in bytes. */
export type MemoryProbe = { rss: number; heapUsed: number; external: number; arrayBuffers: number };

/** Actions queued (and claimed) before the measured ones, not counted. */
const WARM_UP_ACTIONS = 40;

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

/** Runs `run` and returns the CPU seconds each process used meanwhile, and how long it took. */
async function withCpu<T>(
  pids: number[],
  run: () => Promise<T>,
): Promise<{ value: T; cpu: number[]; seconds: number }> {
  const before = pids.map((p) => procStats(p).cpuSeconds);
  const t0 = Date.now();
  const value = await run();
  const cpu = pids.map((p, i) => procStats(p).cpuSeconds - before[i]!);
  return { value, cpu, seconds: (Date.now() - t0) / 1000 };
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");

type PushResult = {
  connected: number;
  errors: number;
  firstError: string | null;
  heldAt: Record<string, number>;
  wokeAt: Record<string, number>;
  claims: number;
};

/** Dispatch latency over the push channel with many agents connected, and the memory the streams hold. */
export async function pushLatency(fleet: BenchFleet, port: number, pid: number, opts: PushOptions): Promise<PushRow[]> {
  const n = opts.agents;
  const perSecond = opts.perSecond ?? 20;
  // Streams open in two stages: a tenth first (from one more agent process), then the rest. The memory
  // between the two readings is what the rest cost, without the server's first-use code and buffers.
  const first = n >= 20 ? Math.max(1, Math.floor(n / 10)) : 0;
  log(`push: connecting ${first} then ${n - first} agents from 1 + ${opts.workers} worker processes`);
  const before = procStats(pid);
  const gcBefore = await opts.probe?.();
  const children: ChildProcess[] = [];
  let connected = 0;
  const pending: Promise<PushResult>[] = [];
  const connect = (ranges: [number, number][]) =>
    new Promise<void>((resolve) => {
      let ready = 0;
      const onMsg = (m: unknown, child: ChildProcess) => {
        if (m && typeof m === "object" && "ready" in m) {
          children.push(child);
          connected += (m as unknown as { connected: number }).connected;
          if (++ready === ranges.length) resolve();
        }
      };
      for (const [from, to] of ranges)
        pending.push(
          forkSim<PushResult>(
            {
              mode: "push",
              port,
              salt: fleet.salt,
              from,
              to,
              maxMs: 300_000,
              // A trailing "?" is not the agent's exact URL: the server's fast path leaves it to tRPC.
              path: opts.via === "trpc" ? "/trpc/agent.actionStream?" : undefined,
            },
            onMsg,
          ),
        );
    });
  // Let each connection burst settle before reading the memory the streams hold.
  const settle = () => new Promise((r) => setTimeout(r, 2000));
  let partial = before;
  let connectedFirst = 0;
  let gcPartial: MemoryProbe | undefined;
  if (first > 0) {
    await connect([[0, first]]);
    await settle();
    partial = procStats(pid);
    gcPartial = await opts.probe?.();
    connectedFirst = connected;
  }
  const per = Math.ceil((n - first) / opts.workers);
  await connect(
    Array.from({ length: opts.workers }, (_, w): [number, number] => [
      first + w * per,
      Math.min(n, first + (w + 1) * per),
    ]).filter(([from, to]) => to > from),
  );
  await settle();
  const idle = procStats(pid);
  const gcIdle = await opts.probe?.();
  // CPU of the server and of the agent processes while the streams are only held (pings).
  const pids = [pid, ...children.map((c) => c.pid!)];
  const quiet = await withCpu(pids, () => new Promise((r) => setTimeout(r, 3000)));
  // Distinct random machines among the connected ones: the first `warm` for the warm-up, the rest measured.
  const warm = Math.min(WARM_UP_ACTIONS, Math.max(0, n - opts.actions));
  const picks = new Set<number>();
  while (picks.size < Math.min(opts.actions + warm, n)) picks.add(Math.floor(Math.random() * n));
  const ids = [...picks].map(machineIdOf);
  const queueAt = (machineIds: string[], tag: string) =>
    forkSim<LoadResult & { queuedAt: Record<string, { at: number; machineId: string }> }>({
      mode: "queue",
      port,
      adminKey: fleet.adminKey,
      machineIds,
      batch: 1,
      tag,
      perSecond,
      durationMs: (machineIds.length / perSecond) * 1000,
      maxSockets: 8,
    });
  // A fresh server compiles its queue and claim queries on first use (seconds on a busy machine): warm it
  // up first, as the full suite's earlier phases do, and report that figure apart.
  log(`push: ${connected} streams open; warm-up: ${warm} actions at ${perSecond}/s`);
  const warmUp = await queueAt(ids.slice(0, warm), "push-warm-up");
  await new Promise((res) => setTimeout(res, 2000));
  log(`push: queueing ${opts.actions} actions at ${perSecond}/s`);
  const busy = await withCpu(pids, async () => {
    const r = await queueAt(ids.slice(warm), "push");
    await new Promise((res) => setTimeout(res, 3000)); // the last wakes and claims
    return r;
  });
  for (const c of children) c.send("stop");
  const results = await Promise.all(pending);
  const heldAt = Object.assign({}, ...results.map((r) => r.heldAt)) as Record<string, number>;
  const wokeAt = Object.assign({}, ...results.map((r) => r.wokeAt)) as Record<string, number>;
  const errors = results.reduce((a, r) => a + r.errors, 0) + busy.value.errors + warmUp.errors;
  const firstError = results.find((r) => r.firstError)?.firstError ?? busy.value.firstError ?? warmUp.firstError;
  if (firstError) log(`push first error: ${firstError}`);
  const queued = Object.entries(busy.value.queuedAt);
  const lat = queued.flatMap(([id, q]) => (heldAt[id] !== undefined ? [heldAt[id] - q.at] : [])).sort((a, b) => a - b);
  const missing = queued.length - lat.length;
  // Where the time goes: queue answer → wake heard by the agent, and wake → action held (the claim).
  const sorted = (xs: number[]) => xs.sort((a, b) => a - b);
  const wake = sorted(queued.flatMap(([id, q]) => (wokeAt[id] !== undefined ? [wokeAt[id] - q.at] : [])));
  const claim = sorted(
    queued.flatMap(([id]) => (wokeAt[id] !== undefined && heldAt[id] !== undefined ? [heldAt[id] - wokeAt[id]] : [])),
  );
  if (process.env.BENCH_PUSH_TRACE) {
    // Per second of the run: the worst latency of the actions queued in it (is it a backlog or a stall?).
    const t0 = Math.min(...queued.map(([, q]) => q.at));
    const worst = new Map<number, number>();
    for (const [id, q] of queued) {
      const sec = Math.floor((q.at - t0) / 1000);
      if (heldAt[id] !== undefined) worst.set(sec, Math.max(worst.get(sec) ?? 0, heldAt[id] - q.at));
    }
    log(`worst latency per second: ${[...worst].map(([sec, ms]) => `${sec}s:${Math.round(ms)}`).join(" ")}`);
  }
  const warmLat = Object.entries(warmUp.queuedAt)
    .flatMap(([id, q]) => (heldAt[id] !== undefined ? [heldAt[id] - q.at] : []))
    .sort((a, b) => a - b);
  const p50 = pct(lat, 50);
  const p99 = pct(lat, 99);
  const share = (cpu: number[], seconds: number, from: number, to?: number) =>
    (100 * cpu.slice(from, to).reduce((a, b) => a + b, 0)) / seconds;
  // Server CPU an action costs (queue call, wake, claim), over what the held streams cost anyway.
  const cpuPerActionMs =
    ((busy.cpu[0]! - (quiet.cpu[0]! / quiet.seconds) * busy.seconds) * 1000) / Math.max(1, queued.length);
  const kbPerStream = connected > 0 ? ((idle.rssMiB - before.rssMiB) * 1024) / connected : NaN;
  const kbPerMoreStream =
    connected > connectedFirst ? ((idle.rssMiB - partial.rssMiB) * 1024) / (connected - connectedFirst) : NaN;
  // After a full collection: what the streams keep alive (live heap + buffers outside it), and the RSS then.
  const perStream = (a: MemoryProbe | undefined, b: MemoryProbe | undefined, streams: number, k: keyof MemoryProbe) =>
    a && b && streams > 0 ? (b[k] - a[k]) / 1024 / streams : NaN;
  const liveOf = (m: MemoryProbe) => ({ ...m, heapUsed: m.heapUsed + m.external });
  const gcRows: PushRow[] =
    gcBefore && gcIdle
      ? [
          {
            figure: `Push: server memory after a full GC, before / with ${connected} streams open (bench/heapProbe.ts)`,
            value:
              `RSS ${f1(gcBefore.rss / 2 ** 20)} / ${f1(gcIdle.rss / 2 ** 20)} MiB = **${f1(perStream(gcBefore, gcIdle, connected, "rss"))} KB per stream**; ` +
              `live heap + external ${f1(perStream(liveOf(gcBefore), liveOf(gcIdle), connected, "heapUsed"))} KB per stream` +
              (gcPartial
                ? `; from ${connectedFirst} to ${connected} streams: RSS ${f1(perStream(gcPartial, gcIdle, connected - connectedFirst, "rss"))} KB, ` +
                  `live ${f1(perStream(liveOf(gcPartial), liveOf(gcIdle), connected - connectedFirst, "heapUsed"))} KB each`
                : ""),
            reference:
              "the push phase's own server; SIGUSR2 → global.gc() → process.memoryUsage(); kernel socket buffers are not in RSS",
            target: "≤ 20 KB per stream",
            met: perStream(gcBefore, gcIdle, connected, "rss") <= 20,
          },
        ]
      : [];
  return [
    {
      figure: "Push: streams open",
      value: `${connected} of ${n}`,
      reference: `${children.length} agent processes`,
      target: `${n}`,
      met: connected === n,
    },
    {
      figure: `Push: server RSS before / with ${connected} streams open`,
      value:
        `${f1(before.rssMiB)} / ${f1(idle.rssMiB)} MiB = **${f1(kbPerStream)} KB per stream**; ` +
        `from ${connectedFirst} to ${connected} streams (${f1(partial.rssMiB)} → ${f1(idle.rssMiB)} MiB): ${f1(kbPerMoreStream)} KB each`,
      reference: opts.memoryNote ?? "VmRSS delta of the server (an upper bound: garbage not yet collected counts)",
      // With the after-GC figure beside it, this one is the upper bound, not the target's measure.
      target: gcRows.length > 0 ? "(upper bound)" : "≤ 20 KB per stream",
      met: gcRows.length > 0 ? null : kbPerStream <= 20,
    },
    ...gcRows,
    {
      figure: `Dispatch latency, push (SSE), ${connected} agents connected`,
      value: `p50 ${f1(p50)} ms, p99 ${f1(p99)} ms over ${lat.length} actions, ${missing} not held, ${errors} errors`,
      reference: "polling alone: 30 s interval → ~15 s mean",
      target: "p99 < 250 ms",
      met: p99 < 250 && missing === 0 && errors === 0 && connected === n,
    },
    {
      figure: `Dispatch latency of the warm-up (first ${warm} actions on a fresh server, not the target)`,
      value: `p50 ${f1(pct(warmLat, 50))} ms, p99 ${f1(pct(warmLat, 99))} ms over ${warmLat.length} actions`,
      reference: "",
      target: "",
      met: null,
    },
    {
      figure: "Dispatch latency split: queue answered → wake heard; wake heard → action held (claim)",
      value: `wake p50 ${f1(pct(wake, 50))} / p99 ${f1(pct(wake, 99))} ms; claim p50 ${f1(pct(claim, 50))} / p99 ${f1(pct(claim, 99))} ms`,
      reference: "a wake can arrive before the queue call's answer (negative)",
      target: "",
      met: null,
    },
    {
      figure: "CPU (% of a core): server / agent processes, streams held only; while queueing",
      value:
        `${f1(share(quiet.cpu, quiet.seconds, 0, 1))} / ${f1(share(quiet.cpu, quiet.seconds, 1))}; ` +
        `${f1(share(busy.cpu, busy.seconds, 0, 1))} / ${f1(share(busy.cpu, busy.seconds, 1))}`,
      reference: `server CPU per action (queue call + wake + claim): ${f1(cpuPerActionMs)} ms`,
      target: "",
      met: null,
    },
  ];
}

/**
 * The push phase on a server process started just for it (and stopped after), on an existing bench
 * database: the memory the streams hold is then RSS with the streams minus RSS of a fresh process, not
 * heap that earlier phases freed and the streams reuse. `env` adds to the server's environment.
 */
export async function pushOnFreshServer(
  fleet: BenchFleet,
  opts: PushOptions,
  env: Record<string, string> = {},
): Promise<{ rows: PushRow[]; hwmMiB: number }> {
  const port = await freePort();
  const probeFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-heap-")), "memory.json");
  const server = spawn(
    process.execPath,
    ["--expose-gc", "--import", "tsx", "--import", "./bench/heapProbe.ts", "server/index.ts"],
    {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
      env: benchServerEnv(port, { DASHFLEET_HEAP_PROBE: probeFile, DASHFLEET_DB: fleet.dbFile, ...env }),
    },
  );
  /** Signals the server's probe and waits for the file it writes; fails if it never comes. */
  const probe = async (): Promise<MemoryProbe> => {
    const sentAt = Date.now();
    server.kill("SIGUSR2");
    for (let i = 0; i < 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        const m = JSON.parse(fs.readFileSync(probeFile, "utf8")) as MemoryProbe & { at: number };
        if (m.at >= sentAt) return m;
      } catch {
        // not written yet
      }
    }
    throw new Error("the push server did not answer the memory probe (bench/heapProbe.ts)");
  };
  try {
    await waitHealthy(port, server);
    log(`push: fresh server pid ${server.pid} on port ${port}`);
    const rows = await pushLatency(fleet, port, server.pid!, {
      probe,
      memoryNote:
        "server process started for this phase; VmRSS (2 s after each stage) minus VmRSS once healthy: an upper " +
        "bound (first-use code, garbage not yet collected); the second figure leaves out the first tenth's",
      ...opts,
    });
    return { rows, hwmMiB: procStats(server.pid!).hwmMiB };
  } finally {
    if (server.exitCode === null) {
      const exited = new Promise((r) => server.once("exit", r));
      server.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (server.exitCode === null) server.kill("SIGKILL");
    }
    fs.rmSync(path.dirname(probeFile), { recursive: true, force: true });
  }
}

/** Standalone run: a fresh database and server of its own, the push phase only, one table. */
async function main() {
  const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
  const opts: PushOptions = {
    agents: num("BENCH_PUSH_AGENTS", 10_000),
    actions: num("BENCH_PUSH_ACTIONS", 300),
    workers: num("BENCH_PUSH_WORKERS", 2),
    perSecond: num("BENCH_PUSH_RATE", 20),
    via: process.env.BENCH_PUSH_VIA === "trpc" ? "trpc" : "fast",
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-bench-push-"));
  log(`preparing a database with ${opts.agents} machines in ${dir}`);
  let rows: PushRow[] = [];
  const load = os.loadavg();
  try {
    const fleet = await prepareFleet(path.join(dir, "fleet.db"), opts.agents);
    rows = (await pushOnFreshServer(fleet, opts)).rows;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = os.loadavg();
  console.log(`\nDashFleet push bench — ${os.cpus().length} CPUs, node ${process.version}`);
  console.log(`config: ${JSON.stringify(opts)}`);
  console.log(`load average (1 min) at start ${load[0]!.toFixed(2)}, at end ${loadAfter[0]!.toFixed(2)}\n`);
  for (const r of rows) {
    const met = r.met === null ? "" : r.met ? "met" : "MISSED";
    console.log(`${r.figure}: ${r.value}${r.target ? ` (target ${r.target}: ${met})` : ""}`);
    if (r.reference) console.log(`    ${r.reference}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

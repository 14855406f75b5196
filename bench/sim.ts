// Bench worker, forked by bench/run.ts so that load is generated in processes other than the server's.
// Modes: "load" (closed-loop load generator), "fleet" (simulated agents polling and reporting on a
// compressed schedule), "queue" (admin queueing at a fixed rate), "push" (agents holding the SSE push
// channel and claiming on every wake). Every mode talks real HTTP to 127.0.0.1 with keep-alive and ends
// by itself after a bounded time.
import http from "node:http";
import { performance } from "node:perf_hooks";
import { machineToken } from "./setup.ts";

export type Job =
  | {
      mode: "load";
      port: number;
      targets: { method: "GET"; path: string; headers: Record<string, string> }[];
      concurrency: number;
      durationMs: number;
    }
  | {
      mode: "fleet";
      port: number;
      salt: string;
      from: number;
      to: number;
      pollMs: number;
      reportMs: number;
      /** Requests due in this first stretch are counted apart (the fleet arriving at a fresh server). */
      warmupMs: number;
      durationMs: number;
      maxSockets: number;
    }
  | {
      mode: "queue";
      port: number;
      adminKey: string;
      machineIds: string[];
      /** Calls per HTTP request: 1 = one request per call; more = tRPC's batch format, as httpBatchLink sends. */
      batch: number;
      /** Put in each message, so the run can find its own actions. */
      tag: string;
      perSecond: number;
      durationMs: number;
      maxSockets: number;
    }
  | {
      mode: "push";
      port: number;
      salt: string;
      from: number;
      to: number;
      maxMs: number;
      /** The stream's URL; the default is the agent's. A trailing "?" sends it through tRPC's own SSE path. */
      path?: string;
    };

export type LoadResult = {
  count: number;
  errors: number;
  firstError: string | null;
  latencies: number[];
  elapsedMs: number;
};

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export const nowMs = () => performance.timeOrigin + performance.now();

type Reply = { status: number; body: string };

function request(
  agent: http.Agent,
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent,
        headers: body
          ? { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) }
          : headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    // A reset on a pooled socket is the keep-alive race (the server closed it as it was reused): say so.
    req.on("error", (err) =>
      reject(req.reusedSocket ? new Error(`${String(err)} (on a reused keep-alive socket)`) : err),
    );
    req.end(body);
  });
}

/** Closed loop: `concurrency` requests in flight for `durationMs`, cycling through the targets. */
async function load(job: Extract<Job, { mode: "load" }>): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  let next = 0;
  const start = nowMs();
  const end = start + job.durationMs;
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (nowMs() < end) {
        const t = job.targets[next++ % job.targets.length]!;
        const t0 = nowMs();
        try {
          const r = await request(agent, job.port, t.method, t.path, t.headers);
          if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.slice(0, 200)}`);
          latencies.push(nowMs() - t0);
        } catch (err) {
          errors += 1;
          firstError ??= String(err);
        }
      }
    }),
  );
  agent.destroy();
  return { count: latencies.length, errors, firstError, latencies, elapsedMs: nowMs() - start };
}

const metrics = () => ({
  cpuPercent: Math.round(Math.random() * 1000) / 10,
  memoryPercent: 42.5,
  diskPercent: 61.2,
  uptimeSeconds: 12345,
});

/**
 * Simulated agents from..to-1: each polls every pollMs and reports every reportMs, starting at a random
 * phase so the load is spread. Latency counts from the moment a request was due, so a client that falls
 * behind shows up as latency, not as a lower rate.
 */
async function fleet(job: Extract<Job, { mode: "fleet" }>): Promise<
  LoadResult & {
    polls: number;
    reports: number;
    warm: { latencies: number[]; errors: number; reports: number; firstError: string | null };
  }
> {
  // The 31 `read ECONNRESET` of a full run: the keep-alive race. Node's default LIFO pool left most of
  // the 1,000 sockets the cold start's herd opened idle (the steady load reuses a few dozen); the server
  // closes a socket idle for its keepAliveTimeout (65 s), and a burst from this busy process reached for
  // one whose FIN it had not processed yet. Node 20's agent honours the server's `Keep-Alive: timeout=65`
  // hint only when a `timeout` is set (with none it keeps free sockets forever). So: FIFO (every socket
  // reused in turn, none idles under load) and free sockets closed by this side after 30 s.
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.maxSockets, scheduling: "fifo", timeout: 30_000 });
  const latencies: number[] = [];
  const warm = { latencies: [] as number[], errors: 0, reports: 0, firstError: null as string | null };
  let errors = 0;
  let firstError: string | null = null;
  let polls = 0;
  let reports = 0;
  const start = nowMs();
  const measuredFrom = start + job.warmupMs;
  const end = measuredFrom + job.durationMs;
  // Time wheel of 10 ms slots: each agent sits in the slot of its next due time.
  const SLOT = 10;
  const wheel = new Map<number, { i: number; kind: "poll" | "report" }[]>();
  const put = (at: number, e: { i: number; kind: "poll" | "report" }) => {
    const slot = Math.floor(at / SLOT);
    let list = wheel.get(slot);
    if (!list) wheel.set(slot, (list = []));
    list.push(e);
  };
  for (let i = job.from; i < job.to; i++) {
    put(start + Math.random() * job.pollMs, { i, kind: "poll" });
    put(start + Math.random() * job.reportMs, { i, kind: "report" });
  }
  const inflight = new Set<Promise<void>>();
  const fire = (e: { i: number; kind: "poll" | "report" }, due: number) => {
    const headers = { authorization: `Bearer ${machineToken(job.salt, e.i)}` };
    const p = (
      e.kind === "poll"
        ? request(agent, job.port, "GET", "/trpc/agent.pendingActions?input=%7B%7D", headers)
        : request(agent, job.port, "POST", "/trpc/agent.report", headers, JSON.stringify({ metrics: metrics() }))
    )
      .then((r) => {
        if (r.status !== 200) throw new Error(`${e.kind} HTTP ${r.status}: ${r.body.slice(0, 200)}`);
        if (due < measuredFrom) {
          if (e.kind === "report") warm.reports += 1;
          return void warm.latencies.push(nowMs() - due);
        }
        latencies.push(nowMs() - due);
        if (e.kind === "poll") polls += 1;
        else reports += 1;
      })
      .catch((err: unknown) => {
        if (due < measuredFrom) {
          warm.errors += 1;
          warm.firstError ??= String(err);
          return;
        }
        errors += 1;
        firstError ??= String(err);
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };
  let slot = Math.floor(start / SLOT);
  while (nowMs() < end) {
    const nowSlot = Math.floor(nowMs() / SLOT);
    for (; slot <= nowSlot; slot++) {
      const list = wheel.get(slot);
      if (!list) continue;
      wheel.delete(slot);
      for (const e of list) {
        const due = slot * SLOT;
        if (due < end) fire(e, due);
        put(due + (e.kind === "poll" ? job.pollMs : job.reportMs), e);
      }
    }
    await new Promise((r) => setTimeout(r, SLOT / 2));
  }
  await Promise.all(inflight);
  agent.destroy();
  return {
    count: latencies.length,
    errors,
    firstError,
    latencies,
    elapsedMs: nowMs() - measuredFrom,
    polls,
    reports,
    warm,
  };
}

/** Queues message actions at a fixed rate, round-robin over machines; returns each id with its return time. */
async function queue(
  job: Extract<Job, { mode: "queue" }>,
): Promise<LoadResult & { ids: string[]; queuedAt: Record<string, { at: number; machineId: string }> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.maxSockets });
  const latencies: number[] = [];
  const ids: string[] = [];
  const queuedAt: Record<string, { at: number; machineId: string }> = {};
  let errors = 0;
  let firstError: string | null = null;
  const start = nowMs();
  const total = Math.round((job.perSecond * job.durationMs) / 1000);
  const inflight: Promise<void>[] = [];
  // At most this many requests outstanding: a server that falls behind shows as a lower rate and a
  // growing lag, and the run still ends on time.
  const MAX_INFLIGHT = 256;
  let open = 0;
  let freed: (() => void) | null = null;
  for (let k = 0; k < total; k += job.batch) {
    const due = start + (k * 1000) / job.perSecond;
    const wait = due - nowMs();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    while (open >= MAX_INFLIGHT) await new Promise<void>((r) => (freed = r));
    if (nowMs() > start + job.durationMs + 1000) break;
    open += 1;
    const calls = Array.from({ length: Math.min(job.batch, total - k) }, (_, j) => {
      const machineId = job.machineIds[(k + j) % job.machineIds.length]!;
      return { machineId, input: { machineId, type: "message", data: { message: `bench ${job.tag} ${k + j}` } } };
    });
    const path =
      job.batch === 1 ? "/trpc/actions.queue" : `/trpc/${calls.map(() => "actions.queue").join(",")}?batch=1`;
    const body = JSON.stringify(
      job.batch === 1 ? calls[0]!.input : Object.fromEntries(calls.map((c, j) => [j, c.input])),
    );
    inflight.push(
      request(agent, job.port, "POST", path, { authorization: `Bearer ${job.adminKey}` }, body)
        .then((r) => {
          if (r.status !== 200) throw new Error(`queue HTTP ${r.status}: ${r.body.slice(0, 200)}`);
          const at = nowMs();
          type One = { result: { data: { id: string } } };
          const parsed = JSON.parse(r.body) as One | One[];
          const answers = Array.isArray(parsed) ? parsed : [parsed];
          answers.forEach((a, j) => {
            const id = a.result.data.id;
            ids.push(id);
            queuedAt[id] = { at, machineId: calls[j]!.machineId };
            latencies.push(at - due);
          });
        })
        .catch((err: unknown) => {
          errors += 1;
          firstError ??= String(err);
        })
        .finally(() => {
          open -= 1;
          const f = freed;
          freed = null;
          f?.();
        }),
    );
  }
  await Promise.all(inflight);
  agent.destroy();
  return { count: ids.length, errors, firstError, latencies, elapsedMs: nowMs() - start, ids, queuedAt };
}

/**
 * Agents holding the push channel: one SSE stream each (GET /trpc/agent.actionStream). On every wake
 * the agent claims through agent.pendingActions and records when it held each action.
 */
async function push(job: Extract<Job, { mode: "push" }>): Promise<{
  connected: number;
  errors: number;
  firstError: string | null;
  heldAt: Record<string, number>;
  /** When the wake that led to each held action arrived (held − woke = the claim's own time). */
  wokeAt: Record<string, number>;
  claims: number;
}> {
  const pollAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const heldAt: Record<string, number> = {};
  const wokeAt: Record<string, number> = {};
  let connected = 0;
  let errors = 0;
  let claims = 0;
  let firstError: string | null = null;
  const streams: http.ClientRequest[] = [];
  const claiming = new Map<number, Promise<void>>();
  const claim = (i: number, headers: Record<string, string>, woke: number) => {
    // One claim at a time per agent; a wake during a claim triggers one more.
    const prev = claiming.get(i) ?? Promise.resolve();
    const p = prev
      .then(async () => {
        const r = await request(pollAgent, job.port, "GET", "/trpc/agent.pendingActions?input=%7B%7D", headers);
        claims += 1;
        if (r.status !== 200) throw new Error(`claim HTTP ${r.status}: ${r.body.slice(0, 200)}`);
        const t = nowMs();
        for (const a of (JSON.parse(r.body) as { result: { data: { actions: { id: string }[] } } }).result.data
          .actions) {
          if (heldAt[a.id] !== undefined) throw new Error(`action ${a.id} delivered twice`);
          heldAt[a.id] = t;
          wokeAt[a.id] = woke;
        }
      })
      .catch((err: unknown) => {
        errors += 1;
        firstError ??= String(err);
      });
    claiming.set(i, p);
  };
  const open = (i: number) =>
    new Promise<void>((resolve) => {
      const headers = { authorization: `Bearer ${machineToken(job.salt, i)}` };
      // Each stream holds its own connection (no pooling), as a real agent's does.
      const req = http.get(
        {
          host: "127.0.0.1",
          port: job.port,
          path: job.path ?? "/trpc/agent.actionStream",
          agent: false,
          headers: { ...headers, accept: "text/event-stream" },
        },
        (res) => {
          if (res.statusCode !== 200) {
            errors += 1;
            firstError ??= `stream HTTP ${res.statusCode}`;
            res.resume();
            return resolve();
          }
          connected += 1;
          resolve();
          let buf = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            buf += chunk;
            let cut;
            while ((cut = buf.indexOf("\n\n")) >= 0) {
              const ev = buf.slice(0, cut);
              buf = buf.slice(cut + 2);
              // Data events are wakes; "connected" and ping comments are not.
              if (/^data: /m.test(ev) && !/^event: /m.test(ev)) claim(i, headers, nowMs());
            }
          });
          res.on("error", () => {});
        },
      );
      req.on("error", (err) => {
        errors += 1;
        firstError ??= String(err);
        resolve();
      });
      streams.push(req);
    });
  // Open streams in small groups so the server is not hit by thousands of connects in one tick.
  for (let i = job.from; i < job.to; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, job.to - i) }, (_, k) => open(i + k)));
  }
  process.send?.({ ready: true, connected });
  await new Promise<void>((resolve) => {
    const stop = setTimeout(resolve, job.maxMs);
    process.once("message", () => {
      clearTimeout(stop);
      resolve();
    });
  });
  await Promise.all(claiming.values());
  for (const s of streams) s.destroy();
  pollAgent.destroy();
  return { connected, errors, firstError, heldAt, wokeAt, claims };
}

process.once("message", (job: Job) => {
  const run =
    job.mode === "load" ? load(job) : job.mode === "fleet" ? fleet(job) : job.mode === "queue" ? queue(job) : push(job);
  run.then(
    (result) => process.send!({ result }, () => process.exit(0)),
    (err: unknown) => process.send!({ error: String(err) }, () => process.exit(1)),
  );
});

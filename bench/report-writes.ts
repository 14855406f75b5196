// `npx tsx bench/report-writes.ts`: the report write path alone, without HTTP. Prepares a database of
// BENCH_FLEET machines (default 100,000), then stores BENCH_REPORTS_PER_S metric reports a second
// (default 1,667: 100,000 agents reporting every 60 s) from random machines for BENCH_SECONDS, through
// the server's recordReport (group commit, health window). Prints how long each report waited for its
// commit (p50/p99), the event loop's delay (what every other request waits), bytes written to disk by
// this process (/proc/self/io) and per report.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { systemClock } from "../server/clock.ts";
import { openDb } from "../server/db.ts";
import { flushReports, recordReport } from "../server/services/machines.ts";
import { prepareFleet } from "./setup.ts";

const machines = Number(process.env.BENCH_FLEET ?? 100_000);
const rate = Number(process.env.BENCH_REPORTS_PER_S ?? 1667);
const seconds = Number(process.env.BENCH_SECONDS ?? 20);

const writtenBytes = () => Number(/^write_bytes: (\d+)/m.exec(fs.readFileSync("/proc/self/io", "utf8"))?.[1] ?? 0);
const pct = (a: number[], p: number) => a[Math.min(a.length - 1, Math.floor((a.length * p) / 100))] ?? NaN;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-rw-"));
const started = Date.now();
const fleet = await prepareFleet(path.join(dir, "fleet.db"), machines);
console.error(`prepared ${machines} machines in ${Date.now() - started} ms`);
const db = await openDb(fleet.dbFile);
// Experiments: BENCH_SQL="stmt;stmt" runs statements first (e.g. DROP INDEX …, PRAGMA …).
for (const stmt of (process.env.BENCH_SQL ?? "").split(";").filter((x) => x.trim())) await db.$queryRawUnsafe(stmt);
const ids = (await db.machine.findMany({ select: { id: true } })).map((m) => m.id);

const randomReport = () => ({
  cpuPercent: Math.random() * 100,
  memoryPercent: Math.random() * 100,
  diskPercent: Math.random() * 100,
  uptimeSeconds: Math.floor(Math.random() * 1e6),
});

// BENCH_BATCH=n: instead of a steady rate, commit batches of exactly n reports one after another and
// print the disk bytes and time per batch (independent of the machine's other load, unlike a rate).
const fixedBatch = Number(process.env.BENCH_BATCH ?? 0);
if (fixedBatch > 0) {
  const batches = Number(process.env.BENCH_BATCHES ?? 200);
  const before = writtenBytes();
  const t = performance.now();
  for (let b = 0; b < batches; b++) {
    await Promise.all(
      Array.from({ length: fixedBatch }, () =>
        recordReport(db, systemClock, ids[Math.floor(Math.random() * ids.length)]!, randomReport()),
      ),
    );
  }
  const perBatch = (writtenBytes() - before) / batches;
  console.log(
    JSON.stringify({
      machines,
      batch: fixedBatch,
      batches,
      msPerBatch: +((performance.now() - t) / batches).toFixed(2),
      diskKiBPerBatch: Math.round(perBatch / 1024),
      diskKiBPerReport: +(perBatch / fixedBatch / 1024).toFixed(1),
      pagesPerReport: +(perBatch / fixedBatch / 4096).toFixed(1),
    }),
  );
  await db.$disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

const loop = monitorEventLoopDelay({ resolution: 5 });
const waits: number[] = [];
let errors = 0;
const pending: Promise<void>[] = [];
const bytesBefore = writtenBytes();
loop.enable();
const t0 = performance.now();
let sent = 0;
while (performance.now() - t0 < seconds * 1000) {
  // Send what is due by now (a steady rate, whatever the event loop's delays).
  const due = Math.floor(((performance.now() - t0) / 1000) * rate);
  for (; sent < due; sent++) {
    const ref = ids[Math.floor(Math.random() * ids.length)]!;
    const at = performance.now();
    const r = Math.random;
    pending.push(
      recordReport(db, systemClock, ref, {
        cpuPercent: r() * 100,
        memoryPercent: r() * 100,
        diskPercent: r() * 100,
        uptimeSeconds: Math.floor(r() * 1e6),
      }).then(
        () => void waits.push(performance.now() - at),
        () => void errors++,
      ),
    );
  }
  await new Promise((res) => setTimeout(res, 5));
}
await Promise.all(pending);
await flushReports(db);
loop.disable();
const elapsed = (performance.now() - t0) / 1000;
const bytes = writtenBytes() - bytesBefore;
waits.sort((a, b) => a - b);
const ms = (n: number) => `${n.toFixed(1)} ms`;
console.log(
  JSON.stringify({
    machines,
    reportsPerSecondAsked: rate,
    reportsPerSecondDone: Math.round(waits.length / elapsed),
    errors,
    commitWaitP50: ms(pct(waits, 50)),
    commitWaitP99: ms(pct(waits, 99)),
    eventLoopDelayP99: ms(loop.percentile(99) / 1e6),
    eventLoopDelayMax: ms(loop.max / 1e6),
    diskWrittenMiBPerS: +(bytes / elapsed / 1048576).toFixed(1),
    diskBytesPerReport: Math.round(bytes / Math.max(1, waits.length)),
  }),
);
await db.$disconnect();
fs.rmSync(dir, { recursive: true, force: true });

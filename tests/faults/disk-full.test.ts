// Disk full and read-only database, on a real small file system: a 4 MiB tmpfs mounted for the test
// (this needs root, as in the sandbox and CI). While the disk is full the server answers writes with a
// clear 503 (never a hang, never an opaque 500), keeps answering reads, and recovers when space
// returns; on a read-only file system it refuses to start with a message naming the problem, and
// starts when the file system is writable again. Nothing acknowledged is lost, integrity_check passes.
import { execFileSync } from "node:child_process";
import Database from "better-sqlite3";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  codeOf,
  enrollFleet,
  integrityCheck,
  newLedger,
  prepareDb,
  queueOne,
  recordFigures,
  SimAgent,
  spawnServer,
  type PreparedOrg,
  type ServerProcess,
} from "../helpers/fleet-sim.ts";
import { checkLedger } from "./kill-rounds.ts";
import { trpcClient } from "../helpers/server.ts";

let dir: string;
let dbFile: string;
let org: PreparedOrg;
/** Servers still running: stopped before the unmount, also when an assertion failed half-way. */
const running = new Set<ServerProcess>();

async function startOnDisk(opts?: Parameters<typeof spawnServer>[1]): Promise<ServerProcess> {
  const s = await spawnServer(dbFile, opts);
  running.add(s);
  return s;
}

async function stopServer(s: ServerProcess): Promise<void> {
  await s.stop(10_000);
  running.delete(s);
}

/** Writes a filler file until the file system says ENOSPC. */
function fillDisk(file: string): number {
  const fd = fs.openSync(file, "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  let written = 0;
  try {
    for (;;) written += fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    fs.closeSync(fd);
  }
  // Small leftovers (less than a chunk) too.
  const fd2 = fs.openSync(file, "a");
  try {
    for (;;) written += fs.writeSync(fd2, Buffer.alloc(512, 1));
  } catch {
    // full
  } finally {
    fs.closeSync(fd2);
  }
  return written;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-full-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", dir]);
  dbFile = path.join(dir, "fleet.db");
  [org] = (await prepareDb(dbFile)) as [PreparedOrg];
}, 180_000);

afterAll(async () => {
  for (const s of running) await s.kill();
  try {
    execFileSync("umount", [dir]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe("disk full and read-only database (real 4 MiB tmpfs)", () => {
  it("answers writes with a clear 503 while the disk is full, keeps serving reads, and recovers", async () => {
    const server = await startOnDisk({ env: { DASHFLEET_LEASE_SECONDS: "2" } });
    const ledger = newLedger();
    const fleet = await enrollFleet(server.url, org.agentKey, 2, "full");
    const agents = fleet.map((m) => new SimAgent(m.machineId, m.token, ledger));
    const admin = trpcClient(server.url, { authorization: `Bearer ${org.adminKey}` });
    const clients = agents.map((a) => trpcClient(server.url, { authorization: `Bearer ${a.token}` }));
    for (let i = 0; i < 20; i++) await queueOne(admin, ledger, agents[i % 2]!.machineId, i + 1);
    // One agent takes its actions now; the other's wait, delivered but not run, through the outage.
    await agents[0]!.cycle(clients[0]!);
    expect(ledger.queued.size).toBe(20);

    const filler = fillDisk(path.join(dir, "filler"));
    expect(filler).toBeGreaterThan(0);

    // Writes: clear 503s, quickly, every time (no hang, no crash, no 500).
    let refused = 0;
    const messages = new Set<string>();
    for (let i = 0; i < 40; i++) {
      try {
        const { id } = await admin.actions.queue.mutate({
          machineId: "full-0",
          type: "message",
          data: { message: `during ${i} ${"x".repeat(3000)}` },
        });
        ledger.queued.set(id, "full-0"); // SQLite found room (a free page): then it must be kept
      } catch (err) {
        expect(codeOf(err)).toBe("SERVICE_UNAVAILABLE");
        messages.add((err as Error).message);
        refused += 1;
      }
    }
    // Most are refused; a few may fit pages SQLite still holds free (fewer the more pages a write needs:
    // 30 of 40 refused since the report-write indexes were dropped), and each one kept is checked below.
    expect(refused).toBeGreaterThan(20);
    expect([...messages]).toEqual([
      "The server's disk is full: nothing new can be saved until space is freed. Nothing already saved is lost; retry later.",
    ]);
    const report = await fetch(`${server.url}/trpc/agent.report`, {
      method: "POST",
      headers: { authorization: `Bearer ${fleet[1]!.token}`, "content-type": "application/json" },
      body: JSON.stringify({
        metrics: {
          cpuPercent: 1,
          memoryPercent: 1,
          diskPercent: 100,
          uptimeSeconds: 1,
          extras: { pad: "p".repeat(200) },
        },
      }),
    });
    // A small report may still fit: when the log was just checkpointed, the next commit restarts it and
    // reuses the space it already holds. Then it is saved (checked below, after recovery); if it does
    // not fit, the answer is the same clear 503.
    const reportSaved = report.status === 200;
    if (!reportSaved) {
      expect(report.status).toBe(503);
      expect(await report.text()).toMatch(/disk is full/);
    }
    const rest = await fetch(`${server.url}/api/actions/queue`, {
      method: "POST",
      headers: { authorization: `Bearer ${org.adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ machine_id: "full-1", action_type: "message", data: { message: "y".repeat(3500) } }),
    });
    expect(rest.status).toBe(503);
    // An agent polling, acking and reporting through the outage keeps what it could not send.
    await agents[1]!.cycle(clients[1]!);
    expect(ledger.answeredErrors.get("SERVICE_UNAVAILABLE")).toBeGreaterThan(0);
    expect(((await rest.json()) as { error: string }).error).toMatch(/disk is full/);
    // Reads still work, and the process is alive.
    const listed = await admin.actions.list.query({ limit: 100 });
    expect(listed.items.length).toBeGreaterThanOrEqual(20);
    expect(server.child.exitCode).toBeNull();

    // Space returns: writes work again, the agents deliver everything, nothing acknowledged is lost.
    fs.rmSync(path.join(dir, "filler"));
    const { id: after } = await admin.actions.queue.mutate({
      machineId: "full-1",
      type: "message",
      data: { message: "after the disk was freed" },
    });
    ledger.queued.set(after, "full-1");
    for (let round = 0; round < 30; round++) {
      await Promise.all(agents.map((a, i) => a.cycle(clients[i]!)));
      const open = (await admin.actions.list.query({ status: ["pending", "delivered", "executing"], limit: 100 })).items
        .length;
      if (open === 0 && agents.every((a) => a.journal.size === 0)) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    // The WAL stays bounded (server/db.ts, wal_autocheckpoint): unbounded, it refilled the freed space.
    const walBytes = fs.statSync(`${dbFile}-wal`).size;
    expect(walBytes).toBeLessThan(2 * 1024 * 1024);
    await stopServer(server);
    expect(integrityCheck(dbFile)).toBe("ok");
    expect(checkLedger(dbFile, ledger)).toEqual([]);
    if (reportSaved) {
      // Answered 200 while the disk was full: it must be on disk (the only report with disk at 100 %).
      const db = new Database(dbFile, { readonly: true });
      const rows = db.prepare(`SELECT count(*) AS n FROM "MetricReport" WHERE "disk" = 100`).get() as { n: number };
      db.close();
      expect(rows.n).toBe(1);
    }
    expect(ledger.reported.size).toBe(ledger.queued.size);
    recordFigures("disk-full", {
      fillerBytes: filler,
      writesRefusedWith503: refused,
      actionsChecked: ledger.queued.size,
      resultsChecked: ledger.reported.size,
      walBytesAfterRecovery: walBytes,
      lost: 0,
    });
  }, 300_000);

  it("refuses to start on a read-only file system with a clear message, and starts once it is writable", async () => {
    execFileSync("mount", ["-o", "remount,ro", dir]);
    let message = "";
    try {
      // Bounded generously: the refusal comes after `node --import tsx` has started, slow on a busy machine.
      const s = await startOnDisk({ timeoutMs: 120_000 });
      await s.kill();
      running.delete(s);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(
      `DashFleet cannot start: the database folder ${dir} is not writable (EROFS: read-only file system)`,
    );
    expect(message).not.toMatch(/at .*\.ts:\d+/); // a sentence, not a stack trace

    execFileSync("mount", ["-o", "remount,rw", dir]);
    const server = await startOnDisk();
    const admin = trpcClient(server.url, { authorization: `Bearer ${org.adminKey}` });
    expect((await admin.actions.list.query({ limit: 100 })).items.length).toBeGreaterThan(20);
    await admin.actions.queue.mutate({ machineId: "full-0", type: "restart", data: {} });
    await stopServer(server);
    expect(integrityCheck(dbFile)).toBe("ok");
  }, 300_000);
});

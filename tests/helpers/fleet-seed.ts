// Seeds many machines straight into a test server's database (thousands of enrollments over HTTP
// would be slow and hit the enrollment limits), with figures, health, online state and labels as the
// report path stores them. The tests then read and act on them over HTTP, through the real API.
import type { TestServer } from "./server.ts";
import { assessHealth, onlineUntilOf } from "../../server/services/health.ts";

export type SeedMachine = {
  machineId: string;
  hostname: string;
  displayName: string | null;
  os: string;
  /** null: never reported */
  figures: { cpu: number; memory: number; disk: number } | null;
  online: boolean;
  labels: string[];
  lastSeenAt: Date;
};

/** Inserts the machines (500 per statement) for an org; returns them as given. */
export async function seedMachines(server: TestServer, orgId: string, machines: SeedMachine[]): Promise<SeedMachine[]> {
  const db = server.deps.db;
  const now = server.deps.clock.now();
  for (let start = 0; start < machines.length; start += 500) {
    const chunk = machines.slice(start, start + 500);
    const params: unknown[] = [];
    for (const [k, m] of chunk.entries()) {
      const h = m.figures
        ? assessHealth([{ cpuPercent: m.figures.cpu, memoryPercent: m.figures.memory, diskPercent: m.figures.disk }])
        : null;
      const seen = m.online ? m.lastSeenAt : new Date(now.getTime() - 3600_000 - (start + k) * 1000);
      params.push(
        `seed_${orgId}_${m.machineId}`,
        orgId,
        m.machineId,
        m.hostname,
        m.displayName,
        m.os,
        "0.0.0-seed",
        seen,
        seen,
        // Online for the next hour: with 30 s (three 10 s intervals) the "online" machines went offline
        // while a slow file still ran (fleet-paging's counters failed under load after 42 s of tests).
        m.online ? new Date(now.getTime() + 3600_000) : onlineUntilOf(seen, 10),
        m.figures?.cpu ?? null,
        m.figures?.memory ?? null,
        m.figures?.disk ?? null,
        m.figures ? 100 : null,
        m.figures ? seen : null,
        h?.health ?? null,
        h?.score ?? null,
        h ? JSON.stringify(h.reasons) : null,
      );
    }
    await db.$executeRawUnsafe(
      `INSERT INTO "Machine" ("id", "orgId", "machineId", "hostname", "displayName", "os", "agentVersion", "firstSeenAt", "lastSeenAt", "onlineUntil", ` +
        `"lastCpu", "lastMemory", "lastDisk", "lastUptime", "lastReportAt", "health", "healthScore", "healthReasons") VALUES ` +
        chunk.map(() => `(${Array.from({ length: 18 }, () => "?").join(", ")})`).join(", "),
      ...params,
    );
    const labels = chunk.flatMap((m) => m.labels.map((label) => [`seed_${orgId}_${m.machineId}`, orgId, label]));
    for (let i = 0; i < labels.length; i += 300) {
      const part = labels.slice(i, i + 300);
      await db.$executeRawUnsafe(
        `INSERT INTO "MachineLabel" ("machineRef", "orgId", "label") VALUES ${part.map(() => "(?, ?, ?)").join(", ")}`,
        ...part.flat(),
      );
    }
  }
  return machines;
}

/** A varied fleet of n machines: duplicate hostnames and figures (ties), never-reported ones, offline ones, labels. */
export function variedFleet(n: number, prefix = "m"): SeedMachine[] {
  const base = Date.parse("2026-11-25T12:00:00Z");
  return Array.from({ length: n }, (_, i) => ({
    machineId: `${prefix}-${String(i).padStart(5, "0")}`,
    // Every 7th shares a hostname with its neighbour: the id breaks the tie.
    hostname: i % 7 === 0 ? `host-${i + 1}` : `host-${i}`,
    displayName: i % 50 === 0 ? `Front Desk ${i}` : null,
    os: i % 3 === 0 ? "Windows 11" : "Linux",
    figures: i % 10 === 9 ? null : { cpu: (i * 37) % 101, memory: (i * 53) % 101, disk: (i * 11) % 101 },
    online: i % 4 !== 0,
    labels: [...(i % 2 === 0 ? ["web"] : []), ...(i % 5 === 0 ? ["eu"] : []), ...(i % 11 === 0 ? ["db"] : [])],
    // Many machines seen in the same second: ties on lastSeen too.
    lastSeenAt: new Date(base + Math.floor(i / 10) * 1000),
  }));
}

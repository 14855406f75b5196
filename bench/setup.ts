// Bench setup: a fresh database with one organization and N machines whose tokens the simulators can
// derive (bench-only: machines are bulk-inserted with known token hashes instead of 100,000 enrollments).
import { randomBytes } from "node:crypto";
import { systemClock } from "../server/clock.ts";
import { migrate, openDb } from "../server/db.ts";
import { createOrganization } from "../server/services/accounts.ts";
import { hashSecret, MACHINE_TOKEN_PREFIX } from "../server/services/crypto.ts";

export type BenchFleet = {
  dbFile: string;
  orgId: string;
  adminKey: string;
  agentKey: string;
  salt: string;
  machines: number;
};

/** The machine token of simulated machine i (the simulators derive it the same way). */
export function machineToken(salt: string, i: number): string {
  return `${MACHINE_TOKEN_PREFIX}bench_${salt}_${i}`;
}

/** The agent-side machine id of simulated machine i. */
export function machineIdOf(i: number): string {
  return `sim-${i}`;
}

/** Migrates a new database file and fills it with an org and `machines` enrolled machines. */
export async function prepareFleet(dbFile: string, machines: number): Promise<BenchFleet> {
  await migrate(dbFile);
  const db = await openDb(dbFile);
  try {
    const org = await createOrganization(db, systemClock, { name: "Bench", actor: "bench" });
    const salt = randomBytes(6).toString("hex");
    const now = new Date();
    const CHUNK = 500;
    for (let start = 0; start < machines; start += CHUNK) {
      const n = Math.min(CHUNK, machines - start);
      const params: unknown[] = [];
      for (let i = start; i < start + n; i++) {
        params.push(
          `bm_${salt}_${i}`,
          org.orgId,
          machineIdOf(i),
          `host-${i}`,
          "Linux bench",
          "0.0.0-bench",
          hashSecret(machineToken(salt, i)),
          now,
          now,
        );
      }
      await db.$executeRawUnsafe(
        `INSERT INTO "Machine" ("id", "orgId", "machineId", "hostname", "os", "agentVersion", "tokenHash", "firstSeenAt", "lastSeenAt") VALUES ${Array.from({ length: n }, () => "(?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
        ...params,
      );
    }
    return { dbFile, orgId: org.orgId, adminKey: org.adminKey, agentKey: org.agentKey, salt, machines };
  } finally {
    await db.$disconnect();
  }
}

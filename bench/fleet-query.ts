// Fleet query figures at scale: fleet.list pages (each sort, filters, search), fleet.summary and the
// matching COUNT against N bulk-inserted machines with varied metrics and labels. Run:
//   npx tsx bench/fleet-query.ts [machines=100000]
// Prints the median of 20 runs of each query (services called directly, no HTTP).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { systemClock } from "../server/clock.ts";
import { FleetQuery, type FleetQueryInput } from "../server/contract/index.ts";
import { openDb } from "../server/db.ts";
import { fleetSummary, listFleet } from "../server/services/fleet.ts";
import { backfillFleetState } from "../server/services/health.ts";
import { prepareFleet } from "./setup.ts";

const machines = Number(process.argv[2] ?? 100_000);
const keep = process.env.KEEP === "1";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-fq-"));
const fleet = await prepareFleet(path.join(dir, "fleet.db"), machines);
const db = await openDb(fleet.dbFile);
// Varied figures: every 10th machine never reported, the others spread over 0-100 %.
await db.$executeRawUnsafe(
  `UPDATE "Machine" SET "lastCpu" = (abs(random()) % 100), "lastMemory" = (abs(random()) % 100), "lastDisk" = (abs(random()) % 100), "lastReportAt" = "lastSeenAt", "lastUptime" = 1 WHERE CAST(substr("machineId", 5) AS INTEGER) % 10 <> 0`,
);
await db.$executeRawUnsafe(
  `UPDATE "Machine" SET "os" = 'Windows 11' WHERE CAST(substr("machineId", 5) AS INTEGER) % 3 = 0`,
);
await db.$executeRawUnsafe(
  `INSERT INTO "MachineLabel" ("machineRef", "orgId", "label") SELECT "id", "orgId", 'web' FROM "Machine" WHERE CAST(substr("machineId", 5) AS INTEGER) % 4 = 0`,
);
await db.$executeRawUnsafe(
  `INSERT INTO "MachineLabel" ("machineRef", "orgId", "label") SELECT "id", "orgId", 'eu' FROM "Machine" WHERE CAST(substr("machineId", 5) AS INTEGER) % 7 = 0`,
);
let t = performance.now();
const filled = await backfillFleetState(db);
console.log(`backfill: ${JSON.stringify(filled)} in ${Math.round(performance.now() - t)} ms`);
await db.$executeRawUnsafe("ANALYZE");

const deps = { db, clock: systemClock };
async function median(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const s = performance.now();
    await fn();
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[10]! * 10) / 10;
}
const rows: [string, number, number][] = [];
async function page(name: string, input: FleetQueryInput) {
  const q = FleetQuery.parse(input);
  const first = await listFleet(deps, fleet.orgId, q, 10);
  const second = FleetQuery.parse({ ...input, cursor: first.nextCursor });
  const ms1 = await median(() => listFleet(deps, fleet.orgId, q, 10));
  const ms2 = first.nextCursor ? await median(() => listFleet(deps, fleet.orgId, second, 10)) : NaN;
  rows.push([name, ms1, ms2]);
  console.log(
    `${name.padEnd(40)} first page ${String(ms1).padStart(7)} ms   next page ${String(ms2).padStart(7)} ms   total ${first.total}`,
  );
}
console.log(`fleet.list at ${machines} machines (50 per page, median of 20, includes the COUNT):`);
for (const sort of ["hostname", "health", "lastSeen", "cpu", "memory", "disk"] as const)
  await page(`sort ${sort}`, { sort });
await page("online=true", { online: true });
await page("health=critical", { health: "critical" });
await page("health=critical sort health", { health: "critical", sort: "health" });
await page("os=Windows 11 sort cpu", { os: "Windows 11", sort: "cpu" });
await page("labels=[web,eu]", { labels: ["web", "eu"] });
await page("search 'host-4242'", { search: "host-4242" });
await page("search 'st-99' sort cpu", { search: "st-99", sort: "cpu" });
await page("search 'nothing-matches'", { search: "nothing-matches" });
t = performance.now();
const ms = await median(() => fleetSummary(deps, fleet.orgId, {}));
console.log(`fleet.summary (whole fleet)               ${ms} ms`);
console.log(
  `fleet.summary (label web)                 ${await median(() => fleetSummary(deps, fleet.orgId, { labels: ["web"] }))} ms`,
);
await db.$disconnect();
if (keep) console.log(`kept ${fleet.dbFile}`);
else fs.rmSync(dir, { recursive: true, force: true });

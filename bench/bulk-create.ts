// A fleet-wide bulk job at scale: N bulk-inserted machines, the real server in this process, one
// bulk.create {filter: {}} over HTTP with the real tRPC client, then bulk.get's counts and a cancel.
//   npx tsx bench/bulk-create.ts [machines=100000]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTRPCClient, httpLink } from "@trpc/client";
import pino from "pino";
import { startServer } from "../server/app.ts";
import { loadConfig } from "../server/config.ts";
import type { AppRouter } from "../server/routers/_app.ts";
import { prepareFleet } from "./setup.ts";

const machines = Number(process.argv[2] ?? 100_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-bulk-"));
const fleet = await prepareFleet(path.join(dir, "fleet.db"), machines);
const config = loadConfig({
  DASHFLEET_DB: fleet.dbFile,
  PORT: "0",
  HOST: "127.0.0.1",
  LOG_LEVEL: "silent",
  DASHFLEET_DEMO: "false",
  DASHFLEET_QUEUE_PER_MINUTE: String(10 * machines),
});
const server = await startServer({ config, log: pino({ level: "silent" }), sweep: false });
const admin = createTRPCClient<AppRouter>({
  links: [httpLink({ url: `${server.url}/trpc`, headers: { authorization: `Bearer ${fleet.adminKey}` } })],
});
// Wall time, and this process's CPU time (server and client share it): on a busy shared box the CPU
// time is the better guide to what an idle machine would take.
const time = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
  const t = performance.now();
  const cpu = process.cpuUsage();
  const r = await fn();
  const used = process.cpuUsage(cpu);
  const cpuMs = Math.round((used.user + used.system) / 1000);
  console.log(
    `${label.padEnd(44)} ${String(Math.round(performance.now() - t)).padStart(6)} ms wall, ${String(cpuMs).padStart(6)} ms CPU`,
  );
  return r;
};
console.log(
  `load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")} on ${os.cpus().length} CPUs`,
);
const { bulkId, count } = await time(`bulk.create to all ${machines} machines`, () =>
  admin.bulk.create.mutate({ target: { filter: {} }, type: "message", data: { message: "bench" } }),
);
console.log(`  count ${count}`);
const got = await time("bulk.get (counts by status, first page)", () => admin.bulk.get.query({ bulkId }));
console.log(`  pending ${got.counts.pending}`);
await time("bulk.list", () => admin.bulk.list.query());
const c = await time("bulk.cancel", () => admin.bulk.cancel.mutate({ bulkId }));
console.log(`  cancelled ${c.cancelled}`);
await server.close();
fs.rmSync(dir, { recursive: true, force: true });

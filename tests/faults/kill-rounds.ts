// The SIGKILL experiment shared by the short (npm test) and long (npm run test:faults) suites:
// a simulated fleet queues, polls, acks, runs and reports while the server is killed at random
// moments and restarted on the same database; afterwards every returned call is checked. A round
// waits for an amount of work before its random kill (not for a time), so a busy machine runs the
// same experiment, only slower.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  enrollFleet,
  integrityCheck,
  newLedger,
  prepareDb,
  readRows,
  recordFigures,
  runLoad,
  sleep,
  SimAgent,
  spawnServer,
  type Ledger,
  type ServerProcess,
} from "../helpers/fleet-sim.ts";
import { trpcClient } from "../helpers/server.ts";
import { drainUntilIdle, waitForWork } from "./work.ts";

/** Short lease so that delivered-but-unacked actions come back quickly after a kill. */
const ENV = { DASHFLEET_LEASE_SECONDS: "2" };
/** A start after a SIGKILL (`node --import tsx`, then recovery of the log) on a busy machine: a bound, not a speed. */
const START_MS = 120_000;

export type KillReport = {
  rounds: number;
  kills: number;
  integrityFailures: string[];
  ledger: Ledger;
  dbFile: string;
  /** Problems found by the final check (must be empty). */
  problems: string[];
  figures: Record<string, number>;
};

/** Runs `rounds` kill/restart rounds, drains the fleet, and checks the database against the ledger. */
export async function killRounds(
  rounds: number,
  opts: {
    machines?: number;
    /**
     * Work each round must see returned before its kill (queue calls, result reports): the kill then
     * comes at a random moment of [minMs, maxMs) later. Left out (kills right after start-up), a round
     * is only the random moment, whatever the machine managed to do in it.
     */
    workPerRound?: { queued: number; reported: number };
    minMs?: number;
    maxMs?: number;
    name: string;
  },
): Promise<KillReport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-kill-"));
  const dbFile = path.join(dir, "fleet.db");
  const [org] = await prepareDb(dbFile);
  const ledger = newLedger();
  const integrityFailures: string[] = [];
  const problems: string[] = [];
  let agents: SimAgent[] = [];
  let kills = 0;
  let running: ServerProcess | null = null;
  try {
    for (let round = 0; round < rounds; round++) {
      const server = (running = await spawnServer(dbFile, { env: ENV, timeoutMs: START_MS }));
      if (round === 0) {
        const fleet = await enrollFleet(server.url, org!.agentKey, opts.machines ?? 6);
        agents = fleet.map((m) => new SimAgent(m.machineId, m.token, ledger));
      }
      const stop = { stopped: false };
      const load = runLoad(server.url, org!.adminKey, agents, ledger, stop);
      // A busy machine does less in a given time: wait for the round's work, not for a time.
      const shortfall = opts.workPerRound ? await waitForWork(ledger, opts.workPerRound) : null;
      if (shortfall) problems.push(`round ${round}: ${shortfall}`);
      const min = opts.minMs ?? 200;
      const max = opts.maxMs ?? 2500;
      await sleep(min + Math.floor(Math.random() * (max - min)));
      await server.kill();
      running = null;
      kills += 1;
      stop.stopped = true;
      await load;
      const ok = integrityCheck(dbFile);
      if (ok !== "ok") integrityFailures.push(`round ${round}: ${ok}`);
    }

    // Recovery: restart, let the agents deliver their journals and drain the queue, then stop cleanly.
    const server = (running = await spawnServer(dbFile, { env: ENV, timeoutMs: START_MS }));
    const clients = agents.map((a) => trpcClient(server.url, { authorization: `Bearer ${a.token}` }));
    const drained = await drainUntilIdle(
      async () => void (await Promise.all(agents.map((a, i) => a.cycle(clients[i]!)))),
      () =>
        readRows<{ n: number }>(
          dbFile,
          "SELECT count(*) AS n FROM Action WHERE status IN ('pending','delivered','executing')",
        )[0]!.n + agents.reduce((s, a) => s + a.journal.size + a.unsureAcks.size, 0),
    );
    if (!drained)
      problems.push("the fleet did not drain: actions still open or results unconfirmed, no progress for 30 s");
    // Through the API of the restarted process as well: every acknowledged action is listed.
    const listed = new Set<string>();
    {
      const admin = trpcClient(server.url, { authorization: `Bearer ${org!.adminKey}` });
      let cursor: string | null = null;
      do {
        const page: { items: { id: string }[]; nextCursor: string | null } = await admin.actions.list.query({
          limit: 100,
          cursor,
        });
        for (const a of page.items) listed.add(a.id);
        cursor = page.nextCursor;
      } while (cursor);
    }
    await server.stop();
    running = null;
    const finalIntegrity = integrityCheck(dbFile);
    if (finalIntegrity !== "ok") integrityFailures.push(`final: ${finalIntegrity}`);

    problems.push(...checkLedger(dbFile, ledger));
    for (const id of ledger.queued.keys())
      if (!listed.has(id)) problems.push(`lost action ${id}: not listed by the restarted server`);
    const figures = {
      rounds,
      sigkills: kills,
      actionsQueuedAndAcknowledged: ledger.queued.size,
      actionsAcked: ledger.acked.size,
      resultsReported: ledger.reported.size,
      metricReports: [...ledger.metricReports.values()].reduce((a, b) => a + b, 0),
      actionsInDatabase: readRows<{ n: number }>(dbFile, "SELECT count(*) AS n FROM Action")[0]!.n,
      callsLostToKills: ledger.transportErrors,
      lost: problems.filter((p) => p.startsWith("lost")).length,
      executedTwice: [...ledger.executions.values()].filter((n) => n > 1).length,
      redelivered: ledger.redelivered.length,
      integrityFailures: integrityFailures.length,
    };
    recordFigures(opts.name, figures);
    return { rounds, kills, integrityFailures, ledger, dbFile, problems, figures };
  } finally {
    // A round that failed half-way leaves no server behind.
    await running?.kill();
    if (!process.env.DASHFLEET_KEEP_FAULT_DB) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Compares the database with what the fleet saw return. Each string is one violation. */
export function checkLedger(dbFile: string, ledger: Ledger): string[] {
  const problems: string[] = [];
  const rows = readRows<{ id: string; status: string; result: string | null; machineId: string }>(
    dbFile,
    "SELECT a.id, a.status, a.result, m.machineId FROM Action a JOIN Machine m ON m.id = a.machineRef",
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const [id, machineId] of ledger.queued) {
    const r = byId.get(id);
    if (!r) problems.push(`lost action ${id}: its queue call returned but it is not in the database`);
    else if (r.machineId !== machineId) problems.push(`action ${id} is for ${r.machineId}, queued for ${machineId}`);
  }
  for (const [id, rep] of ledger.reported) {
    const r = byId.get(id);
    if (!r) problems.push(`lost result of ${id}: the action is missing`);
    else if (r.status !== rep.status || r.result !== rep.result)
      problems.push(`lost result of ${id}: reported ${rep.status} "${rep.result}", stored ${r.status} "${r.result}"`);
  }
  for (const id of ledger.acked.keys()) {
    const r = byId.get(id);
    if (r && !["executing", "done", "error"].includes(r.status)) problems.push(`acked action ${id} is ${r.status}`);
  }
  for (const [id, n] of ledger.executions) if (n > 1) problems.push(`action ${id} was run ${n} times`);
  for (const id of ledger.redelivered) problems.push(`action ${id} was delivered again after its ack returned`);
  // The event log too: no delivery after the first "executing" event of an action.
  const late = readRows<{ actionId: string }>(
    dbFile,
    `SELECT d.actionId FROM ActionEvent d WHERE d.status = 'delivered' AND EXISTS (
       SELECT 1 FROM ActionEvent e WHERE e.actionId = d.actionId AND e.status = 'executing' AND e.id < d.id)`,
  );
  for (const r of late) problems.push(`action ${r.actionId} has a delivery event after it started executing`);
  // Metric reports that returned are stored.
  const reports = readRows<{ machineId: string; n: number }>(
    dbFile,
    "SELECT m.machineId, count(r.id) AS n FROM Machine m LEFT JOIN MetricReport r ON r.machineRef = m.id GROUP BY m.id",
  );
  const stored = new Map(reports.map((r) => [r.machineId, r.n]));
  for (const [machineId, n] of ledger.metricReports) {
    if ((stored.get(machineId) ?? 0) < n)
      problems.push(`lost metric reports of ${machineId}: ${n} returned, ${stored.get(machineId) ?? 0} stored`);
  }
  return problems;
}

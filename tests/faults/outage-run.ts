// The outage experiment shared by the short and long suites: real headless agents hold results in
// their journals while the server is unreachable (connection refused), back off with jitter, and
// deliver everything once it returns. Measures how the reconnections spread out. Waits follow events
// (enrolled, journaled, done, back); their bounds allow for agents (`node --import tsx` processes)
// starting together on a busy machine, and only the outage itself is a time.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fakeNotifySend, journalEntry, shown, spawnAgent, waitFor, type AgentProcess } from "../helpers/agent-proc.ts";
import { recordFigures } from "../helpers/fleet-sim.ts";
import { peakRate, startProxy } from "../helpers/proxy.ts";
import { startTestServer } from "../helpers/server.ts";

export type OutageReport = {
  agents: number;
  outageSeconds: number;
  journalsKeptThroughOutage: number;
  resultsDelivered: number;
  messagesShown: number;
  doneEvents: number;
  /** First request of each agent after recovery, in ms after the server came back. */
  firstAfterRecovery: number[];
  /** Most agents whose first request fell within one 250 ms window (all of them = a herd). */
  mostAgentsIn250ms: number;
  peakRequestsPerSecondAfterRecovery: number;
};

/** Bound of a wait that includes headless agents starting together on a busy machine (a failure, not a speed). */
const AGENT_WAIT_MS = 120_000;

export async function outage(opts: {
  agents: number;
  outageSeconds: number;
  backoffMaxSeconds: number;
  name: string;
}): Promise<OutageReport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-outage-"));
  const server = await startTestServer({ env: { DASHFLEET_AGENT_PER_MINUTE: "100000" } });
  const proxy = await startProxy(server.url);
  const procs: AgentProcess[] = [];
  try {
    const org = await server.createOrg("Outage Org");
    const { bin, shownFile } = fakeNotifySend(dir);
    const ids = Array.from({ length: opts.agents }, (_, i) => `outage-${i}`);
    // Results are held back first, so every agent has one waiting in its journal when the server goes.
    proxy.rule = (p) => (p.startsWith("agent.reportResult") ? "refuse" : "pass");
    for (const machineId of ids)
      procs.push(
        spawnAgent({
          server: proxy.url,
          token: org.agentKey,
          machineId,
          dataDir: path.join(dir, machineId),
          bin,
          extra: ["--backoff-max", String(opts.backoffMaxSeconds)],
        }),
      );
    for (const machineId of ids)
      await waitFor(
        `${machineId} to enroll`,
        () => server.deps.db.machine.findFirst({ where: { machineId }, select: { id: true } }),
        AGENT_WAIT_MS,
      );
    const admin = server.client(org.adminKey);
    const actions: { id: string; machineId: string }[] = [];
    for (const machineId of ids) {
      const { id } = await admin.actions.queue.mutate({
        machineId,
        type: "message",
        data: { message: `outage test for ${machineId}` },
      });
      actions.push({ id, machineId });
    }
    for (const a of actions)
      await waitFor(
        `${a.id} in a journal`,
        () => journalEntry(path.join(dir, a.machineId), a.id)?.state === "result",
        AGENT_WAIT_MS,
      );

    await proxy.down();
    await new Promise((r) => setTimeout(r, opts.outageSeconds * 1000));
    const kept = actions.filter((a) => journalEntry(path.join(dir, a.machineId), a.id)?.state === "result").length;
    proxy.rule = () => "pass";
    proxy.log.length = 0;
    await proxy.up();
    const back = Date.now();
    for (const a of actions)
      await waitFor(
        `${a.id} done`,
        async () => (await admin.actions.get.query({ id: a.id })).status === "done",
        opts.backoffMaxSeconds * 2 * 1000 + AGENT_WAIT_MS,
      );
    // Let the first reconnections of every agent be seen.
    await waitFor(
      "every agent back",
      () => new Set(proxy.log.map((r) => r.caller)).size >= opts.agents,
      opts.backoffMaxSeconds * 1000 + AGENT_WAIT_MS,
    );

    const first = new Map<string, number>();
    for (const r of proxy.log) if (!first.has(r.caller)) first.set(r.caller, r.at - back);
    const firstTimes = [...first.values()].sort((a, b) => a - b);
    let most = 0;
    for (let i = 0, j = 0; i < firstTimes.length; i++) {
      while (firstTimes[i]! - firstTimes[j]! >= 250) j++;
      most = Math.max(most, i - j + 1);
    }
    let doneEvents = 0;
    for (const a of actions)
      doneEvents += await server.deps.db.actionEvent.count({ where: { actionId: a.id, status: "done" } });
    const report: OutageReport = {
      agents: opts.agents,
      outageSeconds: opts.outageSeconds,
      journalsKeptThroughOutage: kept,
      resultsDelivered: actions.length,
      messagesShown: shown(shownFile).length,
      doneEvents,
      firstAfterRecovery: firstTimes,
      mostAgentsIn250ms: most,
      peakRequestsPerSecondAfterRecovery: peakRate(proxy.log, 1000, back, back + opts.backoffMaxSeconds * 1000),
    };
    recordFigures(opts.name, report);
    return report;
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
    await proxy.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

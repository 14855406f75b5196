// Agent poll throughput of the REST paths against the real ceiling (issue 12): wrk (C, not the
// bottleneck) drives a bare node:http server (bench/bare.ts) and then DashFleet's empty REST polls,
// with the agent key + machine_id (legacy mode) and with a machine token, each for a few seconds.
// Prints requests/s and the ratio to bare. `npx tsx bench/legacy-poll.ts [seconds] [connections]`
import { execFile, fork } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { startServer } from "../server/app.ts";
import { loadConfig } from "../server/config.ts";
import { createOrganization } from "../server/services/accounts.ts";
import { setLegacyAgents } from "../server/services/orgs.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.argv[2] ?? 5);
const connections = Number(process.argv[3] ?? 50);

type Run = { rps: number; non2xx: number; p99: string };

/** One wrk run (async: the DashFleet server answers from this very process). */
function wrk(url: string, token: string | null, duration = seconds): Promise<Run> {
  const args = [
    "-t1",
    `-c${connections}`,
    `-d${duration}s`,
    "--latency",
    ...(token ? ["-H", `Authorization: Bearer ${token}`] : []),
    url,
  ];
  return new Promise((resolve, reject) => {
    execFile("wrk", args, (err, stdout) => {
      if (err) return reject(new Error(`wrk failed: ${err.message}`));
      resolve({
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0),
        non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0),
        p99: /99%\s+(\S+)/.exec(stdout)?.[1] ?? "?",
      });
    });
  });
}

const bare = fork(path.join(here, "bare.ts"), { execArgv: ["--import", "tsx"] });
const barePort = await new Promise<number>((r) => bare.once("message", (m: { port: number }) => r(m.port)));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-legacy-poll-"));
const config = loadConfig({
  DASHFLEET_DB: path.join(dir, "fleet.db"),
  PORT: "0",
  HOST: "127.0.0.1",
  LOG_LEVEL: "silent",
  DASHFLEET_DEMO: "false",
  DASHFLEET_AGENT_PER_MINUTE: "100000000",
});
const server = await startServer({ config, log: pino({ level: "silent" }) });
try {
  const { db, clock } = server.deps;
  const org = await createOrganization(db, clock, { name: "bench", actor: "bench" });
  await setLegacyAgents(db, clock, { orgId: org.orgId, actor: "bench" }, true);
  const res = await fetch(`${server.url}/trpc/agent.enroll`, {
    method: "POST",
    headers: { authorization: `Bearer ${org.agentKey}`, "content-type": "application/json" },
    body: JSON.stringify({ machineId: "bench-1", hostname: "bench-1", os: "Linux", agentVersion: "1" }),
  });
  const token = ((await res.json()) as { result: { data: { machineToken: string } } }).result.data.machineToken;

  // Warm-up (JIT, caches, start-up garbage), not counted: with 1 s the first path measured carried it.
  for (let i = 0; i < 2; i++) {
    await wrk(`${server.url}/api/actions/pending?machine_id=bench-1`, org.agentKey, 2);
    await wrk(`${server.url}/api/actions/pending`, token, 2);
    await wrk(`${server.url}/trpc/agent.pendingActions?input=%7B%7D`, token, 1);
  }
  const results: [string, Run][] = [];
  results.push(["bare node:http (ceiling)", await wrk(`http://127.0.0.1:${barePort}/`, null)]);
  results.push([
    "REST poll, agent key + machine_id (legacy)",
    await wrk(`${server.url}/api/actions/pending?machine_id=bench-1`, org.agentKey),
  ]);
  results.push(["REST poll, machine token", await wrk(`${server.url}/api/actions/pending`, token)]);
  results.push(["tRPC poll, machine token", await wrk(`${server.url}/trpc/agent.pendingActions?input=%7B%7D`, token)]);
  const ceiling = results[0]![1].rps;
  console.log(`wrk -t1 -c${connections} -d${seconds}s against 127.0.0.1 (${os.cpus().length} cores)`);
  for (const [name, r] of results)
    console.log(
      `${name.padEnd(44)} ${r.rps.toFixed(0).padStart(8)} req/s  ${(r.rps / ceiling).toFixed(2)}× bare  p99 ${r.p99}  non-2xx ${r.non2xx}`,
    );
} finally {
  await server.close();
  bare.kill();
  fs.rmSync(dir, { recursive: true, force: true });
}

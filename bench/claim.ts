// The agent's claim alone (`claimActions`, server/services/actionLifecycle.ts) on a warm server:
// N machines with one pending action each, claimed one after the other in this process (no HTTP, no
// other load of ours), then 100 empty claims (the index says "look", nothing is pending). Prints wall
// p50/p99 and CPU per claim. `npx tsx bench/claim.ts` (N=300 by default, BENCH_CLAIMS=N to change).
import { claimActions, queueActions } from "../server/services/actions.ts";
import { enroll, startTestServer } from "../tests/helpers/server.ts";

const WARM_UP = 50;
const claims = Number(process.env.BENCH_CLAIMS ?? 300);
const server = await startTestServer({
  sweep: false,
  env: { DASHFLEET_ENROLL_PER_MINUTE: "100000", DASHFLEET_QUEUE_PER_MINUTE: "100000" },
});
try {
  const org = await server.createOrg();
  const who = { orgId: org.orgId, actor: "bench" };
  for (let i = 0; i < claims + WARM_UP; i++) await enroll(server, org.agentKey, `claim-${i}`);
  const machines = await server.deps.db.machine.findMany({
    where: { orgId: org.orgId },
    select: { id: true, machineId: true },
  });
  for (const m of machines) {
    const spec = {
      type: "message" as const,
      data: { message: "bench", title: "DashFleet", display: "notification" as const },
    };
    await queueActions(server.deps, who, { machineIds: [m.machineId], spec, via: "bench" });
  }
  const refs = machines.map((m) => m.id);
  // The first claims compile Prisma's queries: not measured.
  for (const ref of refs.slice(0, WARM_UP)) await claimActions(server.deps, ref);

  const walls: number[] = [];
  const cpu0 = process.cpuUsage();
  for (const ref of refs.slice(WARM_UP)) {
    const t = performance.now();
    const got = await claimActions(server.deps, ref);
    walls.push(performance.now() - t);
    if (got.length !== 1) throw new Error(`expected one action, got ${got.length}`);
  }
  const cpu = process.cpuUsage(cpu0);
  const empty: number[] = [];
  for (const ref of refs.slice(WARM_UP, WARM_UP + 100)) {
    server.deps.services.dispatch.workAvailable(ref);
    const t = performance.now();
    await claimActions(server.deps, ref);
    empty.push(performance.now() - t);
  }
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!.toFixed(2);
  };
  const cpuMs = (cpu.user + cpu.system) / 1000 / walls.length;
  console.log(
    `claim of one action (${walls.length}): wall p50 ${pct(walls, 50)} / p99 ${pct(walls, 99)} ms, ` +
      `CPU ${cpuMs.toFixed(2)} ms per claim; empty claim (${empty.length}): wall p50 ${pct(empty, 50)} ms`,
  );
} finally {
  await server.stop();
}

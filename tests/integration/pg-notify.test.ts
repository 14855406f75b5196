// Several server processes on one PostgreSQL database: two servers (two `startServer` instances in this
// test process, sharing nothing in memory: each has its own dispatch index, caches and LISTEN
// connection) on one throwaway cluster. Action sequence numbers come from the database (no duplicate
// when both queue at once); an action queued on A wakes an agent streaming from B; a key revoked or a
// machine retired on A is refused on B within a second; a killed LISTEN connection comes back and
// nothing notified meanwhile is lost.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createKeyAs, revokeKey } from "../../server/services/keys.ts";
import { createPushChannel } from "../../tray-agent/src/core/push.ts";
import { seedMachines, variedFleet } from "../helpers/fleet-seed.ts";
import { startPgCluster, type PgCluster } from "../helpers/pg.ts";
import { enroll, errorCode, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

let cluster: PgCluster;
let url: string;
let a: TestServer;
let b: TestServer;
let org: TestOrg;

const env = () => ({
  DASHFLEET_DATABASE_URL: url,
  DASHFLEET_QUEUE_PER_MINUTE: "100000",
  DASHFLEET_AGENT_PER_MINUTE: "100000",
});

beforeAll(async () => {
  cluster = await startPgCluster();
  url = await cluster.createDatabase();
  // Started together: the migration runner's advisory lock lets one migrate while the other waits.
  [a, b] = await Promise.all([startTestServer({ env: env() }), startTestServer({ env: env() })]);
  org = await a.createOrg();
}, 120_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await cluster?.stop();
});

/** Waits until `check` holds; fails after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An agent streaming from `server` (the real push client), claiming through that server on each wake. */
function streamingAgent(server: TestServer, token: string) {
  const api = server.client(token);
  const held: { id: string }[] = [];
  let connects = 0;
  let claiming = Promise.resolve();
  const channel = createPushChannel({
    serverUrl: server.url,
    machineToken: token,
    minBackoffMs: 100,
    maxBackoffMs: 500,
    log: { info: (m) => void (m === "push channel connected" && (connects += 1)) },
  })(() => {
    claiming = claiming.then(async () => {
      held.push(...(await api.agent.pendingActions.query()).actions);
    });
  });
  return {
    held,
    get connects() {
      return connects;
    },
    close: () => channel.close(),
  };
}

async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

describe("action sequence numbers from the database", () => {
  it("single and bulk queues on both servers at once: every number unique, each server's calls increasing", async () => {
    const fleet = await seedMachines(a, org.orgId, variedFleet(300, "seq"));
    const ids = fleet.map((m) => m.machineId);
    const adminA = a.client(org.adminKey);
    const adminB = b.client(org.adminKey);
    /** 40 single queue calls one after another, with a bulk of 150 machines after every tenth. */
    const run = async (admin: typeof adminA, offset: number) => {
      const order: string[] = [];
      const bulks: string[] = [];
      for (let i = 0; i < 40; i++) {
        const { id } = await admin.actions.queue.mutate({
          machineId: ids[(offset + i) % ids.length]!,
          type: "message",
          data: { message: `m${i}` },
        });
        order.push(id);
        if (i % 10 === 9) {
          const start = (offset + i * 7) % 150;
          const { bulkId } = await admin.bulk.create.mutate({
            target: { machineIds: ids.slice(start, start + 150) },
            type: "message",
            data: { message: `bulk ${i}` },
          });
          bulks.push(bulkId);
        }
      }
      return { order, bulks };
    };
    const [onA, onB] = await Promise.all([run(adminA, 0), run(adminB, 150)]);
    const rows = await a.deps.db.action.findMany({
      where: { orgId: org.orgId },
      select: { id: true, seq: true, bulkId: true },
    });
    expect(rows).toHaveLength(2 * (40 + 4 * 150));
    expect(new Set(rows.map((r) => r.seq)).size).toBe(rows.length);
    const seqOf = new Map(rows.map((r) => [r.id, r.seq]));
    for (const side of [onA, onB]) {
      const seqs = side.order.map((id) => seqOf.get(id)!);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      // A bulk numbered after the single call that preceded it on the same server.
      for (const [n, bulkId] of side.bulks.entries()) {
        const before = seqOf.get(side.order[n * 10 + 9]!)!;
        const after = seqOf.get(side.order[n * 10 + 10] ?? "") ?? Infinity;
        for (const r of rows.filter((x) => x.bulkId === bulkId)) {
          expect(r.seq).toBeGreaterThan(before);
          expect(r.seq).toBeLessThan(after);
        }
      }
    }
    // The numbers come from the database sequence (a process counter would be 0 on the other server).
    const [seqRow] = await sql<{ last: string }>(`SELECT last_value AS last FROM "action_seq"`);
    expect(Number(seqRow?.last)).toBe(Math.max(...rows.map((r) => r.seq)));
  }, 60_000);
});

describe("wake-ups across servers (LISTEN/NOTIFY)", () => {
  it("an action queued on A wakes an agent streaming from B, well within a second", async () => {
    const token = await enroll(a, org.agentKey, "cross-wake");
    const agent = streamingAgent(b, token);
    try {
      await until(() => agent.connects >= 1);
      const admin = a.client(org.adminKey);
      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = Date.now();
        const { id } = await admin.actions.queue.mutate({
          machineId: "cross-wake",
          type: "message",
          data: { message: `w${i}` },
        });
        await until(() => agent.held.some((h) => h.id === id), 2000);
        latencies.push(Date.now() - started);
      }
      console.log(`queued on A → held by an agent streaming from B: ${latencies.join(", ")} ms`);
      expect(Math.max(...latencies)).toBeLessThan(1000);
      expect(agent.held.map((h) => h.id)).toHaveLength(5);
    } finally {
      agent.close();
    }
  });

  it("a bulk of 600 machines queued on A marks every one of them in B's index (batched notifications)", async () => {
    const fleet = await seedMachines(a, org.orgId, variedFleet(600, "wide"));
    const refs = fleet.map((m) => `seed_${org.orgId}_${m.machineId}`);
    const dispatchB = b.deps.services.dispatch;
    expect(refs.some((r) => dispatchB.mayHaveWork(r))).toBe(false);
    await a.client(org.adminKey).bulk.create.mutate({
      target: { machineIds: fleet.map((m) => m.machineId) },
      type: "message",
      data: { message: "to all" },
    });
    await until(() => refs.every((r) => dispatchB.mayHaveWork(r)), 2000);
  });
});

describe("reconciliation of the dispatch index", () => {
  it("a wake-up lost between a commit and its NOTIFY is found by the periodic reconciliation", async () => {
    const token = await enroll(a, org.agentKey, "lost-wake");
    const agent = streamingAgent(b, token);
    // B's own 10-second timer calls reconcile() too: held off until the call below, or in about one run
    // in thirty it fell inside the 300 ms window, woke the agent before the "not held yet" check, and
    // left nothing for the explicit call to find.
    const dispatchB = b.deps.services.dispatch;
    const timerRuns = vi.spyOn(dispatchB, "reconcile").mockResolvedValue(0);
    try {
      await until(() => agent.connects >= 1);
      const { db, clock } = a.deps;
      const machine = await db.machine.findFirstOrThrow({ where: { machineId: "lost-wake" }, select: { id: true } });
      // Written as a process that died right after its commit leaves it: no notification at all.
      const id = randomUUID();
      const [seq] = await a.deps.services.dispatch.takeSeqs(1);
      const now = clock.now();
      await db.action.create({
        data: {
          id,
          seq: seq!,
          orgId: org.orgId,
          machineRef: machine.id,
          type: "message",
          payload: JSON.stringify({ message: "x", title: "DashFleet", display: "notification" }),
          createdBy: "test",
          createdAt: now,
          expiresAt: new Date(now.getTime() + 3600_000),
        },
        select: { id: true },
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(agent.held.map((h) => h.id)).not.toContain(id);
      // What the 10-second timer runs, called at once here.
      timerRuns.mockRestore();
      expect(await dispatchB.reconcile()).toBeGreaterThanOrEqual(1);
      await until(() => agent.held.some((h) => h.id === id), 2000);
    } finally {
      timerRuns.mockRestore();
      agent.close();
    }
  });
});

describe("invalidations across servers", () => {
  /** Resolves with the time B applies the invalidation of `target` (its caches forget it then). */
  const heardOnB = (kind: string, target: string) =>
    new Promise<number>((resolve) =>
      b.deps.services.principals.onInvalidation((e) => e.kind === kind && e.target === target && resolve(Date.now())),
    );

  it("a key revoked on A is refused on B within a second", async () => {
    // As the owner (on A's database, as the CLI would): admin keys need an owner.
    const owner = { orgId: org.orgId, actor: "test-owner", role: "owner" as const };
    const created = await createKeyAs(a.deps.db, a.deps.clock, owner, { name: "short-lived", scopes: ["admin"] });
    const onB = b.client(created.key);
    await onB.keys.list.query(); // cached on B
    const heard = heardOnB("key", created.id);
    const revokedAt = Date.now();
    await revokeKey(a.deps.db, a.deps.clock, owner, created.id);
    const after = (await heard) - revokedAt;
    console.log(`key revoked on A → applied on B after ${after} ms`);
    expect(after).toBeLessThan(1000);
    // Applied: the very next request on B is refused (the cached key is gone).
    expect(await errorCode(onB.keys.list.query())).toBe("UNAUTHORIZED");
  });

  it("a machine retired on A is refused on B within a second, and its stream on B ends", async () => {
    const token = await enroll(a, org.agentKey, "retire-me");
    const agentOnB = b.client(token);
    await agentOnB.agent.pendingActions.query(); // cached on B
    const stream = streamingAgent(b, token);
    try {
      await until(() => stream.connects >= 1);
      const ref = (
        await a.deps.db.machine.findFirstOrThrow({ where: { machineId: "retire-me" }, select: { id: true } })
      ).id;
      expect(b.deps.services.streams.count(ref)).toBe(1);
      const heard = heardOnB("machine", ref);
      const retiredAt = Date.now();
      await a.client(org.adminKey).machines.retire.mutate({ machineId: "retire-me" });
      const after = (await heard) - retiredAt;
      console.log(`machine retired on A → applied on B after ${after} ms`);
      expect(after).toBeLessThan(1000);
      expect(await errorCode(agentOnB.agent.pendingActions.query())).toBe("UNAUTHORIZED");
      await until(() => b.deps.services.streams.count(ref) === 0, 2000);
    } finally {
      stream.close();
    }
  });
});

describe("a lost LISTEN connection", () => {
  it("reconnects after pg_terminate_backend; wake-ups and invalidations made meanwhile are not lost", async () => {
    const token = await enroll(a, org.agentKey, "reconnect");
    const doomed = await enroll(a, org.agentKey, "retired-while-down");
    const agent = streamingAgent(b, token);
    const doomedOnB = b.client(doomed);
    try {
      await until(() => agent.connects >= 1);
      await doomedOnB.agent.pendingActions.query(); // cached on B
      const listener = b.deps.services.dispatch.listener!;
      const before = listener.reconnects;
      const pid = listener.backendPid;
      expect(pid).toBeGreaterThan(0);
      // B's LISTEN connection is ended, and so is every reconnect attempt of B's until the changes
      // below are made: what they notify is lost for B (A's connection is spared).
      const killer = new pg.Client({ connectionString: url });
      await killer.connect();
      let killing = true;
      const killing$ = (async () => {
        while (killing) {
          await killer.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dashfleet-listen' AND pid <> $1`,
            [a.deps.services.dispatch.listener!.backendPid],
          );
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      await until(() => !listener.connected, 2000);
      // While B is not listening: queue for its streaming agent, and retire a machine it has cached.
      const admin = a.client(org.adminKey);
      const { id: missed } = await admin.actions.queue.mutate({
        machineId: "reconnect",
        type: "message",
        data: { message: "while down" },
      });
      await admin.machines.retire.mutate({ machineId: "retired-while-down" });
      killing = false;
      await killing$;
      await killer.end();
      await until(() => listener.connected && listener.reconnects > before, 10_000);
      expect(listener.backendPid).not.toBe(pid);
      // Reloaded after the reconnect: the missed wake-up arrives, the retired machine is refused.
      await until(() => agent.held.some((h) => h.id === missed), 2000);
      expect(await errorCode(doomedOnB.agent.pendingActions.query())).toBe("UNAUTHORIZED");
      // And the new connection carries wake-ups again.
      const started = Date.now();
      const { id } = await admin.actions.queue.mutate({
        machineId: "reconnect",
        type: "message",
        data: { message: "after" },
      });
      await until(() => agent.held.some((h) => h.id === id), 1000);
      console.log(`after reconnect: queued on A → held via B in ${Date.now() - started} ms`);
    } finally {
      agent.close();
    }
  });
});

describe("the queue's own connection (services/queueWritePg.ts)", () => {
  it("cut by the database, is replaced: the next queue call is stored and delivered", async () => {
    const token = await enroll(a, org.agentKey, "queue-reconnect");
    const admin = a.client(org.adminKey);
    const first = await admin.actions.queue.mutate({
      machineId: "queue-reconnect",
      type: "message",
      data: { message: "1" },
    });
    const writer = a.deps.services.queue.writer!;
    expect(writer.connections).toBe(1);
    await sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dashfleet-queue'");
    await until(() => writer.connections === 0, 5000);
    const second = await admin.actions.queue.mutate({
      machineId: "queue-reconnect",
      type: "message",
      data: { message: "2" },
    });
    expect(writer.connections).toBe(1);
    const held = (await b.client(token).agent.pendingActions.query()).actions.map((x) => x.id);
    expect(held).toEqual([first.id, second.id]);
  });
});

describe("closing a server", () => {
  it("ends its LISTEN connection, promptly", async () => {
    const c = await startTestServer({ env: env() });
    const pid = c.deps.services.dispatch.listener!.backendPid;
    const alive = async () =>
      (await sql<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1", [pid]))[0]?.n === "1";
    expect(await alive()).toBe(true);
    const started = Date.now();
    await c.stop();
    await c.deps.services.dispatch.closed();
    expect(Date.now() - started).toBeLessThan(5000);
    await until(async () => !(await alive()), 2000);
  });
});

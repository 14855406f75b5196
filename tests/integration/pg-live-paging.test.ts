// Reads and writes ordered by numbers on PostgreSQL while commits land out of order: Action.seq and
// AuditLog.id are drawn before the commit, so with several writers 101 can become visible after 102.
// Each case holds one transaction open on a connection of its own while others commit, so the
// out-of-order commit is deterministic. The claim never hands out work ahead of an action numbered
// before it (behind a reboot, the rule); a newest-first walk of actions.list or orgs.audit lists every
// row committed before it began exactly once, and a fresh read shows one committed late; an action's
// progress keeps the agent's newest event when an older one is written after it.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../server/db.ts";
import { claimActions } from "../../server/services/actions.ts";
import { startPgCluster, type PgCluster } from "../helpers/pg.ts";
import { enroll, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

let cluster: PgCluster;
let server: TestServer;
let org: TestOrg;
let url: string;

beforeAll(async () => {
  cluster = await startPgCluster();
  url = await cluster.createDatabase();
  // No sweep: the claim itself must meet the expired actions (they make it read a second page).
  server = await startTestServer({ env: { DASHFLEET_DATABASE_URL: url }, sweep: false });
  org = await server.createOrg();
}, 180_000);
afterAll(async () => {
  await server?.stop();
  await cluster?.stop();
});

/** A connection of the test's own, outside the server (one writer among several). */
async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

/** Inserts one pending action numbered from the server's sequence, as a queue call's commit does. */
async function insertAction(
  c: pg.Client,
  machineRef: string,
  type: "message" | "reboot",
  expiresAt: Date,
): Promise<{ id: string; seq: number }> {
  const r = await c.query<{ id: string; seq: number }>(
    `INSERT INTO "Action" ("id", "seq", "orgId", "machineRef", "type", "payload", "status", "createdBy", "createdAt", "expiresAt", "deliveryCount")
     VALUES (gen_random_uuid()::text, nextval('"action_seq"'), $1, $2, $3, $4, 'pending', 'test', $5, $6, 0) RETURNING "id", "seq"`,
    [
      org.orgId,
      machineRef,
      type,
      type === "reboot" ? "{}" : JSON.stringify({ message: "m" }),
      new Date().toISOString(),
      expiresAt.toISOString(),
    ],
  );
  return { id: r.rows[0]!.id, seq: Number(r.rows[0]!.seq) };
}

/** The backend process id of a connection. */
async function pidOf(c: pg.Client): Promise<number> {
  return (await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
}

/**
 * Resolves once a backend of this database waits for a lock: `pid`'s, or any running `query`. Asked on
 * an idle connection of its own (outside a transaction, pg_stat_activity is read afresh each time).
 * Throws when `done()` turns true first: the statement finished without ever waiting.
 */
async function waitingOnLock(
  watcher: pg.Client,
  who: { pid: number } | { query: string },
  done: () => boolean,
): Promise<void> {
  const [cond, param] = "pid" in who ? ["pid = $1", who.pid] : ["query LIKE $1", `%${who.query}%`];
  for (;;) {
    if (done()) throw new Error("it finished without waiting for the lock");
    const r = await watcher.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND ${cond}`,
      [param],
    );
    if (r.rows[0]!.n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The server's database, except that inside a transaction the first read of a machine's pending
 * actions (a claim's first page) runs `during` first: the test acts in the middle of the claim.
 */
function pausingClaim(db: Db, during: () => Promise<void>): Db {
  // A method read through a proxy still runs on the real object.
  const bound = (value: unknown, self: object): unknown =>
    typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(self) : value;
  let fired = false;
  const wrapTx = (tx: object) =>
    new Proxy(tx, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (prop !== "action") return bound(value, target);
        return new Proxy(value as object, {
          get(delegate, name) {
            const fn = Reflect.get(delegate, name) as unknown;
            if (name !== "findMany") return bound(fn, delegate);
            return async (args: { where?: { status?: unknown } }) => {
              if (!fired && args.where?.status === "pending") {
                fired = true;
                await during();
              }
              return (fn as (x: unknown) => Promise<unknown>).call(delegate, args);
            };
          },
        });
      },
    });
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (prop === "$transaction")
        return (fn: (tx: object) => Promise<unknown>, opts?: unknown) =>
          (target.$transaction as (f: (tx: object) => Promise<unknown>, o?: unknown) => Promise<unknown>)(
            (tx) => fn(wrapTx(tx)),
            opts,
          );
      return bound(value, target);
    },
  });
}

async function machineRefOf(machineId: string): Promise<string> {
  const m = await server.deps.db.machine.findFirstOrThrow({ where: { machineId }, select: { id: true } });
  return m.id;
}

// Why a claim cannot pass over an action committed late: the claim locks its machine's row FOR UPDATE
// (server/db/locks.ts), and every INSERT of an action holds FOR KEY SHARE on that same row from its
// foreign-key check to its commit. The two conflict, so (1) a claim waits for every action of its
// machine being written, and (2) no action of its machine commits while it reads, all pages included.
// What it reads is then every action numbered so far, in order. These two tests fail if the lock is
// weakened (FOR NO KEY UPDATE does not conflict with FOR KEY SHARE) or the foreign key is dropped.
describe("claims while commits land out of order (PostgreSQL)", () => {
  it("a claim waits for a lower-numbered action still being written, then hands out that reboot alone", async () => {
    const machineId = "late-reboot";
    const agent = server.client(await enroll(server, org.agentKey, machineId));
    const admin = server.client(org.adminKey);
    const machineRef = await machineRefOf(machineId);
    const slow = await connect();
    const watcher = await connect();
    try {
      // The reboot takes the lower number and stays uncommitted (a writer in another process).
      await slow.query("BEGIN");
      const reboot = await insertAction(slow, machineRef, "reboot", new Date(Date.now() + 3600_000));
      // Two messages take higher numbers and commit first.
      const messages: string[] = [];
      for (let i = 0; i < 2; i++)
        messages.push((await admin.actions.queue.mutate({ machineId, type: "message", data: { message: "m" } })).id);
      let answered = false;
      const claim = agent.agent.pendingActions.query().then((r) => ((answered = true), r));
      // The claim is blocked on the machine's row, not reading around the reboot.
      await waitingOnLock(watcher, { query: `FROM "Machine" WHERE "id" = $1 FOR` }, () => answered);
      await slow.query("COMMIT");
      // In number order: the reboot first, and nothing behind it.
      expect((await claim).actions.map((a) => a.id)).toEqual([reboot.id]);
      expect((await agent.agent.pendingActions.query()).actions).toEqual([]);
      for (const id of messages) expect((await admin.actions.get.query({ id })).status).toBe("pending");
    } finally {
      await slow.query("ROLLBACK").catch(() => undefined);
      await slow.end();
      await watcher.end();
    }
  });

  it("no action of the machine commits while its claim reads (the queue waits for the claim)", async () => {
    const machineId = "claim-reads-frozen";
    await enroll(server, org.agentKey, machineId);
    const admin = server.client(org.adminKey);
    const machineRef = await machineRefOf(machineId);
    const first = (await admin.actions.queue.mutate({ machineId, type: "message", data: { message: "m" } })).id;
    const other = await connect();
    const watcher = await connect();
    try {
      const pid = await pidOf(other);
      let reboot: Promise<{ id: string; seq: number }> | null = null;
      let written = false;
      // In the middle of the claim, another writer queues a reboot for the machine: it takes its
      // number, then waits at its foreign-key check until the claim has committed.
      const during = async () => {
        reboot = insertAction(other, machineRef, "reboot", new Date(Date.now() + 3600_000)).then(
          (r) => ((written = true), r),
        );
        await waitingOnLock(watcher, { pid }, () => written);
      };
      const claimed = await claimActions({ ...server.deps, db: pausingClaim(server.deps.db, during) }, machineRef);
      expect(claimed.map((a) => a.id)).toEqual([first]);
      expect(reboot).not.toBeNull();
      const late = await reboot!;
      expect(written).toBe(true);
      // Committed after the claim, so the next claim hands it out (nothing was skipped).
      server.deps.services.dispatch.workQueued([machineRef]);
      expect((await claimActions(server.deps, machineRef)).map((a) => a.id)).toEqual([late.id]);
    } finally {
      await other.end();
      await watcher.end();
    }
  });
});

describe("actions.list while commits land out of order (PostgreSQL)", () => {
  it("a newest-first walk lists every action committed before it once; one committed late shows on a fresh read", async () => {
    const machineId = "late-list";
    await enroll(server, org.agentKey, machineId);
    const { id: machineRef } = await server.deps.db.machine.findFirstOrThrow({
      where: { machineId },
      select: { id: true },
    });
    const admin = server.client(org.adminKey);
    const queue = async () =>
      (await admin.actions.queue.mutate({ machineId, type: "message", data: { message: "m" } })).id;
    const slow = await connect();
    try {
      const before: string[] = [];
      for (let i = 0; i < 6; i++) before.push(await queue());
      // Numbered between the 6th and 7th, committed only after the walk has passed its place.
      await slow.query("BEGIN");
      const late = await insertAction(slow, machineRef, "message", new Date(Date.now() + 3600_000));
      for (let i = 0; i < 3; i++) before.push(await queue());

      const walked: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { items: { id: string }[]; nextCursor: string | null } = await admin.actions.list.query({
          machineId,
          limit: 2,
          cursor,
        });
        walked.push(...page.items.map((a) => a.id));
        cursor = page.nextCursor;
        pages += 1;
        // The walk is past the late action's place (its first two pages, 4 newest): it commits now.
        if (pages === 2) await slow.query("COMMIT");
      } while (cursor);

      // Every action committed before the walk: once each, newest first, none repeated.
      expect(walked).toEqual([...before].reverse());
      // The late one was not in that walk (it committed behind the walk's cursor, like an action
      // queued after the walk began)...
      expect(walked).not.toContain(late.id);
      // ...and a fresh read of the first page, which the console makes on every poll, shows it in place.
      const fresh = await admin.actions.list.query({ machineId, limit: 50 });
      expect(fresh.items.map((a) => a.id)).toEqual([
        ...before.slice(6).reverse(),
        late.id,
        ...before.slice(0, 6).reverse(),
      ]);
    } finally {
      await slow.query("ROLLBACK").catch(() => undefined);
      await slow.end();
    }
  });
});

describe("orgs.audit while commits land out of order (PostgreSQL)", () => {
  it("a newest-first walk lists every row committed before it once; one committed late shows on a fresh read", async () => {
    // An org of its own: its log holds only this test's rows.
    const own = await server.createOrg("audit-late");
    await enroll(server, own.agentKey, "audit-late-1");
    const admin = server.client(own.adminKey);
    const queue = async () => {
      await admin.actions.queue.mutate({ machineId: "audit-late-1", type: "message", data: { message: "m" } });
    };
    const slow = await connect();
    try {
      for (let i = 0; i < 6; i++) await queue();
      // Its id and time fall between the 6th call's and the 7th's; it commits after the walk passed.
      await slow.query("BEGIN");
      const r = await slow.query<{ id: number }>(
        `INSERT INTO "AuditLog" ("orgId", "actor", "action", "target", "detail", "at") VALUES ($1, 'test', 'actions.queue', 'late', NULL, $2) RETURNING "id"`,
        [own.orgId, new Date().toISOString()],
      );
      const late = Number(r.rows[0]!.id);
      for (let i = 0; i < 3; i++) await queue();
      const committed = (await admin.orgs.audit.query({ action: "actions.queue", limit: 50 })).items.map((e) => e.id);
      expect(committed).toHaveLength(9);

      const walked: number[] = [];
      let cursor: number | null = null;
      let pages = 0;
      do {
        const page: { items: { id: number }[]; nextCursor: number | null } = await admin.orgs.audit.query({
          action: "actions.queue",
          limit: 2,
          cursor,
        });
        walked.push(...page.items.map((e) => e.id));
        cursor = page.nextCursor;
        pages += 1;
        if (pages === 2) await slow.query("COMMIT");
      } while (cursor);

      expect(walked).toEqual(committed);
      expect(walked).not.toContain(late);
      const fresh = (await admin.orgs.audit.query({ action: "actions.queue", limit: 50 })).items.map((e) => e.id);
      expect(fresh).toEqual([...committed.slice(0, 3), late, ...committed.slice(3)]);
    } finally {
      await slow.query("ROLLBACK").catch(() => undefined);
      await slow.end();
    }
  });
});

// An agent numbers its progress events; the server keeps the latest and ignores any numbered at or
// below it. Two calls for one action in flight at once (a request that timed out on the agent's side
// but still runs, and the next event sent meanwhile, to this or another process) read the latest
// before either writes: the older must not overwrite the newer.
describe("an action's progress while its events are written out of order (PostgreSQL)", () => {
  it("keeps the newest event when an older one commits after it", async () => {
    const machineId = "progress-order";
    const agent = server.client(await enroll(server, org.agentKey, machineId));
    const admin = server.client(org.adminKey);
    const { id } = await admin.actions.queue.mutate({ machineId, type: "reboot", data: {} });
    const [d] = (await agent.agent.pendingActions.query()).actions;
    await agent.agent.ack.mutate({ actionId: id, claimToken: d!.claimToken });
    const at = (s = 0) => new Date(Date.now() + s * 1000).toISOString();
    const snoozed = (seq: number) =>
      agent.agent.progress.mutate({
        actionId: id,
        claimToken: d!.claimToken,
        seq,
        event: { kind: "snoozed", at: at(), until: at(3600), n: seq, max: 5 },
      });
    const blocker = await connect();
    const watcher = await connect();
    const waiters = async (n: number, done: () => boolean) => {
      for (;;) {
        if (done()) throw new Error("a progress call finished while the action's row was locked");
        const r = await watcher.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        if (r.rows[0]!.n >= n) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    try {
      // Holding the action's row makes both calls wait at their write (or, fixed, before their read).
      await blocker.query("BEGIN");
      await blocker.query(`SELECT "id" FROM "Action" WHERE "id" = $1 FOR UPDATE`, [id]);
      let settled = 0;
      const newer = snoozed(2).finally(() => settled++);
      await waiters(1, () => settled > 0);
      const older = snoozed(1).finally(() => settled++);
      await waiters(2, () => settled > 0);
      await blocker.query("COMMIT");
      expect(await newer).toEqual({ status: "executing", recorded: true });
      expect(await older).toEqual({ status: "executing", recorded: false });
      const view = await admin.actions.get.query({ id });
      expect(view.progress).toMatchObject({ kind: "snoozed", seq: 2, n: 2 });
      expect(view.events.filter((e) => e.kind === "snoozed").map((e) => e.detail)).toEqual([
        expect.stringMatching(/^snoozed 2 of 5/),
      ]);
    } finally {
      await blocker.query("ROLLBACK").catch(() => undefined);
      await blocker.end();
      await watcher.end();
    }
  });
});

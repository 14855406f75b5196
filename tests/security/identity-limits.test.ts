// Bounded identity resources (hostile review, findings 6 and 7), against a real server:
// random bearer tokens neither grow memory nor evict the fleet's machine tokens (counted in cache
// entries, not timed), malformed ones are refused before any lookup, a repeated unknown one costs no
// second lookup and uncached ones cost at most a fixed number of lookups a second; push streams are capped per machine token (a new one ends the oldest) and per process
// (answered 503 with a clear message), and a retired machine's streams end.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import { MISS_LOOKUPS_PER_SECOND, PrincipalResolver, UNKNOWN_CACHE_MAX } from "../../server/services/principals.ts";
import { enroll, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let org: TestOrg;

beforeAll(async () => {
  server = await startTestServer({ env: { DASHFLEET_STREAMS_PER_PROCESS: "3" } });
  org = await server.createOrg();
});
afterAll(() => server.stop());

const randomToken = (prefix: "dfm_" | "dfk_") => prefix + randomBytes(32).toString("base64url");

/**
 * How many of a spy's raw queries were machine-token lookups. The server's own timers share the
 * database client (on PostgreSQL the dispatch reconcile reads it every 10 s): counting every raw
 * query counted theirs too whenever one fell inside the measured loop.
 */
function tokenLookups(raw: { mock: { calls: [string, ...unknown[]][] } }): number {
  return raw.mock.calls.filter(([sql]) => sql.includes('"tokenHash" = ')).length;
}

describe("finding 6: random bearer tokens", () => {
  it("keep the unknown-secret cache bounded and the fleet's machine tokens cached", async () => {
    const fleet = await Promise.all(["c-1", "c-2", "c-3"].map((id) => enroll(server, org.agentKey, id)));
    for (const t of fleet) await server.client(t).agent.pendingActions.query({});
    const principals = server.deps.services.principals;
    const before = principals.cacheSizes();

    // Over HTTP: 401 each; the server's caches keep the fleet and gain at most the unknown LRU.
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${server.url}/api/actions/pending`, {
        headers: { authorization: `Bearer ${randomToken("dfm_")}` },
      });
      expect(res.status).toBe(401);
    }
    const after = principals.cacheSizes();
    expect(after.unknown).toBeLessThanOrEqual(Math.min(before.unknown + 100, UNKNOWN_CACHE_MAX));
    expect(after.machines).toBe(before.machines);
    expect(after.keys).toBe(before.keys);

    // Far more garbage than the LRU holds, into a resolver of the same database with a small LRU (500):
    // the count stays at 500 and the preloaded fleet is still answered without a database lookup.
    const clock = new ManualClock(Date.now());
    const small = new PrincipalResolver(server.deps.db, clock, { unknownMax: 500 });
    await small.preloadMachines();
    const fleetSize = small.cacheSizes().machines;
    expect(fleetSize).toBeGreaterThanOrEqual(fleet.length);
    for (let i = 0; i < 2000; i++) {
      if (i % 100 === 0) clock.advance(1); // within the lookup budget: every one of them is looked up
      expect(await small.fromBearer(randomToken(i % 2 ? "dfm_" : "dfk_"))).toBeNull();
    }
    expect(small.cacheSizes()).toEqual({ machines: fleetSize, keys: 0, unknown: 500 });
    const lookups = vi.spyOn(server.deps.db, "$queryRawUnsafe");
    try {
      for (const t of fleet) {
        expect(await small.fromBearer(t)).toMatchObject({ kind: "machine" });
        expect(await principals.fromBearer(t)).toMatchObject({ kind: "machine" });
      }
      expect(tokenLookups(lookups)).toBe(0);
    } finally {
      lookups.mockRestore();
    }
  });

  it("looks up at most MISS_LOOKUPS_PER_SECOND uncached secrets a second; the rest are refused unlooked", async () => {
    const clock = new ManualClock(Date.now());
    const resolver = new PrincipalResolver(server.deps.db, clock);
    await resolver.preloadMachines();
    const raw = vi.spyOn(server.deps.db, "$queryRawUnsafe");
    const keys = vi.spyOn(server.deps.db.apiKey, "findUnique");
    try {
      for (let i = 0; i < 1000; i++) expect(await resolver.fromBearer(randomToken(i % 2 ? "dfm_" : "dfk_"))).toBeNull();
      expect(tokenLookups(raw) + keys.mock.calls.length).toBe(MISS_LOOKUPS_PER_SECOND);
      // A second later the budget is back, and a real (preloaded) token never needed it.
      clock.advance(1);
      expect(await resolver.fromBearer(randomToken("dfm_"))).toBeNull();
      expect(tokenLookups(raw) + keys.mock.calls.length).toBe(MISS_LOOKUPS_PER_SECOND + 1);
    } finally {
      raw.mockRestore();
      keys.mockRestore();
    }
  });

  it("refuses malformed tokens before hashing or any lookup, and looks a repeated unknown token up once", async () => {
    const principals = server.deps.services.principals;
    const raw = vi.spyOn(server.deps.db, "$queryRawUnsafe");
    const keys = vi.spyOn(server.deps.db.apiKey, "findUnique");
    try {
      const size = principals.cacheSizes().unknown;
      for (const bad of [
        "x",
        "Bearer",
        "dfm_short",
        `dfm_${"!".repeat(43)}`,
        `zzz_${"a".repeat(43)}`,
        `dfk_${"a".repeat(300)}`,
        `dfm_${"a".repeat(42)}\u0000`,
      ])
        expect(await principals.fromBearer(bad)).toBeNull();
      expect(tokenLookups(raw)).toBe(0);
      expect(keys).not.toHaveBeenCalled();
      expect(principals.cacheSizes().unknown).toBe(size);

      const unknown = randomToken("dfm_");
      expect(await principals.fromBearer(unknown)).toBeNull();
      expect(await principals.fromBearer(unknown)).toBeNull();
      expect(tokenLookups(raw)).toBe(1);
    } finally {
      raw.mockRestore();
      keys.mockRestore();
    }
  });
});

/** Opens agent.actionStream as the agent's EventSource does; resolves once the server has answered. */
async function openStream(token: string) {
  const ctl = new AbortController();
  const res = await fetch(`${server.url}/trpc/agent.actionStream`, {
    headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
    signal: ctl.signal,
  });
  let ended = false;
  let text = "";
  const done = (async () => {
    try {
      const decoder = new TextDecoder();
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) text += decoder.decode(chunk);
    } catch {
      // aborted by the test
    }
    ended = true;
  })();
  return { status: res.status, ended: () => ended, text: () => text, done, close: () => ctl.abort() };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("finding 7: push streams", () => {
  it("holds at most 2 per machine token (a new one ends the oldest) and 3 per process here (503 beyond), and ends a retired machine's", async () => {
    const streams = server.deps.services.streams;
    const a = await enroll(server, org.agentKey, "s-a");
    const b = await enroll(server, org.agentKey, "s-b");
    const c = await enroll(server, org.agentKey, "s-c");
    const a1 = await openStream(a);
    const a2 = await openStream(a);
    expect([a1.status, a2.status]).toEqual([200, 200]);
    await until(() => streams.count() === 2);
    const a3 = await openStream(a);
    expect(a3.status).toBe(200);
    await until(() => a1.ended());
    expect(a2.ended()).toBe(false);
    await until(() => streams.count() === 2);

    const b1 = await openStream(b);
    expect(b1.status).toBe(200);
    await until(() => streams.count() === 3);
    const c1 = await openStream(c);
    await c1.done;
    expect(c1.status).toBe(503);
    expect(c1.text()).toMatch(/maximum of 3 push streams/);
    expect(streams.count()).toBe(3);

    // Retiring a machine ends its streams at once.
    await server.client(org.adminKey).machines.retire.mutate({ machineId: "s-a" });
    await until(() => a2.ended() && a3.ended());
    const refA = await server.deps.db.machine.findFirstOrThrow({ where: { machineId: "s-a" }, select: { id: true } });
    expect(streams.count(refA.id)).toBe(0);
    await until(() => streams.count() === 1);
    for (const s of [a1, a2, a3, b1, c1]) s.close();
    await until(() => streams.count() === 0);
  });
});

// An agent's empty poll whose credential resolved before is answered at once, before the rest of the
// server runs (server/http/fastPoll.ts answerEmptyPollNow, server/http/rest.ts answerPendingNow; the
// credential from principals.cached, which remembers each resolved secret's hash). These polls are sent
// as agents send them (plain HTTP): the fast answer must carry the same security headers and body, and
// everything that ends a credential must reach it on the very next poll: a retired or re-enrolled
// machine, a revoked key, an organization leaving legacy mode, and the per-machine poll limit.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { setLegacyAgents } from "../../server/services/orgs.ts";
import { enableLegacyAgents, enroll, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let org: TestOrg;

beforeAll(async () => {
  server = await startTestServer();
  org = await server.createOrg();
  await enableLegacyAgents(server, org.orgId);
});
afterAll(() => server.stop());

const TRPC_POLL = "/trpc/agent.pendingActions?input=%7B%7D";
const restPoll = (machineId?: string) =>
  machineId === undefined ? "/api/actions/pending" : `/api/actions/pending?machine_id=${machineId}`;

async function get(target: TestServer, path: string, bearer: string) {
  const res = await fetch(target.url + path, { headers: { authorization: `Bearer ${bearer}` } });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

/** Counts how often the full credential lookup (hash, maybe a query) runs during `run`. */
async function lookups(target: TestServer, run: () => Promise<void>): Promise<number> {
  const spy = vi.spyOn(target.deps.services.principals, "fromBearer");
  try {
    await run();
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

/**
 * Polls until an answer comes from the cache (no full lookup) and returns it. The server's own
 * invalidation poller (every 500 ms) applies what earlier steps recorded (a revoked key empties the
 * key cache, legacy mode switched on forgets the org's switch), so a cache may be emptied once between
 * two polls; then the next poll fills it again.
 */
async function cachedPoll(target: TestServer, path: string, bearer: string) {
  for (let i = 0; i < 100; i++) {
    let answer: Awaited<ReturnType<typeof get>> | undefined;
    if ((await lookups(target, async () => void (answer = await get(target, path, bearer)))) === 0) return answer!;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no poll of ${path} was answered from the cache`);
}

function expectSecurityHeaders(headers: Headers): void {
  expect(headers.get("content-security-policy")).toContain("script-src 'self'");
  expect(headers.get("x-content-type-options")).toBe("nosniff");
  expect(headers.get("referrer-policy")).toBe("no-referrer");
  expect(headers.get("x-frame-options")).toBe("DENY");
}

describe("empty polls answered from the credential cache", () => {
  it("answers all three poll paths from the cache with the usual body and every security header", async () => {
    const token = await enroll(server, org.agentKey, "fast-poll-1");
    const paths: [string, string, unknown][] = [
      [TRPC_POLL, token, { result: { data: { actions: [] } } }],
      [restPoll(), token, { actions: [] }],
      [restPoll("fast-poll-1"), token, { actions: [] }],
      [restPoll("fast-poll-1"), org.agentKey, { actions: [] }],
    ];
    for (const [path, bearer, body] of paths) {
      const first = await get(server, path, bearer); // resolves (and caches) the credential if needed
      expect(first.status).toBe(200);
      expect(first.body).toEqual(body);
      // An answer that skipped the full lookup: the cached path's headers are the ones checked.
      const again = await cachedPoll(server, path, bearer);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(body);
      expect(again.headers.get("content-type")).toMatch(/^application\/json/);
      expectSecurityHeaders(again.headers);
    }
  });

  it("still delivers work queued for a cached machine on its next poll", async () => {
    const token = await enroll(server, org.agentKey, "fast-poll-work");
    expect((await get(server, TRPC_POLL, token)).body).toEqual({ result: { data: { actions: [] } } });
    const queued = await server.client(org.adminKey).actions.queue.mutate({
      machineId: "fast-poll-work",
      type: "message",
      data: { message: "behind a cached poll" },
    });
    const polled = await get(server, TRPC_POLL, token);
    expect(
      (polled.body as { result: { data: { actions: { id: string }[] } } }).result.data.actions.map((a) => a.id),
    ).toEqual([queued.id]);
    expectSecurityHeaders(polled.headers);
  });

  it("refuses a cached machine token on the next poll once its machine is retired", async () => {
    const token = await enroll(server, org.agentKey, "fast-poll-retired");
    for (const path of [TRPC_POLL, restPoll()]) {
      expect((await cachedPoll(server, path, token)).status).toBe(200);
    }
    await server.client(org.adminKey).machines.retire.mutate({ machineId: "fast-poll-retired" });
    for (const path of [TRPC_POLL, restPoll()]) {
      const refused = await get(server, path, token);
      expect(refused.status).toBe(401);
      expectSecurityHeaders(refused.headers);
    }
    // The agent key + machine_id form no longer finds the retired machine either.
    expect((await get(server, restPoll("fast-poll-retired"), org.agentKey)).status).toBe(404);
  });

  it("refuses a machine's old token on the next poll once it re-enrolled with a new one", async () => {
    const old = await enroll(server, org.agentKey, "fast-poll-again");
    expect((await cachedPoll(server, TRPC_POLL, old)).status).toBe(200);
    // An agent re-enrolls with its current token (a reinstall keeping its identity): a new token is issued.
    const renewed = await enroll(server, old, "fast-poll-again");
    expect(renewed).not.toBe(old);
    expect((await get(server, TRPC_POLL, old)).status).toBe(401);
    expect((await get(server, restPoll(), old)).status).toBe(401);
    expect((await get(server, TRPC_POLL, renewed)).status).toBe(200);
  });

  it("refuses a cached agent key on the next legacy poll once the key is revoked", async () => {
    await enroll(server, org.agentKey, "fast-poll-key");
    const key = await server.client(org.adminKey).keys.create.mutate({ name: "legacy agents", scopes: ["agent"] });
    const path = restPoll("fast-poll-key");
    expect((await cachedPoll(server, path, key.key)).status).toBe(200);
    await server.client(org.adminKey).keys.revoke.mutate({ id: key.id });
    expect((await get(server, path, key.key)).status).toBe(401);
  });

  it("refuses a cached legacy poll once the organization leaves legacy mode", async () => {
    const other = await server.createOrg();
    await enableLegacyAgents(server, other.orgId);
    await enroll(server, other.agentKey, "fast-poll-legacy");
    const path = restPoll("fast-poll-legacy");
    expect((await cachedPoll(server, path, other.agentKey)).status).toBe(200);
    await setLegacyAgents(server.deps.db, server.deps.clock, { orgId: other.orgId, actor: "test" }, false);
    server.deps.services.principals.apply({ kind: "org", target: other.orgId }); // what the notifier delivers
    const refused = await get(server, path, other.agentKey);
    expect(refused.status).toBe(403);
    expect(String(refused.body.error)).toMatch(/legacy agent mode is off/i);
  });

  it("remembers only secrets that resolved: a run of random tokens leaves the secret memo as it was", async () => {
    const { principals } = server.deps.services;
    const before = principals.memoSize();
    for (let i = 0; i < 30; i++) {
      const random = `dfm_${crypto.randomUUID().replaceAll("-", "")}`;
      expect((await get(server, TRPC_POLL, random)).status).toBe(401);
      expect((await get(server, restPoll(), random)).status).toBe(401);
    }
    expect(principals.memoSize()).toBe(before);
  });

  it("takes the full route for a machine token naming another machine, or a query it does not read", async () => {
    const token = await enroll(server, org.agentKey, "fast-poll-own");
    await enroll(server, org.agentKey, "fast-poll-other");
    expect((await get(server, restPoll(), token)).status).toBe(200);
    expect((await get(server, restPoll("fast-poll-other"), token)).status).toBe(403);
    // Percent-encoded: decoded by the full route, which finds the machine.
    expect((await get(server, "/api/actions/pending?machine_id=fast%2Dpoll%2Down", token)).status).toBe(200);
    expect((await get(server, restPoll("fast-poll-own"), org.adminKey)).status).toBe(403);
  });
});

describe("the per-machine poll limit on the cached path", () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startTestServer({ env: { DASHFLEET_AGENT_PER_MINUTE: "4" } });
  });
  afterAll(() => limited.stop());

  it("refuses the poll past the limit with 429 and a retry hint, on all three poll paths", async () => {
    const lorg = await limited.createOrg();
    await enableLegacyAgents(limited, lorg.orgId);
    for (const kind of ["trpc", "rest", "legacy"] as const) {
      const machineId = `limited-${kind}`;
      const token = await enroll(limited, lorg.agentKey, machineId);
      const [path, bearer] =
        kind === "trpc"
          ? [TRPC_POLL, token]
          : kind === "rest"
            ? [restPoll(), token]
            : [restPoll(machineId), lorg.agentKey];
      for (let n = 0; n < 4; n++) expect((await get(limited, path, bearer)).status).toBe(200);
      const refused = await get(limited, path, bearer);
      expect(refused.status).toBe(429);
      if (kind === "trpc") {
        const { data } = (refused.body as { error: { data: { code: string; retryAfterSeconds: number } } }).error;
        expect(data.code).toBe("TOO_MANY_REQUESTS");
        expect(data.retryAfterSeconds).toBeGreaterThan(0);
      } else expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      expectSecurityHeaders(refused.headers);
    }
  });
});

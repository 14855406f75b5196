// Sign-in and enrollment limits are shared by every server process on one PostgreSQL database: two
// server instances on one database (a throwaway cluster) draw from one sign-in budget per (address,
// email) and per address, a block started by one is enforced by the other, and enrollments per agent
// key and per address count once across both. With per-process counters (SQLite's in-memory
// limiter) each instance would grant the full budget again, and these tests would fail.
import http from "node:http";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SHARED_LIMITS_TABLE } from "../../server/services/rateLimitShared.ts";
import { startPgCluster, type PgCluster } from "../helpers/pg.ts";
import { failure, PASSWORD, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

/** Attempts per (address, email) per minute; an address gets three times as many. */
const PER_MINUTE = 3;
/** Enrollment attempts per minute, per agent key and per address. */
const ENROLL_PER_MINUTE = 3;

let cluster: PgCluster;
let url: string;
let a: TestServer;
let b: TestServer;
let org: TestOrg;

type Answer = { status: number; retryAfter: number | null; body: string };

/** POSTs auth.login to `server` from a chosen loopback address (all of 127.0.0.0/8 reaches it). */
function loginFrom(server: TestServer, localAddress: string, email: string, password: string): Promise<Answer> {
  const body = JSON.stringify({ email, password });
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${server.url}/trpc/auth.login`,
      {
        method: "POST",
        localAddress,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => {
          // tRPC errors carry the wait in error.data.retryAfterSeconds (server/trpc.ts).
          const data = (JSON.parse(text) as { error?: { data?: { retryAfterSeconds?: number } } }).error?.data;
          resolve({ status: res.statusCode ?? 0, retryAfter: data?.retryAfterSeconds ?? null, body: text });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

beforeAll(async () => {
  cluster = await startPgCluster();
  url = await cluster.createDatabase("dashfleet_limits");
  const env = {
    DASHFLEET_DATABASE_URL: url,
    DASHFLEET_LOGIN_PER_MINUTE: String(PER_MINUTE),
    DASHFLEET_ENROLL_PER_MINUTE: String(ENROLL_PER_MINUTE),
  };
  // Two processes' worth of servers on one database (the second finds the migrations applied).
  a = await startTestServer({ sweep: false, env });
  b = await startTestServer({ sweep: false, env });
  org = await a.createOrg("Limits Org");
}, 120_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await cluster?.stop();
});

describe("sign-in limits shared on PostgreSQL", () => {
  it("one (address, email) budget across two servers: the attempt after it is refused on either", async () => {
    const from = "127.0.0.11";
    const statuses: number[] = [];
    // Three wrong guesses spread over both servers use up the budget...
    for (const server of [a, b, a])
      statuses.push((await loginFrom(server, from, org.ownerEmail, "wrong guess")).status);
    expect(statuses).toEqual([401, 401, 401]);
    // ...so the fourth, on the server that saw only one, is refused and starts the block.
    const fourth = await loginFrom(b, from, org.ownerEmail, "wrong guess");
    expect(fourth.status).toBe(429);
    expect(fourth.body).toMatch(/Too many sign-in attempts/);
    expect(fourth.retryAfter).toBeGreaterThanOrEqual(59);
    // The block holds on the other server too, even for the right password.
    const other = await loginFrom(a, from, org.ownerEmail, PASSWORD);
    expect(other.status).toBe(429);
    expect(other.retryAfter).toBeGreaterThan(50);
    // The owner at another address is not locked out, on either server.
    expect((await loginFrom(b, "127.0.0.12", org.ownerEmail, PASSWORD)).status).toBe(200);
    expect((await loginFrom(a, "127.0.0.12", org.ownerEmail, PASSWORD)).status).toBe(200);
  });

  it("one per-address budget across two servers: many emails from one address are refused after it", async () => {
    const from = "127.0.0.21";
    const statuses: number[] = [];
    // The address budget is 3 × PER_MINUTE; each email stays within its own pair budget.
    for (let i = 0; i < PER_MINUTE * 3; i++) {
      const server = i % 2 === 0 ? a : b;
      statuses.push((await loginFrom(server, from, `nobody${i}@example.test`, "guess")).status);
    }
    expect(statuses.every((s) => s === 401)).toBe(true);
    expect((await loginFrom(b, from, "nobody-next@example.test", "guess")).status).toBe(429);
    expect((await loginFrom(a, from, "nobody-after@example.test", "guess")).status).toBe(429);
  });

  it("one enrollment budget per agent key and per address across two servers", async () => {
    const identity = (machineId: string) => ({
      machineId,
      hostname: machineId,
      os: "Linux test",
      agentVersion: "0.0.0-test",
    });
    // Three new machines with one key, spread over both servers, use up the key's budget...
    for (const [i, server] of [a, b, a].entries())
      await server.client(org.agentKey).agent.enroll.mutate(identity(`sh-${i}`));
    // ...so the fourth is refused, on the server that saw only one of them.
    const byKey = await failure(b.client(org.agentKey).agent.enroll.mutate(identity("sh-3")));
    expect(byKey.data?.code).toBe("TOO_MANY_REQUESTS");
    expect(byKey.message).toMatch(/Too many enrollments: at most 3 per minute/);
    // Another key from the same address meets the address's budget, used up on both servers together.
    const spare = await a.client(org.adminKey).keys.create.mutate({ name: "spare agent", scopes: ["agent"] });
    const byAddress = await failure(a.client(spare.key).agent.enroll.mutate(identity("sh-4")));
    expect(byAddress.message).toMatch(/from this address/);
    expect(await a.deps.db.machine.count({ where: { orgId: org.orgId } })).toBe(3);
  });

  it("keeps the counters in the database, keyed by hashes (no email address in clear)", async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ key: string }>(`SELECT key FROM "${SHARED_LIMITS_TABLE}"`);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.some((r) => r.key.startsWith("login-pair:"))).toBe(true);
      expect(rows.some((r) => r.key === "login-address:127.0.0.21")).toBe(true);
      expect(rows.some((r) => r.key.startsWith("enroll:enroll-address:"))).toBe(true);
      expect(rows.filter((r) => r.key.includes("@"))).toEqual([]);
    } finally {
      await client.end();
    }
  });
});

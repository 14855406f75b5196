// Inputs that SQLite takes and PostgreSQL does not (or neither, past what the driver can bind): Int
// columns are int4 on PostgreSQL (64-bit on SQLite), timestamps have no year 0 there and neither database
// holds a year past 9999, a fleet cursor is base64 (the input's text check never sees inside it), and
// LIKE is LIKE on one and ILIKE on the other, NULL sorts first in PostgreSQL's DESC and last in SQLite's.
// Each boundary is sent to each procedure and REST path it reaches; the answer must be a 400 naming the
// field (or a correct 2xx for a legitimate value), never a 500, nothing stored may change on a refusal,
// and the same expectations hold in both passes (this file is in tests/pg.vitest.config.ts's PG_SUBSET).
// Found by reading the schema and every input, not by chance; a last sweep sends boundary numbers, times
// and texts to every field of every input, so a bound forgotten later shows here rather than at random.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/config.ts";
import { appRouter } from "../../server/routers/_app.ts";
import { enroll, startTestServer, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";
import { signIn } from "../helpers/session.ts";

const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>;
const DAY_MS = 86_400_000;

let server: TestServer;
let org: TestOrg;
let admin: TRPCClient;
let agent: TRPCClient;
let machineToken = "";
let ownerCookie = "";
let bulkId = "";

type Answer = { status: number; message: string; data: unknown };

/** A raw tRPC call (GET for queries, POST for mutations) with a session cookie or a bearer. */
async function call(path: string, input: unknown, bearer?: string): Promise<Answer> {
  const headers: Record<string, string> = bearer ? { authorization: `Bearer ${bearer}` } : { cookie: ownerCookie };
  const text = typeof input === "string" ? input : input === undefined ? undefined : JSON.stringify(input);
  const query = text === undefined ? "" : `?input=${encodeURIComponent(text)}`;
  const res =
    procedures[path]!._def.type === "mutation"
      ? await fetch(`${server.url}/trpc/${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: text,
        })
      : await fetch(`${server.url}/trpc/${path}${query}`, { headers });
  const body = (await res.json()) as { result?: { data: unknown }; error?: { message: string } };
  return { status: res.status, message: body.error?.message ?? "", data: body.result?.data };
}

/** POST to the original design's REST shim. */
async function rest(path: string, body: unknown, bearer: string): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { error?: string };
  return { status: res.status, message: json.error ?? "", data: json };
}

/** Expects a 400 whose message names `field` first. */
function refused(a: Answer, field: string, what: string): void {
  expect(a.status, `${what}: ${a.message}`).toBe(400);
  expect(a.message, what).toMatch(new RegExp(`^${field.replace(/\./g, "\\.")}: `));
}

async function snapshot(): Promise<string> {
  const db = server.deps.db;
  const [machines, reports, actions, events, audit, bulks, keys, views] = await Promise.all([
    db.machine.findMany({ orderBy: { id: "asc" } }),
    db.metricReport.count(),
    db.action.findMany({ orderBy: { id: "asc" } }),
    db.actionEvent.count(),
    db.auditLog.count(),
    db.bulkJob.count(),
    db.apiKey.count(),
    db.savedView.count(),
  ]);
  return JSON.stringify({ machines, reports, actions, events, audit, bulks, keys, views });
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const report = (metrics: Record<string, unknown>) => ({
  metrics: { cpuPercent: 1, memoryPercent: 2, diskPercent: 3, uptimeSeconds: 4, ...metrics },
});

beforeAll(async () => {
  server = await startTestServer({
    sweep: false,
    env: { DASHFLEET_AGENT_PER_MINUTE: "100000", DASHFLEET_QUEUE_PER_MINUTE: "100000" },
  });
  org = await server.createOrg("PG Differences");
  admin = server.client(org.adminKey);
  machineToken = await enroll(server, org.agentKey, "pgd-m1");
  agent = server.client(machineToken);
  ownerCookie = (await signIn(server, org.ownerEmail, org.password)).cookie;
  await agent.agent.report.mutate(report({}));
  // A finished action and a bulk job, so that lists and cursors have something to page over.
  await admin.actions.queue.mutate({ machineId: "pgd-m1", type: "message", data: { message: "first" } });
  const [a] = (await agent.agent.pendingActions.query({})).actions;
  await agent.agent.ack.mutate({ actionId: a!.id, claimToken: a!.claimToken });
  await agent.agent.reportResult.mutate({ actionId: a!.id, claimToken: a!.claimToken, status: "done", result: "ok" });
  bulkId = (await admin.bulk.create.mutate({ target: { machineIds: ["pgd-m1"] }, type: "restart" })).bulkId;
  await admin.bulk.cancel.mutate({ bulkId });
}, 180_000);

afterAll(async () => {
  await server?.stop();
});

describe("PostgreSQL's integer (int4) columns", () => {
  it("agent.report: an uptime past 2^31-1 seconds is refused naming the field; 2^31-1 is stored and read back", async () => {
    const before = await snapshot();
    // 3,153,600,000 was the former bound (100 years): stored on SQLite, a 500 on PostgreSQL.
    for (const uptimeSeconds of [2 ** 31, 3_153_600_000])
      refused(
        await call("agent.report", report({ uptimeSeconds }), machineToken),
        "metrics.uptimeSeconds",
        `${uptimeSeconds}`,
      );
    expect(await snapshot()).toEqual(before);
    expect((await call("agent.report", report({ uptimeSeconds: 2 ** 31 - 1 }), machineToken)).status).toBe(200);
    const { machine } = await admin.fleet.machine.query({ machineId: "pgd-m1" });
    expect(machine.metrics?.uptimeSeconds).toBe(2 ** 31 - 1);
  });

  it("cursors past int4 (orgs.audit, actions.list, bulk.get, fleet.list by health) are refused naming cursor", async () => {
    const before = await snapshot();
    refused(await call("orgs.audit", { cursor: 2 ** 31 }), "cursor", "orgs.audit");
    // The largest int4 is a well-formed cursor of no row: refused as unknown, not a 500.
    refused(await call("orgs.audit", { cursor: 2 ** 31 - 1 }), "cursor", "orgs.audit at int4 max");
    refused(await call("actions.list", { cursor: "s2147483648" }), "cursor", "actions.list");
    refused(await call("bulk.get", { bulkId, cursor: "s2147483648" }), "cursor", "bulk.get");
    // COALESCE(healthScore, 101) is an integer: 1.5 and 2^31 were a 500 on PostgreSQL.
    for (const k of [1.5, 2 ** 31, -(2 ** 31) - 1, 1e308])
      refused(
        await call("fleet.list", { sort: "health", cursor: b64({ s: "health", d: "asc", k, i: "x" }) }),
        "cursor",
        `health key ${k}`,
      );
    expect(await snapshot()).toEqual(before);
    // Legitimate cursors still page, the same on both databases.
    expect((await call("actions.list", { cursor: "s2147483647" })).status).toBe(200);
    const health = await call("fleet.list", { sort: "health", cursor: b64({ s: "health", d: "asc", k: 0, i: "" }) });
    expect(health.status).toBe(200);
    expect((health.data as { machines: { machineId: string }[] }).machines.map((m) => m.machineId)).toEqual(["pgd-m1"]);
    // A float figure may be any finite number: 1e308 is past every real figure (all machines follow, desc).
    const cpu = await call("fleet.list", { sort: "cpu", cursor: b64({ s: "cpu", d: "desc", k: 1e308, i: "" }) });
    expect((cpu.data as { machines: unknown[] }).machines).toHaveLength(1);
  });
});

describe("times both databases hold: years 0001 to 9999 in UTC", () => {
  const outside = ["0000-01-01T00:00:00Z", "0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00"];

  it("actions.list and orgs.audit: a from or to outside is refused naming it; the edges answer every item", async () => {
    for (const path of ["actions.list", "orgs.audit"]) {
      for (const field of ["from", "to"])
        for (const t of outside) {
          const a = await call(path, { [field]: t });
          refused(a, field, `${path} ${field} ${t}`);
          expect(a.message).toContain("must be between 0001-01-01 and 9999-12-31 (UTC)");
        }
      const all = (await call(path, {})).data as { items: unknown[] };
      expect(all.items.length).toBeGreaterThan(0);
      const edges = await call(path, { from: "0001-01-01T00:00:00Z", to: "9999-12-31T23:59:59.999Z" });
      expect(edges.status).toBe(200);
      expect((edges.data as { items: unknown[] }).items).toEqual(all.items);
      const none = await call(path, { to: "0001-01-01T00:00:00Z" });
      expect((none.data as { items: unknown[] }).items).toEqual([]);
    }
  });

  it("fleet.list: a last-seen cursor outside them is refused naming cursor", async () => {
    for (const k of ["0000-01-01T00:00:00.000Z", ...outside, "+275760-09-13T00:00:00.000Z"])
      refused(
        await call("fleet.list", { sort: "lastSeen", cursor: b64({ s: "lastSeen", d: "desc", k, i: "x" }) }),
        "cursor",
        `lastSeen ${k}`,
      );
    const ok = await call("fleet.list", {
      sort: "lastSeen",
      cursor: b64({ s: "lastSeen", d: "desc", k: "9999-12-31T23:59:59.999Z", i: "" }),
    });
    expect((ok.data as { machines: unknown[] }).machines).toHaveLength(1);
  });

  it("a reboot deadline or message expiry more than 365 days ahead is refused on every queue path", async () => {
    const before = await snapshot();
    // With these the ack computed an execute deadline past 9999 (a 500 on both databases, so the
    // action could never run); 400 days ahead is merely too far.
    for (const far of ["9999-12-31T23:59:59Z", new Date(Date.now() + 400 * DAY_MS).toISOString()]) {
      const reboot = { type: "reboot", data: { deadlineAt: far } };
      const message = { type: "message", data: { message: "hi", requireAcknowledgement: true, expiresAt: far } };
      for (const [spec, field] of [
        [reboot, "data.deadlineAt"],
        [message, "data.expiresAt"],
      ] as const) {
        const why = `${spec.type} ${far}`;
        refused(await call("actions.queue", { machineId: "pgd-m1", ...spec }), field, `queue ${why}`);
        refused(await call("actions.queue", { machineId: "pgd-m1", ...spec }, org.adminKey), field, `key ${why}`);
        refused(await call("actions.queueBulk", { machineIds: ["pgd-m1"], ...spec }), field, `queueBulk ${why}`);
        refused(await call("bulk.create", { target: { machineIds: ["pgd-m1"] }, ...spec }), field, `bulk ${why}`);
        const body = { machine_id: "pgd-m1", action_type: spec.type, data: spec.data };
        refused(await rest("/api/actions/queue", body, org.adminKey), field, `REST ${why}`);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it("within 365 days (or already past) a deadline and an expiry are queued, delivered and acknowledged", async () => {
    const soon = new Date(Date.now() + 300 * DAY_MS).toISOString();
    for (const [i, spec] of [
      { type: "reboot", data: { deadlineAt: soon } },
      { type: "reboot", data: { deadlineAt: "0001-01-01T00:00:00Z" } },
      { type: "message", data: { message: "read me", requireAcknowledgement: true, expiresAt: soon } },
    ].entries()) {
      // A machine each: a reboot holds its machine's later actions until it is over.
      const m2 = server.client(await enroll(server, org.agentKey, `pgd-m${i + 2}`));
      const { id } = await admin.actions.queue.mutate({ machineId: `pgd-m${i + 2}`, ...spec } as never);
      const [a] = (await m2.agent.pendingActions.query({})).actions;
      expect(a?.id, JSON.stringify(spec)).toBe(id);
      expect(await m2.agent.ack.mutate({ actionId: id, claimToken: a!.claimToken })).toEqual({ status: "executing" });
      const view = await admin.actions.get.query({ id });
      expect(view.status).toBe("executing");
      if (i !== 1) expect(Date.parse(view.executeDeadline!)).toBeGreaterThan(Date.parse(soon));
      await m2.agent.reportResult.mutate({ actionId: id, claimToken: a!.claimToken, status: "done", result: "ok" });
    }
  });
});

describe("text inside a fleet cursor, where the input's text check cannot see", () => {
  it("a NUL or a lone surrogate in a cursor's key or id is refused naming cursor", async () => {
    const cursors = [
      b64({ s: "hostname", d: "asc", k: "a\u0000", i: "x" }),
      b64({ s: "hostname", d: "asc", k: "a", i: "\u0000" }),
      b64({ s: "health", d: "asc", k: 1, i: "x\u0000" }),
      // JSON's "\ud800" escape decodes to a lone surrogate.
      Buffer.from('{"s":"hostname","d":"asc","k":"\\ud800","i":"x"}').toString("base64url"),
      Buffer.from('{"s":"hostname","d":"asc","k":"a","i":"\\udfff"}').toString("base64url"),
    ];
    for (const cursor of cursors) {
      const sort = cursor === cursors[2] ? "health" : "hostname";
      refused(await call("fleet.list", { sort, cursor }), "cursor", Buffer.from(cursor, "base64url").toString());
    }
  });
});

describe("search: LIKE wildcards and letter case", () => {
  it("%, _ and \\ match themselves only, ASCII case is ignored and other letters' case is not, on both databases", async () => {
    const hosts = ["srv-50%", "srv-500", "srv-a_b", "srv-axb", "srv-dom\\user", "srv-MiXeD", "srv-École"];
    for (const [i, h] of hosts.entries()) await enroll(server, org.agentKey, `pgd-s${i}`, h);
    const found = async (search: string) => {
      const a = await call("fleet.list", { search, sort: "hostname" });
      expect(a.status, search).toBe(200);
      return (a.data as { machines: { hostname: string }[] }).machines.map((m) => m.hostname);
    };
    expect(await found("50%")).toEqual(["srv-50%"]);
    expect(await found("0%")).toEqual(["srv-50%"]);
    expect(await found("a_b")).toEqual(["srv-a_b"]);
    expect(await found("\\")).toEqual(["srv-dom\\user"]);
    expect(await found("m\\u")).toEqual(["srv-dom\\user"]);
    expect(await found("%")).toEqual(["srv-50%"]);
    expect(await found("_")).toEqual(["srv-a_b"]);
    expect(await found("mixed")).toEqual(["srv-MiXeD"]);
    expect(await found("SRV-MIXED")).toEqual(["srv-MiXeD"]);
    // SQLite's LIKE folds ASCII letters only; so does PostgreSQL's ILIKE under the C locale the server's
    // tests and migrations use. Exact non-ASCII case is found.
    expect(await found("École")).toEqual(["srv-École"]);
    expect(await found("éCOLE")).toEqual([]);
    const summary = await call("fleet.summary", { search: "50%" });
    expect((summary.data as { total: number }).total).toBe(1);
    const bulk = await admin.bulk.create.mutate({ target: { filter: { search: "a_b" } }, type: "restart" });
    expect(bulk.count).toBe(1);
    await admin.bulk.cancel.mutate({ bulkId: bulk.bulkId });
  });
});

describe("long text in indexed columns (PostgreSQL's b-tree row limit is about 2,704 bytes)", () => {
  it("the longest hostname, OS, key name and view name in 3-byte characters are stored, found and listed", async () => {
    const hostname = "€".repeat(255); // 765 bytes: Machine (orgId, retiredAt, hostname, id)
    const os = "€".repeat(255); // Machine (orgId, retiredAt, os, id)
    const token = await enroll(server, org.agentKey, "pgd-long", hostname);
    expect((await call("agent.report", { ...report({}), identity: { os } }, token)).status).toBe(200);
    const byOs = (await call("fleet.list", { os })).data as { machines: { machineId: string; hostname: string }[] };
    expect(byOs.machines.map((m) => [m.machineId, m.hostname])).toEqual([["pgd-long", hostname]]);
    // Action.createdBy (orgId, createdBy, seq) holds "key:<name>".
    const name = "€".repeat(100);
    const key = (await call("keys.create", { name, scopes: ["admin"] })).data as { key: string };
    await server.client(key.key).actions.queue.mutate({ machineId: "pgd-long", type: "restart" });
    const byKey = (await call("actions.list", { createdBy: `key:${name}` })).data as { items: unknown[] };
    expect(byKey.items).toHaveLength(1);
    // SavedView (userId, name) is unique.
    const view = "€".repeat(64);
    expect((await call("views.save", { name: view, query: { os } })).status).toBe(200);
    const views = (await call("views.list", undefined)).data as { items: { name: string }[] };
    expect(views.items.map((v) => v.name)).toContain(view);
  });
});

describe("JSON number extremes in figures", () => {
  it("5e-324, -0 and extras of ±1e308 are stored and read back exactly; a percent of 1e308 is refused", async () => {
    const before = await snapshot();
    refused(await call("agent.report", report({ cpuPercent: 1e308 }), machineToken), "metrics.cpuPercent", "1e308");
    expect(await snapshot()).toEqual(before);
    const text =
      '{"metrics":{"cpuPercent":5e-324,"memoryPercent":-0,"diskPercent":100,"uptimeSeconds":0,' +
      '"extras":{"big":1e308,"small":-1e308,"tiny":5e-324,"zero":-0}}}';
    expect((await call("agent.report", text, machineToken)).status).toBe(200);
    const { machine } = await admin.fleet.machine.query({ machineId: "pgd-m1" });
    expect(machine.metrics).toMatchObject({ cpuPercent: 5e-324, memoryPercent: 0, diskPercent: 100 });
    expect(machine.metrics?.extras).toEqual({ big: 1e308, small: -1e308, tiny: 5e-324, zero: 0 });
  });
});

describe("text cut for the timeline", () => {
  it("an agent's result cut at 200 units inside an emoji is recorded with whole characters (tRPC, REST, reboot)", async () => {
    // An emoji at units 199-200: the cut kept half of it, which neither database stores (a 500 on both).
    const cases = [
      { how: "trpc", type: "message", result: `${"x".repeat(199)}😀tail`, detail: "x".repeat(199) },
      { how: "rest", type: "message", result: `${"y".repeat(199)}😀tail`, detail: "y".repeat(199) },
      // "the agent reported done (" is 25 units: the reboot's held result is cut at the same place.
      {
        how: "trpc",
        type: "reboot",
        result: `${"z".repeat(174)}😀`,
        detail: `the agent reported done (${"z".repeat(174)}`,
      },
    ] as const;
    for (const [i, c] of cases.entries()) {
      const machineId = `pgd-cut${i}`;
      const token = await enroll(server, org.agentKey, machineId);
      const m = server.client(token);
      const data = c.type === "message" ? { message: "hi" } : {};
      const { id } = await admin.actions.queue.mutate({ machineId, type: c.type, data } as never);
      const [a] = (await m.agent.pendingActions.query({})).actions;
      await m.agent.ack.mutate({ actionId: id, claimToken: a!.claimToken });
      const answer =
        c.how === "rest"
          ? await rest(
              "/api/actions/report",
              { action_id: id, claim_token: a!.claimToken, status: "done", result: c.result },
              token,
            )
          : await call(
              "agent.reportResult",
              { actionId: id, claimToken: a!.claimToken, status: "done", result: c.result },
              token,
            );
      expect(answer.status, `${c.how} ${c.type}: ${answer.message}`).toBe(200);
      const view = await admin.actions.get.query({ id });
      expect(view.result).toBe(c.result);
      expect(view.events.map((e) => e.detail)).toContain(c.detail);
    }
  });
});

describe("order of rows with no value (NULL sorts first on one database, last on the other)", () => {
  it("machines.reenrollRequests: requests newest first, then approvals given ahead of any request", async () => {
    // Approved ahead (no request time) before the requests exist, so insertion order cannot decide.
    for (const id of ["pgd-ahead-b", "pgd-ahead-a"]) {
      await enroll(server, org.agentKey, id);
      await admin.machines.approveReenroll.mutate({ machineId: id });
    }
    for (const id of ["pgd-asked-1", "pgd-asked-2"]) {
      await enroll(server, org.agentKey, id);
      const again = await call(
        "agent.enroll",
        { machineId: id, hostname: id, os: "Linux", agentVersion: "1" },
        org.agentKey,
      );
      expect(again.status).toBe(403); // the existing id waits for an admin: a request is recorded
      await new Promise((r) => setTimeout(r, 5)); // distinct request times
    }
    const { items } = await admin.machines.reenrollRequests.query();
    expect(items.map((i) => i.machineId)).toEqual(["pgd-asked-2", "pgd-asked-1", "pgd-ahead-a", "pgd-ahead-b"]);
  });
});

describe("retention periods (configuration)", () => {
  const longest = {
    DASHFLEET_RETAIN_RAW_HOURS: "876000",
    DASHFLEET_RETAIN_5M_DAYS: "36500",
    DASHFLEET_RETAIN_1H_DAYS: "36500",
    DASHFLEET_RETAIN_ACTIONS_DAYS: "36500",
    DASHFLEET_RETAIN_AUDIT_DAYS: "36500",
    DASHFLEET_RETAIN_SESSIONS_DAYS: "36500",
  };

  it("a period past 100 years is refused at start naming the variable; the longest ones run a round on this database", async () => {
    // "999999 days" (meant as forever) put the cut-off before year 1: every round failed on both databases.
    for (const [name, value] of Object.entries(longest))
      expect(() => loadConfig({ [name]: String(Number(value) + 1) }), name).toThrow(new RegExp(`${name}: at most`));
    expect(() => loadConfig({ DASHFLEET_RETAIN_EVERY_SECONDS: String(25 * 86_400) })).toThrow(
      /DASHFLEET_RETAIN_EVERY_SECONDS: at most/,
    );
    const kept = await startTestServer({ env: { ...longest, DASHFLEET_RETAIN_EVERY_SECONDS: "0" } });
    try {
      const o = await kept.createOrg("Kept");
      const token = await enroll(kept, o.agentKey, "pgd-kept");
      await kept.client(token).agent.report.mutate(report({}));
      const round = await kept.retention.runOnce();
      expect(round.pruned).toMatchObject({ raw: 0, fiveMinute: 0, hourly: 0, actions: 0, sessions: 0, audit: 0 });
    } finally {
      await kept.stop();
    }
  });
});

describe("every number, time and text of every input, at the boundaries", () => {
  /** Integers at and past int4 and double extremes: each must be a 4xx or a correct 2xx, never a 500. */
  const NUMBERS = [0, 1.5, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 53 - 1, 1e308, -1e308, 5e-324];
  const TIMES = [
    "0000-01-01T00:00:00Z",
    "0000-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59.999Z",
    "2038-01-19T03:14:08Z",
    "9999-12-31T23:59:59.999Z",
    "9999-12-31T23:59:59-14:00",
  ];
  /** LIKE's wildcards and escape, and the longest names in 3- and 4-byte characters (indexed columns). */
  const TEXTS = ["%", "_", "\\", "É", "€".repeat(255), "😀".repeat(127)];
  const ISO = /^\d{4}-\d\d-\d\dT/;

  /** Every path to a number, an ISO time or other text inside `v`. */
  function leaves(v: unknown, at: (string | number)[] = []): { path: (string | number)[]; values: unknown[] }[] {
    if (typeof v === "number") return [{ path: at, values: NUMBERS }];
    if (typeof v === "string") return [{ path: at, values: ISO.test(v) ? TIMES : TEXTS }];
    if (!v || typeof v !== "object") return [];
    return Object.entries(v).flatMap(([k, child]) => leaves(child, [...at, Array.isArray(v) ? Number(k) : k]));
  }
  function replaced(v: unknown, path: (string | number)[], value: unknown): unknown {
    if (path.length === 0) return value;
    const copy = (Array.isArray(v) ? [...(v as unknown[])] : { ...(v as object) }) as Record<string | number, unknown>;
    copy[path[0]!] = replaced(copy[path[0]!], path.slice(1), value);
    return copy;
  }

  it("no procedure or REST path answers 500 to a boundary number, time or text in any field", async () => {
    const token = await enroll(server, org.agentKey, "pgd-sweep");
    const sweep = server.client(token);
    const { id } = await admin.actions.queue.mutate({ machineId: "pgd-sweep", type: "reboot", data: {} });
    const [a] = (await sweep.agent.pendingActions.query({})).actions;
    await sweep.agent.ack.mutate({ actionId: id, claimToken: a!.claimToken });
    const now = new Date().toISOString();
    const policy = {
      countdownSeconds: 60,
      maxSnoozes: 2,
      snoozeOptions: [600, 3600],
      deadlineSeconds: 7200,
      finalCountdownSeconds: 60,
    };
    const seeds: [string, Record<string, unknown>, string | undefined][] = [
      ["agent.report", { ...report({ extras: { n: 1 } }) }, token],
      [
        "agent.progress",
        {
          actionId: id,
          claimToken: a!.claimToken,
          seq: 1,
          event: { kind: "shown", at: now, deadlineAt: now, snoozesLeft: 1 },
        },
        token,
      ],
      [
        "agent.progress",
        {
          actionId: id,
          claimToken: a!.claimToken,
          seq: 2,
          event: { kind: "snoozed", at: now, until: now, n: 1, max: 2 },
        },
        token,
      ],
      [
        "agent.reportResult",
        { actionId: id, claimToken: "stale", status: "done", result: "r", outcome: { postponements: 1 } },
        token,
      ],
      ["actions.queue", { machineId: "pgd-idle", type: "reboot", data: policy, expiresInSeconds: 600 }, undefined],
      ["actions.queue", { machineId: "pgd-idle", type: "reboot", data: { deadlineAt: now } }, undefined],
      [
        "actions.queue",
        {
          machineId: "pgd-idle",
          type: "message",
          data: { message: "m", requireAcknowledgement: true, expiresAt: now },
        },
        undefined,
      ],
      ["actions.queueBulk", { machineIds: ["pgd-idle"], type: "restart", expiresInSeconds: 600 }, undefined],
      ["bulk.create", { target: { machineIds: ["pgd-idle"] }, type: "restart", expiresInSeconds: 600 }, undefined],
      ["actions.list", { from: now, to: now, limit: 10 }, undefined],
      ["orgs.audit", { from: now, to: now, limit: 10, cursor: 1 }, undefined],
      ["bulk.get", { bulkId, limit: 10 }, undefined],
      ["bulk.list", { limit: 10 }, undefined],
      ["fleet.list", { limit: 10 }, undefined],
      ["machines.enrollToken", { machineId: "pgd-idle", expiresInSeconds: 600 }, undefined],
      ["views.save", { name: "sweep", query: { limit: 10 } }, undefined],
      ["settings.update", { rebootPolicy: policy }, undefined],
    ];
    await enroll(server, org.agentKey, "pgd-idle"); // never polls: its queued actions just wait
    const fiveHundreds: string[] = [];
    let sent = 0;
    for (const [path, seed, bearer] of seeds)
      for (const leaf of leaves(seed))
        for (const value of leaf.values) {
          const input = replaced(seed, leaf.path, value);
          const answer = await call(path, input, bearer);
          sent += 1;
          if (answer.status >= 500)
            fiveHundreds.push(
              `${path} ${leaf.path.join(".")}=${JSON.stringify(value).slice(0, 40)}: ${answer.message}`,
            );
        }
    const restSeeds: [string, Record<string, unknown>, string][] = [
      [
        "/api/actions/queue",
        { machine_id: "pgd-idle", action_type: "reboot", data: policy, expires_in_seconds: 600 },
        org.adminKey,
      ],
      ["/api/actions/report", { action_id: id, claim_token: "stale", status: "done", result: "r" }, token],
    ];
    for (const [path, seed, bearer] of restSeeds)
      for (const leaf of leaves(seed))
        for (const value of leaf.values) {
          const answer = await rest(path, replaced(seed, leaf.path, value), bearer);
          sent += 1;
          if (answer.status >= 500)
            fiveHundreds.push(
              `${path} ${leaf.path.join(".")}=${JSON.stringify(value).slice(0, 40)}: ${answer.message}`,
            );
        }
    expect(fiveHundreds).toEqual([]);
    expect(sent).toBeGreaterThan(500);
    await call("settings.update", { rebootPolicy: null });
  }, 180_000);
});

describe("REST: the same bounds", () => {
  it("/api/actions/queue refuses an expiry past int4 seconds naming expires_in_seconds, storing nothing", async () => {
    const before = await snapshot();
    const body = { machine_id: "pgd-m1", action_type: "restart", expires_in_seconds: 2 ** 31 };
    refused(await rest("/api/actions/queue", body, org.adminKey), "expires_in_seconds", "REST expiry");
    expect(await snapshot()).toEqual(before);
  });
});

// Finding 10 (hostile review): a REST `action_type` of `toString`, `__proto__` or `constructor` answered
// 500, because a look-up by a user-given name found Object.prototype's members. Every string that
// selects something (action types, statuses, sort keys, roles, scopes, labels, key names, machine ids,
// extras keys, REST fields and query parameters) is fuzzed here with prototype-named strings, in every
// procedure's input (found by walking its zod schema) and in real flows where such names are valid
// (a machine called `constructor` enrolls, reports, is queued to, polls and answers). Never a 500,
// Object.prototype untouched, and a machine named like a prototype member sees only its own work.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "../../server/routers/_app.ts";
import { startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";
import { signIn } from "../helpers/session.ts";

/** Names that an object look-up (`map[name]`) finds on Object.prototype. */
const PROTO_NAMES = [
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "prototype",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
  "__defineGetter__",
  "__lookupSetter__",
];

/** The schema walk sends each of these to every place (the REST property draws from all of them). */
const WALK_NAMES = PROTO_NAMES.slice(0, 5);

type Procedure = { _def: { type: "query" | "mutation" | "subscription"; inputs?: unknown[] } };
const procedures = appRouter._def.procedures as unknown as Record<string, Procedure>;

let server: TestServer;
let org: TestOrg;
let ownerCookie = "";
const tokens = new Map<string, string>();
const bad: string[] = [];
const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort();

type Path = (string | number)[];
/** A place in an input where a name goes: as a value, or as an object key (records: extras, data). */
type Leaf = { path: Path; kind: "value" | "key" };

/** Every string-like place of a zod (v4) input schema: strings, enums, literals, unknowns, record keys. */
function leavesOf(schema: unknown, path: Path = [], depth = 0, out = new Map<string, Leaf>()): Map<string, Leaf> {
  const def = (schema as { _zod?: { def?: Record<string, unknown> & { type: string } } } | undefined)?._zod?.def;
  if (!def || depth > 10) return out;
  const add = (kind: Leaf["kind"]) => out.set(`${kind}:${JSON.stringify(path)}`, { path, kind });
  switch (def.type) {
    case "string":
    case "enum":
    case "literal":
    case "template_literal":
    case "unknown":
    case "any":
      add("value");
      break;
    case "object":
      for (const [k, v] of Object.entries(def.shape as Record<string, unknown>))
        leavesOf(v, [...path, k], depth + 1, out);
      add("key"); // strict objects must refuse unknown own keys named like prototype members
      break;
    case "array":
      leavesOf(def.element, [...path, 0], depth + 1, out);
      break;
    case "record":
      add("key");
      break;
    case "union":
      for (const o of def.options as unknown[]) leavesOf(o, path, depth + 1, out);
      break;
    case "intersection":
      leavesOf(def.left, path, depth + 1, out);
      leavesOf(def.right, path, depth + 1, out);
      break;
    case "pipe":
      leavesOf(def.in, path, depth + 1, out);
      break;
    case "lazy":
      leavesOf((def.getter as () => unknown)(), path, depth + 1, out);
      break;
    default:
      if ("innerType" in def) leavesOf(def.innerType, path, depth + 1, out); // optional, nullable, default…
  }
  return out;
}

/** A copy of `v` with `value` at `path`, creating objects and arrays on the way. */
function setAt(v: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const copy = (
    Array.isArray(v)
      ? [...(v as unknown[])]
      : v && typeof v === "object"
        ? { ...v }
        : typeof head === "number"
          ? []
          : {}
  ) as Record<string | number, unknown>;
  copy[head!] = setAt(copy[head!], rest, value);
  return copy;
}

const KEY_MARK = "\u0001KEY\u0001";
/** JSON text of `v` with an own key `name` added at `path` (JSON.stringify cannot write `__proto__`). */
function withOwnKey(v: unknown, path: Path, name: string): string {
  let target: unknown = v;
  for (const p of path) target = (target as Record<string | number, unknown> | undefined)?.[p];
  const base = target && typeof target === "object" && !Array.isArray(target) ? target : {};
  const text = JSON.stringify(setAt(v, path, { [KEY_MARK]: "x", ...base }));
  return text.replace(JSON.stringify(KEY_MARK), JSON.stringify(name));
}

/** Valid inputs, so that a name placed in them reaches the services behind the schema. */
function seeds(): Record<string, unknown> {
  return {
    "auth.login": { email: "fuzz@example.test", password: "not the password" },
    "orgs.rename": { name: "Selector Org" },
    "orgs.users.create": { email: "sel@example.test", password: "selector password 1", role: "viewer" },
    "orgs.users.setRole": { userId: "nobody", role: "viewer" },
    "orgs.users.remove": { userId: "nobody" },
    "keys.create": { name: "selector", scopes: ["agent"] },
    "keys.revoke": { id: "nokey" },
    "fleet.list": {
      search: "m",
      online: true,
      health: "good",
      os: "Linux",
      labels: ["web"],
      sort: "health",
      dir: "asc",
      limit: 5,
    },
    "fleet.summary": {},
    "fleet.machine": { machineId: "constructor" },
    "machines.update": { machineId: "constructor", displayName: "Front desk", labels: ["web"] },
    "machines.retire": { machineId: "nobody-here" },
    "machines.approveReenroll": { machineId: "nobody-here" },
    "machines.dismissReenroll": { machineId: "nobody-here" },
    "machines.enrollToken": { machineId: "nobody-here" },
    "actions.queue": { machineId: "constructor", type: "message", data: { message: "hi", title: "t" } },
    "actions.queueBulk": { machineIds: ["constructor", "toString"], type: "restart", data: {} },
    "actions.cancel": { id: "00000000-0000-4000-8000-000000000000" },
    "actions.list": { machineId: "constructor", status: ["done"], type: "message", limit: 10 },
    "actions.get": { id: "00000000-0000-4000-8000-000000000000" },
    "agent.enroll": { machineId: "selector-new", hostname: "h", os: "o", agentVersion: "1" },
    "agent.report": {
      metrics: { cpuPercent: 1, memoryPercent: 2, diskPercent: 3, uptimeSeconds: 4, extras: { a: 1 } },
    },
    "agent.pendingActions": {},
    "agent.ack": { actionId: "00000000-0000-4000-8000-000000000000", claimToken: "wrong" },
    "agent.progress": { actionId: "00000000-0000-4000-8000-000000000000", claimToken: "wrong" },
    "agent.reportResult": {
      actionId: "00000000-0000-4000-8000-000000000000",
      claimToken: "wrong",
      status: "done",
      result: "r",
    },
  };
}

function credFor(path: string): Record<string, string> {
  if (path.startsWith("auth.")) return {};
  if (path === "agent.enroll") return { authorization: `Bearer ${org.agentKey}` };
  if (path.startsWith("agent.")) return { authorization: `Bearer ${tokens.get("constructor")}` };
  return { cookie: ownerCookie };
}

/** Sends one tRPC call with the input as JSON text; records any 5xx or internal error. */
async function call(path: string, text: string): Promise<number> {
  const type = procedures[path]!._def.type;
  const headers = { "content-type": "application/json", ...credFor(path) };
  const res =
    type === "mutation"
      ? await fetch(`${server.url}/trpc/${path}`, { method: "POST", headers, body: text })
      : await fetch(`${server.url}/trpc/${path}?input=${encodeURIComponent(text)}`, { headers });
  const body = await res.text();
  if (res.status >= 500 || body.includes("Internal server error"))
    bad.push(`${path} ${text.slice(0, 160)} → ${res.status} ${body.slice(0, 160)}`);
  return res.status;
}

async function rest(
  method: "GET" | "POST",
  url: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${server.url}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 500)
    bad.push(
      `${method} ${url} ${String(typeof body === "string" ? body : JSON.stringify(body)).slice(0, 160)} → ${res.status} ${text.slice(0, 160)}`,
    );
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

beforeAll(async () => {
  server = await startTestServer({
    sweep: false,
    env: {
      DASHFLEET_LOGIN_PER_MINUTE: "100000",
      DASHFLEET_AGENT_PER_MINUTE: "100000",
      DASHFLEET_QUEUE_PER_MINUTE: "100000",
      DASHFLEET_ENROLL_PER_MINUTE: "100000",
    },
  });
  org = await server.createOrg("Selector Org");
  ownerCookie = (await signIn(server, org.ownerEmail, org.password)).cookie;
  // Machines named like prototype members: valid machine ids, so they must work like any other.
  for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"]) {
    const r = await server
      .client(org.agentKey)
      .agent.enroll.mutate({ machineId: name, hostname: name, os: name, agentVersion: "1" });
    tokens.set(name, r.machineToken);
  }
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

// The flows run first: the schema walk below retires and re-targets machines by these very names.
describe("prototype-named strings in every selector", () => {
  it("a machine named like a prototype member enrolls, reports, is queued to, polls and answers like any other", async () => {
    const admin = server.client(org.adminKey);
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"]) {
      const agent = server.client(tokens.get(name));
      await agent.agent.report.mutate({
        metrics: {
          cpuPercent: 5,
          memoryPercent: 6,
          diskPercent: 7,
          uptimeSeconds: 8,
          extras: { [name === "__proto__" ? "proto" : name]: 1 },
        },
      });
      const { id } = await admin.actions.queue.mutate({
        machineId: name,
        type: "message",
        data: { message: `for ${name}` },
      });
      const [delivered, ...more] = (await agent.agent.pendingActions.query({})).actions;
      expect(more).toEqual([]);
      expect(delivered?.id).toBe(id);
      expect((delivered?.data as { message?: string }).message).toBe(`for ${name}`);
      await agent.agent.ack.mutate({ actionId: id, claimToken: delivered!.claimToken });
      await agent.agent.reportResult.mutate({
        actionId: id,
        claimToken: delivered!.claimToken,
        status: "done",
        result: "ok",
      });
      expect((await admin.actions.get.query({ id })).status).toBe("done");
      // REST with the machine's own token: queue and poll by that name.
      const queued = await rest("POST", "/api/actions/queue", org.adminKey, {
        machine_id: name,
        action_type: "message",
        data: { message: "rest" },
      });
      expect(queued.status).toBe(201);
      const pending = await rest("GET", "/api/actions/pending", tokens.get(name)!);
      expect(pending.status).toBe(200);
      expect((pending.json as { actions: { action_id: string }[] }).actions.map((a) => a.action_id)).toEqual([
        (queued.json as { action_id: string }).action_id,
      ]);
    }
    // The admin's views find each by its name, and nothing else under it.
    const owner = server.cookieClient(ownerCookie);
    for (const name of ["constructor", "toString", "__proto__"]) {
      const m = await call("fleet.machine", JSON.stringify({ machineId: name }));
      expect(m).toBe(200);
      const listed = await owner.actions.list.query({ machineId: name });
      expect(listed.items.length).toBeGreaterThan(0);
      expect(listed.items.every((a) => a.machineId === name)).toBe(true);
    }
    // Labels and key names that read like prototype members are just names.
    expect(
      await call(
        "machines.update",
        JSON.stringify({ machineId: "constructor", labels: ["constructor", "tostring", "valueof"] }),
      ),
    ).toBe(200);
    expect(await call("fleet.list", JSON.stringify({ labels: ["constructor"] }))).toBe(200);
    const key = await admin.keys.create.mutate({ name: "constructor", scopes: ["agent"] });
    expect(key.name).toBe("constructor");
    expect(bad).toEqual([]);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoBefore);
  }, 120_000);
  it("every procedure: a prototype name in any string, enum or key of its input is never a 500", async () => {
    const seedMap = seeds();
    let sent = 0;
    for (const path of Object.keys(procedures).sort()) {
      const proc = procedures[path]!;
      if (proc._def.type === "subscription") continue;
      const base = seedMap[path] ?? {};
      const leaves = new Map<string, Leaf>();
      for (const schema of proc._def.inputs ?? []) leavesOf(schema, [], 0, leaves);
      for (const leaf of leaves.values()) {
        for (const name of WALK_NAMES) {
          sent += 1;
          await call(
            path,
            leaf.kind === "value" ? JSON.stringify(setAt(base, leaf.path, name)) : withOwnKey(base, leaf.path, name),
          );
        }
      }
    }
    expect(sent).toBeGreaterThan(500);
    expect(bad).toEqual([]);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoBefore);
  }, 300_000);

  it("REST: prototype names as action_type, status, machine_id, data keys and query parameters are never a 500", async () => {
    const names = fc.constantFrom(...PROTO_NAMES);
    const variants = fc.oneof(
      names,
      names.map((n) => n.toUpperCase()),
      names.map((n) => `${n}.polluted`),
      names.map((n) => ` ${n} `),
    );
    await fc.assert(
      fc.asyncProperty(variants, variants, async (a, b) => {
        const queue = [
          { machine_id: "constructor", action_type: a, data: { message: "hi" } },
          { machine_id: a, action_type: "message", data: { message: b } },
          { machine_id: "toString", action_type: "reboot", data: { [a]: b } },
          withOwnKey({ machine_id: "valueOf", action_type: "message", data: { message: "m" } }, ["data"], a),
          withOwnKey({ machine_id: "valueOf", action_type: "message", data: { message: "m" } }, [], a),
        ];
        for (const body of queue) await rest("POST", "/api/actions/queue", org.adminKey, body);
        await rest(
          "GET",
          `/api/actions/pending?machine_id=${encodeURIComponent(a)}&${encodeURIComponent(b)}=1`,
          tokens.get("hasOwnProperty")!,
        );
        await rest("POST", "/api/actions/report", tokens.get("hasOwnProperty")!, {
          action_id: "00000000-0000-4000-8000-000000000000",
          claim_token: a,
          status: b,
          result: "r",
        });
        return true;
      }),
      { numRuns: 60 },
    );
    expect(bad).toEqual([]);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoBefore);
  }, 300_000);
});

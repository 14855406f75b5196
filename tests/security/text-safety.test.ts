// Finding 14 (hostile review): hostnames, OS strings, display names, labels and key names accepted
// control characters, bidirectional overrides and zero-width-only text. Every such field is now
// refused with BAD_REQUEST naming the field, over tRPC and over the REST shim; ordinary non-ASCII
// names still pass.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DisplayName, Label, MachineIdentity, safeText, ViewName } from "../../server/contract/index.ts";
import { failure, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";
import { signIn, type Session } from "../helpers/session.ts";

let server: TestServer;
let org: TestOrg;
let owner: Session;

/** Each kind of hostile text, with the reason the server must give. */
const HOSTILE: { text: string; reason: RegExp }[] = [
  { text: "web-01\u202Eexe.txt", reason: /bidirectional/ },
  { text: "\u2066admin\u2069", reason: /bidirectional/ },
  { text: "db\u0007bell", reason: /control characters/ },
  { text: "two\nlines", reason: /control characters/ },
  { text: "esc\u001b[31mred", reason: /control characters/ },
  { text: "c1\u0085next", reason: /control characters/ },
  { text: "\u200B\u200B\u200B", reason: /visible characters/ },
  { text: "\u200D\u2060\u034F", reason: /visible characters/ },
];

beforeAll(async () => {
  server = await startTestServer({ sweep: false });
  org = await server.createOrg("Text Org");
  owner = await signIn(server, org.ownerEmail, org.password);
}, 180_000);

afterAll(async () => {
  await server?.stop();
});

const identity = { machineId: "text-1", hostname: "text-host", os: "Linux test", agentVersion: "1.0.0" };

describe("names refuse control characters, bidi overrides and invisible-only text (tRPC)", () => {
  it.each(HOSTILE)("agent.enroll hostname and os: %j", async ({ text, reason }) => {
    const agent = server.client(org.agentKey);
    for (const field of ["hostname", "os", "agentVersion"] as const) {
      const err = await failure(agent.agent.enroll.mutate({ ...identity, [field]: text }));
      expect(err.data?.code).toBe("BAD_REQUEST");
      expect(err.message).toMatch(new RegExp(`^${field}: `));
      expect(err.message).toMatch(reason);
    }
  });

  it.each(HOSTILE)("keys.create name and orgs.rename name: %j", async ({ text, reason }) => {
    const admin = server.client(org.adminKey);
    const key = await failure(admin.keys.create.mutate({ name: text, scopes: ["agent"] }));
    expect(key.data?.code).toBe("BAD_REQUEST");
    expect(key.message).toMatch(/^name: /);
    expect(key.message).toMatch(reason);
    const rename = await failure(owner.client.orgs.rename.mutate({ name: text }));
    expect(rename.data?.code).toBe("BAD_REQUEST");
    expect(rename.message).toMatch(/^name: /);
    expect(rename.message).toMatch(reason);
  });

  it("a report whose identity carries an override is refused, the machine keeps its name", async () => {
    const { machineToken } = await server
      .client(org.agentKey)
      .agent.enroll.mutate({ ...identity, machineId: "text-2" });
    const err = await failure(
      server.client(machineToken).agent.report.mutate({
        metrics: { cpuPercent: 1, memoryPercent: 2, diskPercent: 3, uptimeSeconds: 4 },
        identity: { hostname: "evil\u202Egnp.exe", os: identity.os, agentVersion: identity.agentVersion },
      }),
    );
    expect(err.data?.code).toBe("BAD_REQUEST");
    expect(err.message).toMatch(/identity\.hostname: .*bidirectional/);
    const m = await server.deps.db.machine.findFirst({
      where: { orgId: org.orgId, machineId: "text-2" },
      select: { hostname: true },
    });
    expect(m?.hostname).toBe("text-host");
  });

  it("ordinary names in any script still pass", async () => {
    const r = await server.client(org.agentKey).agent.enroll.mutate({
      ...identity,
      machineId: "text-3",
      hostname: "Büro-PC 東京 مكتب",
      os: "Windows 11 Pro (français)",
    });
    expect(r.machineToken).toBeTruthy();
    const key = await server
      .client(org.adminKey)
      .keys.create.mutate({ name: "Clé d’agent – Zürich", scopes: ["agent"] });
    expect(key.name).toBe("Clé d’agent – Zürich");
  });
});

describe("the shared contract refuses the same text in every name field", () => {
  it.each(HOSTILE)("display name, view name, label, identity: %j", ({ text, reason }) => {
    for (const schema of [DisplayName, ViewName, Label, safeText(100)]) {
      const r = schema.safeParse(text);
      expect(r.success).toBe(false);
    }
    const d = DisplayName.safeParse(text);
    expect(d.error?.issues[0]?.message).toMatch(reason);
    const id = MachineIdentity.safeParse({ ...identity, hostname: text });
    expect(id.error?.issues.map((i) => i.path.join("."))).toEqual(["hostname"]);
  });

  it("a display name may still be cleared with an empty string", () => {
    expect(DisplayName.parse("   ")).toBe("");
  });
});

describe("the REST shim refuses the same text", () => {
  it.each(HOSTILE)("POST /api/actions/queue message title: %j", async ({ text, reason }) => {
    await server
      .client(org.agentKey)
      .agent.enroll.mutate({ ...identity, machineId: "text-rest" })
      .catch(() => undefined);
    const res = await fetch(`${server.url}/api/actions/queue`, {
      method: "POST",
      headers: { authorization: `Bearer ${org.adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        machine_id: "text-rest",
        action_type: "message",
        data: { message: "hello", title: text },
      }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string };
    expect(body.error).toMatch(/title: /);
    expect(body.error).toMatch(reason);
    expect(await server.deps.db.action.count({ where: { orgId: org.orgId } })).toBe(0);
  });
});

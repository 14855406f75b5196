// The original design's REST endpoints keep their JSON shapes, so existing scripts and curl work.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enableLegacyAgents, enroll, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let org: TestOrg;

async function call(method: string, path: string, token: string | null, body?: unknown, raw?: string) {
  const res = await fetch(server.url + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

beforeAll(async () => {
  server = await startTestServer();
  org = await server.createOrg();
  // The agent key + machine_id protocol is the organization's legacy mode (the demo org has it on).
  await enableLegacyAgents(server, org.orgId);
  await enroll(server, org.agentKey, "test-pc");
});
afterAll(() => server.stop());

describe("REST endpoints of the original design", () => {
  it("runs the README curl flow: queue (201 {ok, action_id}) → pending ({actions:[{action_id,type,data}]}) → report ({ok})", async () => {
    const q = await call("POST", "/api/actions/queue", org.adminKey, {
      machine_id: "test-pc",
      action_type: "message",
      data: { message: "Hello from DashFleet!", title: "Test" },
    });
    expect(q.status).toBe(201);
    expect(q.body.ok).toBe(true);
    const actionId = q.body.action_id as string;
    expect(actionId).toMatch(/^[0-9a-f-]{36}$/);

    const p = await call("GET", "/api/actions/pending?machine_id=test-pc", org.agentKey);
    expect(p.status).toBe(200);
    const actions = p.body.actions as { action_id: string; type: string; data: unknown; claim_token: string }[];
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ action_id: actionId, type: "message", data: { message: "Hello from DashFleet!", title: "Test", display: "notification" } });

    const claim = actions[0]!.claim_token;
    const r = await call("POST", "/api/actions/report", org.agentKey, { action_id: actionId, claim_token: claim, status: "done", result: "Notification sent (notify-send)" });
    expect(r.status).toBe(200);
    expect(r.body.ok).toBe(true);

    const view = await server.client(org.adminKey).actions.get.query({ id: actionId });
    expect(view.status).toBe("done");
    expect(view.result).toBe("Notification sent (notify-send)");
    // The same report again changes nothing.
    const again = await call("POST", "/api/actions/report", org.agentKey, { action_id: actionId, claim_token: claim, status: "error", result: "late" });
    expect(again.body).toMatchObject({ ok: true, duplicate: true });
    expect((await server.client(org.adminKey).actions.get.query({ id: actionId })).result).toBe("Notification sent (notify-send)");
  });

  it("answers bad requests with 400 and an {error} naming the problem", async () => {
    const cases: [unknown, RegExp][] = [
      [{ action_type: "message" }, /machine_id/],
      [{ machine_id: "test-pc" }, /action_type/],
      [{ machine_id: "test-pc", action_type: "format-disk" }, /action_type: must be one of message, restart, reboot/],
      [{ machine_id: "test-pc", action_type: "message", data: {} }, /data\.message/],
      [{ machine_id: "test-pc", action_type: "reboot", data: { countdownSeconds: "soon" } }, /data\.countdownSeconds/],
    ];
    for (const [body, msg] of cases) {
      const r = await call("POST", "/api/actions/queue", org.adminKey, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(String(r.body.error)).toMatch(msg);
    }
    const invalid = await call("POST", "/api/actions/queue", org.adminKey, undefined, "{not json");
    expect(invalid).toMatchObject({ status: 400, body: { error: "Invalid JSON" } });
    const missing = await call("GET", "/api/actions/pending", org.agentKey);
    expect(missing).toMatchObject({ status: 400, body: { error: "machine_id: required with an agent key" } });
    const badStatus = await call("POST", "/api/actions/report", org.agentKey, { action_id: "00000000-0000-4000-8000-000000000000", claim_token: "x", status: "maybe" });
    expect(badStatus.status).toBe(400);
    expect(String(badStatus.body.error)).toMatch(/^status/);
  });

  it("refuses missing credentials (401) and the wrong scope (403): an agent key cannot queue", async () => {
    expect((await call("POST", "/api/actions/queue", null, { machine_id: "test-pc", action_type: "reboot" })).status).toBe(401);
    expect((await call("POST", "/api/actions/queue", "dfk_not-a-real-key-at-all", { machine_id: "test-pc", action_type: "reboot" })).status).toBe(401);
    const agentQueue = await call("POST", "/api/actions/queue", org.agentKey, { machine_id: "test-pc", action_type: "reboot" });
    expect(agentQueue.status).toBe(403);
    expect((await call("GET", "/api/actions/pending?machine_id=test-pc", org.adminKey)).status).toBe(403);
  });

  it("keeps organizations apart: another org's key sees nothing of this org's machines", async () => {
    const other = await server.createOrg();
    await enableLegacyAgents(server, other.orgId);
    const q = await call("POST", "/api/actions/queue", org.adminKey, { machine_id: "test-pc", action_type: "restart" });
    expect(q.status).toBe(201);
    expect((await call("POST", "/api/actions/queue", other.adminKey, { machine_id: "test-pc", action_type: "reboot" })).status).toBe(404);
    expect((await call("GET", "/api/actions/pending?machine_id=test-pc", other.agentKey)).status).toBe(404);
    const report = await call("POST", "/api/actions/report", other.agentKey, { action_id: q.body.action_id, claim_token: "x", status: "done", result: "hijack" });
    expect(report.status).toBe(404);
    expect((await server.client(org.adminKey).actions.get.query({ id: q.body.action_id as string })).status).toBe("pending");
  });

  it("lets a machine token poll only its own machine", async () => {
    const tokenA = await enroll(server, org.agentKey, "rest-a");
    await enroll(server, org.agentKey, "rest-b");
    await call("POST", "/api/actions/queue", org.adminKey, { machine_id: "rest-b", action_type: "message", data: { message: "for b" } });
    expect((await call("GET", "/api/actions/pending?machine_id=rest-b", tokenA)).status).toBe(403);
    expect((await call("GET", "/api/actions/pending", tokenA)).body).toEqual({ actions: [] });
  });

  it("caps the body size", async () => {
    const huge = JSON.stringify({ machine_id: "test-pc", action_type: "message", data: { message: "x".repeat(400 * 1024) } });
    const r = await call("POST", "/api/actions/queue", org.adminKey, undefined, huge);
    expect(r.status).toBe(413);
  });
});

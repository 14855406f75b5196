// keys.*: listing without secrets, creating within the creator's rights, revoking with immediate effect,
// and isolation between organizations.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorCode, failure, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";
import { startWithRoles } from "../helpers/session.ts";

let server: TestServer;
let org: TestOrg;
let other: TestOrg;
let owner: TRPCClient;
let admin: TRPCClient;
let viewer: TRPCClient;

beforeAll(async () => {
  ({ server, org, other, owner, admin, viewer } = await startWithRoles("Keys Org", "keys.test"));
});
afterAll(() => server.stop());

describe("keys.create scope rules", () => {
  it("owners may create admin, agent and mixed keys; the key works with its scope", async () => {
    const k = await owner.keys.create.mutate({ name: "ci", scopes: ["admin"] });
    expect(k).toMatchObject({ name: "ci", scopes: ["admin"] });
    expect(k.key).toMatch(/^dfk_/);
    expect((await server.client(k.key).orgs.current.query()).id).toBe(org.orgId);
    const both = await owner.keys.create.mutate({ name: "both", scopes: ["agent", "admin"] });
    expect(both.scopes).toEqual(["admin", "agent"]);
  });

  it("admin users may create agent keys only", async () => {
    const k = await admin.keys.create.mutate({ name: "agents", scopes: ["agent"] });
    expect(k.scopes).toEqual(["agent"]);
    expect(await errorCode(admin.keys.create.mutate({ name: "escalate", scopes: ["admin"] }))).toBe("FORBIDDEN");
    expect(await errorCode(admin.keys.create.mutate({ name: "escalate", scopes: ["agent", "admin"] }))).toBe(
      "FORBIDDEN",
    );
  });

  it("admin keys may create agent keys only", async () => {
    const c = server.client(org.adminKey);
    expect((await c.keys.create.mutate({ name: "from-key", scopes: ["agent"] })).scopes).toEqual(["agent"]);
    expect(await errorCode(c.keys.create.mutate({ name: "escalate", scopes: ["admin"] }))).toBe("FORBIDDEN");
  });

  it("viewers and agent keys may create none", async () => {
    expect(await errorCode(viewer.keys.create.mutate({ name: "v", scopes: ["agent"] }))).toBe("FORBIDDEN");
    expect(await errorCode(server.client(org.agentKey).keys.create.mutate({ name: "a", scopes: ["agent"] }))).toBe(
      "FORBIDDEN",
    );
    expect(await errorCode(server.client().keys.create.mutate({ name: "anon", scopes: ["agent"] }))).toBe(
      "UNAUTHORIZED",
    );
    const names = (await owner.keys.list.query()).keys.map((k) => k.name);
    expect(names).not.toContain("v");
    expect(names).not.toContain("escalate");
  });

  it("names the bad field", async () => {
    const empty = await failure(owner.keys.create.mutate({ name: "x", scopes: [] }));
    expect(empty.data?.code).toBe("BAD_REQUEST");
    expect(empty.message).toMatch(/^scopes:/);
    const bad = await failure(owner.keys.create.mutate({ name: "x", scopes: ["root" as "admin"] }));
    expect(bad.message).toMatch(/^scopes\.0:/);
    const noName = await failure(owner.keys.create.mutate({ name: "  ", scopes: ["agent"] }));
    expect(noName.message).toMatch(/^name:/);
  });
});

describe("keys.list", () => {
  it("lists the org's keys with prefix and scopes, never a secret or hash; viewers may read", async () => {
    const created = await owner.keys.create.mutate({ name: "listed", scopes: ["agent"] });
    const { keys } = await viewer.keys.list.query();
    const row = keys.find((k) => k.id === created.id);
    expect(row).toMatchObject({
      name: "listed",
      scopes: ["agent"],
      prefix: created.key.slice(0, 10),
      revokedAt: null,
      createdBy: `user:${org.ownerEmail}`,
    });
    expect(row?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const text = JSON.stringify(keys);
    expect(text).not.toContain(created.key);
    expect(text).not.toContain("keyHash");
    expect(Object.keys(row!).sort()).toEqual([
      "createdAt",
      "createdBy",
      "id",
      "lastUsedAt",
      "name",
      "prefix",
      "revokedAt",
      "scopes",
    ]);
  });

  it("never shows another org's keys", async () => {
    const theirs = await server.client(other.adminKey).keys.list.query();
    const mine = await owner.keys.list.query();
    const mineIds = new Set(mine.keys.map((k) => k.id));
    expect(theirs.keys.length).toBeGreaterThan(0);
    expect(theirs.keys.some((k) => mineIds.has(k.id))).toBe(false);
  });
});

describe("keys.revoke", () => {
  it("a revoked key is refused (UNAUTHORIZED) right after, though it was just used; audited", async () => {
    const k = await owner.keys.create.mutate({ name: "to-revoke", scopes: ["admin"] });
    const c = server.client(k.key);
    expect((await c.fleet.list.query()).machines).toEqual([]);
    const r = await owner.keys.revoke.mutate({ id: k.id });
    expect(r.id).toBe(k.id);
    expect(r.revokedAt).not.toBeNull();
    expect(await errorCode(c.fleet.list.query())).toBe("UNAUTHORIZED");
    const audit = await owner.orgs.audit.query({ limit: 5 });
    expect(audit.items.find((a) => a.action === "keys.revoke" && a.target === k.id)).toMatchObject({
      actor: `user:${org.ownerEmail}`,
    });
  });

  it("revoking twice is harmless", async () => {
    const k = await owner.keys.create.mutate({ name: "twice", scopes: ["agent"] });
    const first = await owner.keys.revoke.mutate({ id: k.id });
    const second = await owner.keys.revoke.mutate({ id: k.id });
    expect(second.revokedAt).toBe(first.revokedAt);
  });

  it("admins may revoke agent keys but not admin keys; viewers none", async () => {
    const agentKey = await owner.keys.create.mutate({ name: "agent-k", scopes: ["agent"] });
    const adminKey = await owner.keys.create.mutate({ name: "admin-k", scopes: ["admin"] });
    expect(await errorCode(viewer.keys.revoke.mutate({ id: agentKey.id }))).toBe("FORBIDDEN");
    expect(await errorCode(admin.keys.revoke.mutate({ id: adminKey.id }))).toBe("FORBIDDEN");
    expect((await admin.keys.revoke.mutate({ id: agentKey.id })).revokedAt).not.toBeNull();
    expect((await server.client(adminKey.key).orgs.current.query()).id).toBe(org.orgId);
  });

  it("another org's key is NOT_FOUND and stays valid", async () => {
    const theirs = await server.client(other.adminKey).keys.list.query();
    const target = theirs.keys.find((k) => k.name === "admin")!;
    expect(await errorCode(owner.keys.revoke.mutate({ id: target.id }))).toBe("NOT_FOUND");
    expect(await errorCode(server.client(org.adminKey).keys.revoke.mutate({ id: target.id }))).toBe("NOT_FOUND");
    expect((await server.client(other.adminKey).orgs.current.query()).id).toBe(other.orgId);
  });
});

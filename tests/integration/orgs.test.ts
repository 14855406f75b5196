// orgs.*: the current org, rename, users (owner-only changes, at least one owner always left),
// and the audit log (every change audited, newest first, paged), all scoped to the caller's org.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorCode, failure, PASSWORD, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";
import { signIn, startWithRoles } from "../helpers/session.ts";

let server: TestServer;
let org: TestOrg;
let other: TestOrg;
let owner: TRPCClient;
let admin: TRPCClient;
let viewer: TRPCClient;

beforeAll(async () => {
  ({ server, org, other, owner, admin, viewer } = await startWithRoles("Orgs Org", "orgs.test"));
});
afterAll(() => server.stop());

async function userId(email: string): Promise<string> {
  const { users } = await owner.orgs.users.list.query();
  return users.find((u) => u.email === email)!.id;
}

describe("orgs.current and orgs.rename", () => {
  it("shows the caller's org with counts, to any role and to admin keys", async () => {
    const cur = await viewer.orgs.current.query();
    expect(cur).toMatchObject({ id: org.orgId, name: "Orgs Org", counts: { users: 3, machines: 0, activeKeys: 2 } });
    expect((await server.client(org.adminKey).orgs.current.query()).id).toBe(org.orgId);
    expect(await errorCode(server.client(org.agentKey).orgs.current.query())).toBe("FORBIDDEN");
  });

  it("only owners rename, audited with the old and new name", async () => {
    expect(await errorCode(admin.orgs.rename.mutate({ name: "Admin's" }))).toBe("FORBIDDEN");
    expect(await errorCode(server.client(org.adminKey).orgs.rename.mutate({ name: "Key's" }))).toBe("FORBIDDEN");
    expect(await owner.orgs.rename.mutate({ name: "  Renamed Org " })).toEqual({ id: org.orgId, name: "Renamed Org" });
    expect((await viewer.orgs.current.query()).name).toBe("Renamed Org");
    expect((await server.client(other.adminKey).orgs.current.query()).name).toBe("Other Org");
    const [last] = (await owner.orgs.audit.query({ limit: 1 })).items;
    expect(last).toMatchObject({
      action: "orgs.rename",
      actor: `user:${org.ownerEmail}`,
      detail: { from: "Orgs Org", to: "Renamed Org" },
    });
    expect((await failure(owner.orgs.rename.mutate({ name: "" }))).message).toMatch(/^name:/);
  });
});

describe("orgs.users", () => {
  it("lists the org's users without password hashes", async () => {
    const { users } = await viewer.orgs.users.list.query();
    expect(users.map((u) => u.email).sort()).toEqual(["admin@orgs.test", org.ownerEmail, "viewer@orgs.test"].sort());
    expect(JSON.stringify(users)).not.toMatch(/scrypt|passwordHash/);
    expect(Object.keys(users[0]!).sort()).toEqual(["createdAt", "email", "id", "role"]);
  });

  it("owners add users who can then sign in; others may not add", async () => {
    const u = await owner.orgs.users.create.mutate({
      email: "New@Orgs.Test",
      password: "long enough 1",
      role: "viewer",
    });
    expect(u).toMatchObject({ email: "new@orgs.test", role: "viewer" });
    const s = await signIn(server, "new@orgs.test", "long enough 1");
    expect(await s.client.auth.me.query()).toMatchObject({ role: "viewer", orgId: org.orgId });
    expect(
      await errorCode(
        admin.orgs.users.create.mutate({ email: "x@orgs.test", password: "long enough 1", role: "owner" }),
      ),
    ).toBe("FORBIDDEN");
    expect(
      await errorCode(
        owner.orgs.users.create.mutate({ email: "new@orgs.test", password: "long enough 1", role: "viewer" }),
      ),
    ).toBe("CONFLICT");
  });

  it("names the bad field: short password, bad email, unknown role", async () => {
    const short = await failure(
      owner.orgs.users.create.mutate({ email: "p@orgs.test", password: "short", role: "viewer" }),
    );
    expect(short.data?.code).toBe("BAD_REQUEST");
    expect(short.message).toBe("password: password needs at least 8 characters");
    expect(
      (await failure(owner.orgs.users.create.mutate({ email: "nope", password: "long enough 1", role: "viewer" })))
        .message,
    ).toMatch(/^email:/);
    expect(
      (
        await failure(
          owner.orgs.users.create.mutate({ email: "r@orgs.test", password: "long enough 1", role: "god" as "owner" }),
        )
      ).message,
    ).toMatch(/^role:/);
  });

  it("setRole takes effect on the user's next request; the last owner cannot be demoted", async () => {
    const viewerId = await userId("viewer@orgs.test");
    expect(await errorCode(viewer.keys.create.mutate({ name: "k", scopes: ["agent"] }))).toBe("FORBIDDEN");
    expect(await owner.orgs.users.setRole.mutate({ userId: viewerId, role: "admin" })).toMatchObject({
      id: viewerId,
      role: "admin",
    });
    expect((await viewer.keys.create.mutate({ name: "k", scopes: ["agent"] })).scopes).toEqual(["agent"]);
    await owner.orgs.users.setRole.mutate({ userId: viewerId, role: "viewer" });

    const ownerId = await userId(org.ownerEmail);
    const err = await failure(owner.orgs.users.setRole.mutate({ userId: ownerId, role: "admin" }));
    expect(err.data?.code).toBe("CONFLICT");
    expect(err.message).toMatch(/last owner/);
    expect(await errorCode(admin.orgs.users.setRole.mutate({ userId: viewerId, role: "owner" }))).toBe("FORBIDDEN");
  });

  it("remove: the last owner stays; with a second owner the first may go; sessions of removed users end", async () => {
    const ownerId = await userId(org.ownerEmail);
    expect(await errorCode(owner.orgs.users.remove.mutate({ userId: ownerId }))).toBe("CONFLICT");
    const second = await owner.orgs.users.create.mutate({
      email: "owner2@orgs.test",
      password: "long enough 2",
      role: "owner",
    });
    const s2 = await signIn(server, "owner2@orgs.test", "long enough 2");
    // The new owner removes the old one, then cannot remove themselves (now the last owner).
    expect(await s2.client.orgs.users.remove.mutate({ userId: ownerId })).toEqual({ id: ownerId });
    expect(await owner.auth.me.query()).toBeNull();
    expect(await errorCode(owner.orgs.current.query())).toBe("UNAUTHORIZED");
    expect(await errorCode(s2.client.orgs.users.remove.mutate({ userId: second.id }))).toBe("CONFLICT");
    owner = s2.client;
    const removed = (await owner.orgs.audit.query({ limit: 20 })).items.find((a) => a.action === "users.remove");
    expect(removed).toMatchObject({ target: ownerId, actor: "user:owner2@orgs.test" });
  });

  it("another org's users are NOT_FOUND and untouched", async () => {
    const otherOwner = (await signIn(server, other.ownerEmail, PASSWORD)).client;
    const theirs = (await otherOwner.orgs.users.list.query()).users;
    const target = theirs[0]!;
    expect(await errorCode(owner.orgs.users.setRole.mutate({ userId: target.id, role: "viewer" }))).toBe("NOT_FOUND");
    expect(await errorCode(owner.orgs.users.remove.mutate({ userId: target.id }))).toBe("NOT_FOUND");
    expect((await owner.orgs.users.list.query()).users.some((u) => u.id === target.id)).toBe(false);
    expect((await otherOwner.orgs.users.list.query()).users).toEqual(theirs);
  });
});

describe("orgs.audit", () => {
  it("lists this org's audit rows newest first with cursor paging; another org's rows never appear", async () => {
    const all = (await owner.orgs.audit.query({ limit: 200 })).items;
    expect(all.length).toBeGreaterThan(5);
    const ids = all.map((a) => a.id);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    expect(all.map((a) => a.action)).toEqual(
      expect.arrayContaining(["orgs.create", "keys.create", "users.create", "users.setRole", "orgs.rename"]),
    );

    // Owners and admins read the audit log; viewers do not.
    expect(await errorCode(viewer.orgs.audit.query({ limit: 3 }))).toBe("FORBIDDEN");
    const page1 = await owner.orgs.audit.query({ limit: 3 });
    expect(page1.items.map((a) => a.id)).toEqual(ids.slice(0, 3));
    expect(page1.nextCursor).toBe(ids[2]);
    const page2 = await owner.orgs.audit.query({ limit: 3, cursor: page1.nextCursor });
    expect(page2.items.map((a) => a.id)).toEqual(ids.slice(3, 6));

    const theirs = (await server.client(other.adminKey).orgs.audit.query()).items;
    expect(theirs.length).toBeGreaterThan(0);
    expect(theirs.some((a) => ids.includes(a.id))).toBe(false);
    expect(JSON.stringify(theirs)).not.toContain("orgs.test");
  });

  it("the last page has no cursor", async () => {
    const all = (await owner.orgs.audit.query({ limit: 200 })).items;
    const tail = await owner.orgs.audit.query({ limit: 200, cursor: all.at(-2)!.id });
    expect(tail.items.map((a) => a.id)).toEqual([all.at(-1)!.id]);
    expect(tail.nextCursor).toBeNull();
  });

  it("refuses a cursor past the id column's range as bad input naming it (was a 500 on PostgreSQL)", async () => {
    const err = await failure(owner.orgs.audit.query({ limit: 10, cursor: 2_147_483_648 }));
    expect(err.data?.code).toBe("BAD_REQUEST");
    expect(err.message).toContain("cursor");
  });
});

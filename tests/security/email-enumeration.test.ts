// Finding 13 (hostile review): adding a user whose email belonged to another organization answered
// 409 "That user already exists", so any owner could probe which addresses other organizations use.
// Emails are now unique per organization: the answer is the same as for a fresh address, and each
// account signs in to its own organization with its own password.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";
import { signIn } from "../helpers/session.ts";

let server: TestServer;
let probing: TestOrg;
let other: TestOrg;

beforeAll(async () => {
  server = await startTestServer({ sweep: false });
  probing = await server.createOrg("Probing Org");
  other = await server.createOrg("Other Org");
}, 180_000);

afterAll(async () => {
  await server?.stop();
});

describe("no cross-organization email enumeration", () => {
  it("adding a user whose email exists in another organization answers as for a fresh email", async () => {
    const owner = await signIn(server, probing.ownerEmail, probing.password);
    const taken = await owner.client.orgs.users.create.mutate({
      email: other.ownerEmail,
      password: "probe password 1",
      role: "viewer",
    });
    const fresh = await owner.client.orgs.users.create.mutate({
      email: "fresh@example.test",
      password: "probe password 1",
      role: "viewer",
    });
    expect(Object.keys(taken).sort()).toEqual(Object.keys(fresh).sort());
    expect(taken).toMatchObject({ email: other.ownerEmail, role: "viewer" });
    // Nothing about the other organization's account leaks: a new id, in the caller's org.
    const otherUser = await server.deps.db.user.findFirst({
      where: { orgId: other.orgId, email: other.ownerEmail },
      select: { id: true },
    });
    expect(taken.id).not.toBe(otherUser?.id);
    const users = await owner.client.orgs.users.list.query();
    expect(users.users.map((u) => u.email)).toContain(other.ownerEmail);
  });

  it("each account with that email signs in to its own organization with its own password", async () => {
    const email = "shared@example.test";
    const a = await signIn(server, probing.ownerEmail, probing.password);
    const b = await signIn(server, other.ownerEmail, other.password);
    await a.client.orgs.users.create.mutate({ email, password: "password of a 1", role: "viewer" });
    await b.client.orgs.users.create.mutate({ email, password: "password of b 1", role: "admin" });
    const inA = await signIn(server, email, "password of a 1");
    const inB = await signIn(server, email, "password of b 1");
    expect(await inA.client.auth.me.query()).toMatchObject({ email, orgId: probing.orgId, role: "viewer" });
    expect(await inB.client.auth.me.query()).toMatchObject({ email, orgId: other.orgId, role: "admin" });
    // A password of neither account opens nothing.
    await expect(signIn(server, email, "password of c 1")).rejects.toThrow(/HTTP 401/);
  });

  it("the same email twice in one organization is still a CONFLICT (the caller's own users)", async () => {
    const owner = await signIn(server, probing.ownerEmail, probing.password);
    await owner.client.orgs.users.create.mutate({
      email: "twice@example.test",
      password: "twice password 1",
      role: "viewer",
    });
    const again = await failure(
      owner.client.orgs.users.create.mutate({
        email: "TWICE@example.test",
        password: "twice password 1",
        role: "admin",
      }),
    );
    expect(again.data?.code).toBe("CONFLICT");
  });
});

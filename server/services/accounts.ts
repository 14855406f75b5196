// Organizations, users and API keys: creation and revocation, shared by the CLI, the demo seed and routers.
import { TRPCError } from "@trpc/server";
import type { Clock } from "../clock.ts";
import type { KeyScope, Role } from "../contract/index.ts";
import type { Db } from "../db.ts";
import { writeAudit } from "./audit.ts";
import { hashPassword, hashSecret, KEY_PREFIX, newSecret } from "./crypto.ts";
import { withPrismaErrors } from "./errors.ts";

/** A key as lists show it: never the secret or its hash. */
export const keySelect = {
  id: true,
  name: true,
  prefix: true,
  scopes: true,
  createdBy: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
} as const;

export type CreatedKey = { id: string; name: string; key: string; scopes: KeyScope[] };

/** Creates an API key; the secret is returned once and stored only as a hash. */
export async function createApiKey(
  db: Db,
  clock: Clock,
  args: { orgId: string; name: string; scopes: KeyScope[]; actor: string },
): Promise<CreatedKey> {
  const scopes = [...new Set(args.scopes)].sort();
  if (scopes.length === 0) throw new TRPCError({ code: "BAD_REQUEST", message: "scopes: give at least one scope" });
  const key = newSecret(KEY_PREFIX);
  const now = clock.now();
  const row = await withPrismaErrors("key", () =>
    db.$transaction(async (tx) => {
      const created = await tx.apiKey.create({
        data: {
          orgId: args.orgId,
          name: args.name,
          prefix: key.slice(0, 10),
          keyHash: hashSecret(key),
          scopes: scopes.join(","),
          createdBy: args.actor,
          createdAt: now,
        },
        select: { id: true },
      });
      await writeAudit(tx, { orgId: args.orgId, actor: args.actor, action: "keys.create", target: created.id, detail: { name: args.name, scopes }, at: now });
      return created;
    }),
  );
  return { id: row.id, name: args.name, key, scopes };
}

/** Creates a user with a scrypt-hashed password. */
export async function createUser(
  db: Db,
  clock: Clock,
  args: { orgId: string; email: string; password: string; role: Role; actor: string },
): Promise<{ id: string; email: string; role: Role }> {
  const passwordHash = await hashPassword(args.password);
  const now = clock.now();
  return withPrismaErrors("user", () =>
    db.$transaction(async (tx) => {
      const user = await tx.user.create({
        data: { orgId: args.orgId, email: args.email.toLowerCase(), passwordHash, role: args.role, createdAt: now },
        select: { id: true, email: true },
      });
      await writeAudit(tx, { orgId: args.orgId, actor: args.actor, action: "users.create", target: user.id, detail: { email: user.email, role: args.role }, at: now });
      return { ...user, role: args.role };
    }),
  );
}

export type CreatedOrg = { orgId: string; adminKey: string; agentKey: string };

/** Creates an organization with one admin key and one agent key (and, if given, an owner user). */
export async function createOrganization(
  db: Db,
  clock: Clock,
  args: { name: string; actor: string; owner?: { email: string; password: string } },
): Promise<CreatedOrg> {
  const now = clock.now();
  const org = await db.$transaction(async (tx) => {
    const o = await tx.organization.create({ data: { name: args.name, createdAt: now }, select: { id: true } });
    await writeAudit(tx, { orgId: o.id, actor: args.actor, action: "orgs.create", target: o.id, detail: { name: args.name }, at: now });
    return o;
  });
  const adminKey = await createApiKey(db, clock, { orgId: org.id, name: "admin", scopes: ["admin"], actor: args.actor });
  const agentKey = await createApiKey(db, clock, { orgId: org.id, name: "agent", scopes: ["agent"], actor: args.actor });
  if (args.owner) await createUser(db, clock, { orgId: org.id, email: args.owner.email, password: args.owner.password, role: "owner", actor: args.actor });
  return { orgId: org.id, adminKey: adminKey.key, agentKey: agentKey.key };
}

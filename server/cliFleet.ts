// The CLI's read and fleet commands (issue 9): list organizations, users, keys and machines, label a
// machine, reset a user's password. server/cli.ts parses the command line and hands these over; each
// prints a human table or, with --json, one JSON document. Changes are audited with actor "cli".
import type { z } from "zod";
import type { Clock } from "./clock.ts";
import { DisplayName, Email, FleetQuery, Labels, MachineId, machineLabel, Password } from "./contract/index.ts";
import type { Db } from "./db.ts";
import { listFleet } from "./services/fleet.ts";
import { listKeys } from "./services/keys.ts";
import { updateMachine } from "./services/machineEdit.ts";
import { listUsers } from "./services/orgs.ts";
import { resetPassword } from "./services/passwords.ts";

const ACTOR = "cli";

/** A fleet command with its options checked. */
export type FleetJob =
  | { kind: "org list" }
  | { kind: "user list"; orgId: string }
  | { kind: "user reset-password"; orgId: string; email: string; password: string }
  | { kind: "key list"; orgId: string }
  | { kind: "machine list"; orgId: string; query: FleetQuery }
  | {
      kind: "machine label";
      orgId: string;
      machineId: string;
      labels: string[] | undefined;
      displayName: string | null | undefined;
    };

/** The option values these commands read (a subset of cli.ts's parseArgs values). */
export type FleetValues = {
  org?: string | undefined;
  email?: string | undefined;
  password?: string | undefined;
  machine?: string | undefined;
  labels?: string | undefined;
  "display-name"?: string | undefined;
  search?: string | undefined;
  label?: string[] | undefined;
  limit?: string | undefined;
  cursor?: string | undefined;
};

type Check = <T>(schema: z.ZodType<T>, value: unknown, flag: string) => T;
type Need = (name: "org" | "email" | "password" | "machine") => string;
type Only = (allowed: string[]) => void;

/** Parses one of these commands, or returns null when the command is not one of them. */
export function parseFleetJob(
  command: string,
  values: FleetValues,
  h: { required: Need; only: Only; check: Check; usage: (m: string) => Error },
): FleetJob | null {
  switch (command) {
    case "org list":
      h.only([]);
      return { kind: command };
    case "user list":
    case "key list":
      h.only(["org"]);
      return { kind: command, orgId: h.required("org") };
    case "user reset-password":
      h.only(["org", "email", "password"]);
      return {
        kind: command,
        orgId: h.required("org"),
        email: h.check(Email, h.required("email"), "email"),
        password: h.check(Password, h.required("password"), "password"),
      };
    case "machine list": {
      h.only(["org", "search", "label", "limit", "cursor"]);
      const query = FleetQuery.parse({
        search: h.check(FleetQuery.shape.search, values.search, "search"),
        labels: h.check(FleetQuery.shape.labels, values.label, "label"),
        limit: h.check(FleetQuery.shape.limit, values.limit === undefined ? 100 : Number(values.limit), "limit"),
        cursor: h.check(FleetQuery.shape.cursor, values.cursor, "cursor"),
      });
      return { kind: command, orgId: h.required("org"), query };
    }
    case "machine label": {
      h.only(["org", "machine", "labels", "display-name"]);
      if (values.labels === undefined && values["display-name"] === undefined)
        throw h.usage("give --labels (comma-separated, '' clears) and/or --display-name");
      const labels =
        values.labels === undefined
          ? undefined
          : h.check(
              Labels,
              values.labels
                .split(",")
                .map((l) => l.trim())
                .filter((l) => l !== ""),
              "labels",
            );
      const displayName =
        values["display-name"] === undefined
          ? undefined
          : h.check(DisplayName, values["display-name"], "display-name") || null;
      return {
        kind: command,
        orgId: h.required("org"),
        machineId: h.check(MachineId, h.required("machine"), "machine"),
        labels,
        displayName,
      };
    }
    default:
      return null;
  }
}

/** Fixed-width columns for the human output. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** Runs a parsed command; `out(human, data)` prints one or the other (--json). */
export async function runFleetJob(
  deps: { db: Db; clock: Clock; reportIntervalSeconds: number; requireOrg: (orgId: string) => Promise<void> },
  job: FleetJob,
  out: (human: string, data: unknown) => void,
): Promise<void> {
  const { db } = deps;
  const requireOrg = (_db: Db, orgId: string) => deps.requireOrg(orgId);
  switch (job.kind) {
    case "org list": {
      const orgs = await db.organization.findMany({
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        select: { id: true, name: true, createdAt: true, legacyAgents: true },
      });
      const items = orgs.map((o) => ({
        id: o.id,
        name: o.name,
        createdAt: o.createdAt.toISOString(),
        legacyAgents: o.legacyAgents,
      }));
      out(
        table(
          ["ID", "NAME", "CREATED", "LEGACY AGENTS"],
          items.map((o) => [o.id, o.name, o.createdAt, o.legacyAgents ? "on" : "off"]),
        ),
        { organizations: items },
      );
      return;
    }
    case "user list": {
      await requireOrg(db, job.orgId);
      const users = await listUsers(db, job.orgId);
      out(
        table(
          ["ID", "EMAIL", "ROLE", "CREATED"],
          users.map((u) => [u.id, u.email, u.role, u.createdAt]),
        ),
        { users },
      );
      return;
    }
    case "key list": {
      await requireOrg(db, job.orgId);
      const keys = await listKeys(db, job.orgId);
      out(
        table(
          ["ID", "NAME", "PREFIX", "SCOPES", "CREATED", "LAST USED", "REVOKED"],
          keys.map((k) => [
            k.id,
            k.name,
            k.prefix,
            k.scopes.join(","),
            k.createdAt,
            k.lastUsedAt ?? "-",
            k.revokedAt ?? "-",
          ]),
        ),
        { keys },
      );
      return;
    }
    case "user reset-password": {
      await requireOrg(db, job.orgId);
      const r = await resetPassword(deps, { orgId: job.orgId, email: job.email, password: job.password, actor: ACTOR });
      out(`Password of ${r.email} reset; ${r.sessionsEnded} session(s) signed out.`, r);
      return;
    }
    case "machine list": {
      await requireOrg(db, job.orgId);
      const page = await listFleet(deps, job.orgId, job.query, deps.reportIntervalSeconds);
      const more = page.nextCursor
        ? `\n${page.total} machines; more with --cursor ${page.nextCursor}`
        : `\n${page.total} machines`;
      out(
        table(
          ["MACHINE", "STATE", "HEALTH", "OS", "LABELS", "LAST SEEN"],
          page.machines.map((m) => [
            machineLabel(m),
            m.online ? "online" : "offline",
            m.health,
            m.os,
            m.labels.join(",") || "-",
            m.lastSeenAt,
          ]),
        ) + more,
        { machines: page.machines, total: page.total, nextCursor: page.nextCursor },
      );
      return;
    }
    case "machine label": {
      await requireOrg(db, job.orgId);
      const m = await updateMachine(
        deps,
        { orgId: job.orgId, actor: ACTOR },
        { machineId: job.machineId, labels: job.labels, displayName: job.displayName },
      );
      out(`${machineLabel(m)}: labels ${m.labels.join(", ") || "(none)"}`, m);
      return;
    }
  }
}

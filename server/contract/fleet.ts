// Fleet and account shapes shared with the dashboard: roles, the fleet query (filters, sort, paging),
// health bands, the machine and bulk-job views, saved views, and how a machine is named.
import { z } from "zod";
import type { ActionStatus } from "./statuses.ts";
import { Label, Labels, MachineId } from "./metrics.ts";
import { safeText } from "./text.ts";

export const roles = ["owner", "admin", "viewer"] as const;
/** owner: everything; admin: queue actions and manage machines; viewer: read only. */
export const Role = z.enum(roles);
export type Role = z.infer<typeof Role>;

export const keyScopes = ["admin", "agent"] as const;
export const KeyScope = z.enum(keyScopes);
export type KeyScope = z.infer<typeof KeyScope>;

export const Email = z.string().trim().toLowerCase().email().max(254);
export const Password = z.string().min(8, "password needs at least 8 characters").max(200);

export const healthBands = ["good", "degraded", "critical", "nodata"] as const;
/** A machine's health: from its latest reports; "nodata" when it never reported. Offline is separate. */
export const HealthBand = z.enum(healthBands);
export type HealthBand = z.infer<typeof HealthBand>;

/** Band of a health score 0–100 (null: no data). The server stores the band; this is for display. */
export function healthBand(score: number | null): HealthBand {
  if (score === null) return "nodata";
  if (score >= 70) return "good";
  if (score >= 40) return "degraded";
  return "critical";
}

export const fleetSorts = ["hostname", "health", "lastSeen", "cpu", "memory", "disk"] as const;
export const FleetSort = z.enum(fleetSorts);
export type FleetSort = z.infer<typeof FleetSort>;
export const SortDir = z.enum(["asc", "desc"]);
export type SortDir = z.infer<typeof SortDir>;

/**
 * Default direction of each sort: hostname A→Z, health worst first (lowest score), lastSeen newest
 * first, cpu/memory/disk highest first.
 */
export const defaultSortDir: { readonly [S in FleetSort]: SortDir } = {
  hostname: "asc",
  health: "asc",
  lastSeen: "desc",
  cpu: "desc",
  memory: "desc",
  disk: "desc",
};

/** Which machines: every field narrows (labels: all must match). Also a bulk job's target. */
export const FleetFilter = z
  .object({
    /** Substring of hostname, display name or machine id, case-insensitive. */
    search: z.string().trim().max(128).optional(),
    online: z.boolean().optional(),
    health: HealthBand.optional(),
    os: z.string().trim().min(1).max(255).optional(),
    labels: z.array(Label).max(20).optional(),
  })
  .strict();
export type FleetFilter = z.infer<typeof FleetFilter>;

/** Default and largest fleet.list page. */
export const FLEET_PAGE_DEFAULT = 50;
export const FLEET_PAGE_MAX = 500;

/** fleet.list input: a filter, a sort and a keyset cursor (opaque; from the previous page). */
export const FleetQuery = FleetFilter.extend({
  limit: z.number().int().min(1).max(FLEET_PAGE_MAX).default(FLEET_PAGE_DEFAULT),
  cursor: z.string().max(1000).nullish(),
  sort: FleetSort.default("hostname"),
  dir: SortDir.optional(),
}).strict();
export type FleetQuery = z.infer<typeof FleetQuery>;
export type FleetQueryInput = z.input<typeof FleetQuery>;

/** Latest metrics as reported. */
export type MachineMetrics = {
  cpuPercent: number;
  memoryPercent: number;
  diskPercent: number;
  uptimeSeconds: number;
  at: string;
  extras: Record<string, number | string | boolean> | null;
};

/** One machine as admins see it (fleet.list, fleet.machine, machines.update). Times are ISO strings. */
export type MachineView = {
  machineId: string;
  hostname: string;
  displayName: string | null;
  /** displayName ?? hostname */
  name: string;
  labels: string[];
  os: string;
  agentVersion: string;
  firstSeenAt: string;
  lastSeenAt: string;
  online: boolean;
  health: HealthBand;
  healthScore: number | null;
  healthReasons: string[];
  metrics: MachineMetrics | null;
  pendingCount: number;
  retired: boolean;
};

/** fleet.list answer. */
export type FleetPage = {
  machines: MachineView[];
  nextCursor: string | null;
  total: number;
  reportIntervalSeconds: number;
};

/** fleet.summary answer: counters for the header, for the whole org or a filter. */
export type FleetSummary = {
  total: number;
  online: number;
  offline: number;
  health: Record<HealthBand, number>;
  os: { os: string; count: number }[];
  labels: { label: string; count: number }[];
};

/** How a machine is named everywhere: "display name (or hostname) · machine id". */
export function machineLabel(m: {
  machineId: string;
  displayName?: string | null;
  hostname?: string;
  name?: string;
}): string {
  const name = m.name ?? m.displayName ?? m.hostname ?? m.machineId;
  return `${name} · ${m.machineId}`;
}

/** A display name an admin may set (null or "" clears it). */
export const DisplayName = safeText(100, { allowEmpty: true });

/** machines.update input (owners, admins, admin keys). */
export const MachineUpdate = z
  .object({
    machineId: MachineId,
    displayName: DisplayName.nullable().optional(),
    labels: Labels.optional(),
  })
  .strict();
export type MachineUpdate = z.infer<typeof MachineUpdate>;

/** A bulk job's target: explicit machine ids (any count) or every machine matching a filter. */
export const BulkTarget = z.union(
  [
    z.object({ machineIds: z.array(MachineId).min(1, "pick at least one machine").max(200_000) }).strict(),
    z.object({ filter: FleetFilter }).strict(),
  ],
  // Neither or both keys: say what is expected (zod's own text is "Invalid input").
  {
    error: (iss) => (iss.code === "invalid_union" ? "give either machineIds (a list) or filter, not both" : undefined),
  },
);
export type BulkTarget = z.infer<typeof BulkTarget>;

/** A bulk job's target as data, for a console to word in its own language: the filter, or how many
 * machines were picked by id (with the id when there was exactly one). */
export const BulkTargetView = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("filter"), filter: FleetFilter }),
  z.object({ kind: z.literal("machines"), count: z.number().int().nonnegative(), machineId: MachineId.nullable() }),
]);
export type BulkTargetView = z.infer<typeof BulkTargetView>;

/** A bulk job as listed: what was sent, to whom, and how its actions stand. */
export type BulkJobView = {
  id: string;
  type: string;
  data: unknown;
  /** Human description of the target in English, e.g. "3 machines" or "machines matching online; label web". */
  target: string;
  /** The same target as data (the dashboard words it with its filter words). */
  targetSpec: BulkTargetView;
  count: number;
  createdBy: string;
  createdAt: string;
  cancelledAt: string | null;
  counts: Record<ActionStatus, number>;
};

/** A saved view's name. */
export const ViewName = safeText(64, { required: "name is required" });
/** The columns a fleet table can show (a saved view may pick some). */
export const fleetColumns = [
  "name",
  "machineId",
  "status",
  "health",
  "cpu",
  "memory",
  "disk",
  "os",
  "labels",
  "lastSeen",
  "agentVersion",
  "pending",
] as const;
export const FleetColumn = z.enum(fleetColumns);
/** What a saved view stores: a fleet query without cursor, and optionally the chosen columns. */
export const SavedViewQuery = FleetQuery.omit({ cursor: true, limit: true })
  .extend({
    limit: z.number().int().min(1).max(FLEET_PAGE_MAX).optional(),
    columns: z.array(FleetColumn).max(fleetColumns.length).optional(),
  })
  .strict();
export type SavedViewQuery = z.infer<typeof SavedViewQuery>;
export const SaveViewInput = z.object({ name: ViewName, query: SavedViewQuery }).strict();
export type SavedView = { name: string; query: SavedViewQuery; createdAt: string };

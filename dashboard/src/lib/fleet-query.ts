// The fleet page's view (filters, sort, page size, columns, table or cards) read from and written to the
// URL's query parameters. Plain functions (unit-tested): whatever a pasted or edited URL holds, the
// result is a valid FleetQuery (bad values are dropped, never sent to the server).
import {
  defaultSortDir,
  fleetColumns,
  FleetSort,
  HealthBand,
  Label,
  SortDir,
  type BulkTargetView,
  type FleetFilter,
  type FleetQueryInput,
} from "../../../server/contract/index.ts";
import { english, type ConsoleKey, type ConsoleTranslator } from "./i18n/index.ts";

export type FleetColumn = (typeof fleetColumns)[number];
/** Columns shown until the user picks others. */
export const defaultColumns: readonly FleetColumn[] = [
  "name",
  "status",
  "health",
  "cpu",
  "memory",
  "disk",
  "labels",
  "lastSeen",
];
/** Each column's name in the column chooser (the table's headers are shorter). */
export const columnNameKeys: Record<FleetColumn, ConsoleKey> = {
  name: "field.machineId",
  machineId: "column.machineId",
  status: "column.status",
  health: "column.health",
  cpu: "metric.cpu",
  memory: "metric.memory",
  disk: "metric.disk",
  os: "column.os",
  labels: "field.labels",
  lastSeen: "column.lastSeen",
  agentVersion: "column.agentVersion",
  pending: "column.pending",
};
export const pageSizes = [25, 50, 100] as const;

/** What the fleet page shows, as held in the URL. */
export type FleetView = {
  filter: FleetFilter;
  sort: FleetSort;
  dir: SortDir;
  limit: number;
  columns: FleetColumn[];
  cards: boolean;
};

/** Reads a fleet view from URL parameters; invalid values fall back to the defaults. */
export function viewFromParams(params: Record<string, string>): FleetView {
  const filter: FleetFilter = {};
  const search = params.search?.trim();
  if (search) filter.search = search.slice(0, 128);
  if (params.online === "true" || params.online === "false") filter.online = params.online === "true";
  const health = HealthBand.safeParse(params.health);
  if (health.success) filter.health = health.data;
  if (params.os?.trim()) filter.os = params.os.trim().slice(0, 255);
  const labels = (params.labels ?? "")
    .split(",")
    .map((l) => Label.safeParse(l))
    .flatMap((r) => (r.success ? [r.data] : []));
  if (labels.length) filter.labels = [...new Set(labels)].slice(0, 20);

  const sortParsed = FleetSort.safeParse(params.sort);
  const sort = sortParsed.success ? sortParsed.data : "hostname";
  const dirParsed = SortDir.safeParse(params.dir);
  const dir = dirParsed.success ? dirParsed.data : defaultSortDir[sort];
  const size = Number(params.limit);
  const limit = (pageSizes as readonly number[]).includes(size) ? size : 50;
  const picked = (params.cols ?? "")
    .split(",")
    .filter((c): c is FleetColumn => (fleetColumns as readonly string[]).includes(c));
  const columns = picked.length ? [...new Set(picked)] : [...defaultColumns];
  return { filter, sort, dir, limit, columns, cards: params.view === "cards" };
}

/** URL parameters of a view (defaults left out, so the plain fleet page is plain "#/fleet"). */
export function paramsFromView(v: FleetView): Record<string, string | undefined> {
  const f = v.filter;
  const sameColumns = v.columns.length === defaultColumns.length && v.columns.every((c, i) => c === defaultColumns[i]);
  return {
    search: f.search || undefined,
    online: f.online === undefined ? undefined : String(f.online),
    health: f.health,
    os: f.os,
    labels: f.labels?.length ? f.labels.join(",") : undefined,
    sort: v.sort === "hostname" ? undefined : v.sort,
    dir: v.dir === defaultSortDir[v.sort] ? undefined : v.dir,
    limit: v.limit === 50 ? undefined : String(v.limit),
    cols: sameColumns ? undefined : v.columns.join(","),
    view: v.cards ? "cards" : undefined,
  };
}

/** The fleet.list input of a view and a page cursor. */
export function listInput(v: FleetView, cursor: string | null): FleetQueryInput {
  return { ...cleanFilter(v.filter), sort: v.sort, dir: v.dir, limit: v.limit, cursor };
}

/** A filter without empty fields (what the server and saved views get). */
export function cleanFilter(f: FleetFilter): FleetFilter {
  const out: FleetFilter = {};
  if (f.search) out.search = f.search;
  if (f.online !== undefined) out.online = f.online;
  if (f.health) out.health = f.health;
  if (f.os) out.os = f.os;
  if (f.labels?.length) out.labels = f.labels;
  return out;
}

/** True when the filter narrows the fleet at all. */
export function isFiltered(f: FleetFilter): boolean {
  return Object.keys(cleanFilter(f)).length > 0;
}

/** A filter in words, for the Actions dialog and bulk chips: "online, critical, labels web + eu, “db”". */
export function describeFilter(f: FleetFilter, t: ConsoleTranslator = english): string {
  const parts: string[] = [];
  if (f.online !== undefined) parts.push(f.online ? t("filter.online") : t("filter.offline"));
  if (f.health) parts.push(t(`filter.health.${f.health}`));
  if (f.os) parts.push(t("filter.os", { os: f.os }));
  if (f.labels?.length) parts.push(t("filter.labels", { n: f.labels.length, labels: f.labels.join(" + ") }));
  if (f.search) parts.push(t("filter.search", { search: f.search }));
  return parts.length ? parts.join(", ") : t("filter.every");
}

/** A bulk job's target in words: "machines: online, label web", "every machine", "Machine pc-1", "3 machines". */
export function describeBulkTarget(target: BulkTargetView, t: ConsoleTranslator = english): string {
  if (target.kind === "filter")
    return isFiltered(target.filter)
      ? t("bulkList.targetFilter", { filter: describeFilter(target.filter, t) })
      : t("filter.every");
  return target.machineId ? t("card.label", { machine: target.machineId }) : t("count.machines", { n: target.count });
}

// Hash routes of the console, as plain functions (no runes, unit-tested): "#/fleet?online=false",
// "#/machines/ID", "#/activity?status=error", "#/actions/ID", "#/bulk", "#/bulk/ID", "#/audit", "#/keys",
// "#/users". Filters live in the hash's query so a view is shareable and survives a reload. A hash that
// does not parse (a malformed %-escape, an unknown page) is the not-found page, never an exception.

export const pages = [
  "fleet",
  "machine",
  "activity",
  "action",
  "bulkList",
  "bulk",
  "audit",
  "keys",
  "users",
  "settings",
  "notFound",
] as const;
export type Page = (typeof pages)[number];

/** A parsed hash: the page, its id (machine, action, bulk job) and its query parameters. */
export type Route = { page: Page; id: string | null; params: Record<string, string> };

/** Pages with an id in the path, and their path segment. */
const withId: Partial<Record<string, Page>> = { machines: "machine", actions: "action", bulk: "bulk" };
/** Pages without an id. */
const plain: Partial<Record<string, Page>> = {
  fleet: "fleet",
  activity: "activity",
  bulk: "bulkList",
  audit: "audit",
  keys: "keys",
  users: "users",
  settings: "settings",
};
const segmentOf: Partial<Record<Page, string>> = {
  fleet: "fleet",
  machine: "machines",
  activity: "activity",
  action: "actions",
  bulkList: "bulk",
  bulk: "bulk",
  audit: "audit",
  keys: "keys",
  users: "users",
  settings: "settings",
};

const notFound = (): Route => ({ page: "notFound", id: null, params: {} });

/** Parses a location hash. Never throws. */
export function parseHash(hash: string): Route {
  const body = hash.replace(/^#\/?/, "");
  const q = body.indexOf("?");
  const path = q < 0 ? body : body.slice(0, q);
  let parts: string[];
  const params: Record<string, string> = {};
  try {
    parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    // URLSearchParams never throws on bad escapes (it keeps them as text), which is what we want.
    if (q >= 0) for (const [k, v] of new URLSearchParams(body.slice(q + 1))) params[k] = v;
  } catch {
    return notFound();
  }
  if (parts.length === 0) return { page: "fleet", id: null, params };
  const [head, id, ...rest] = parts;
  if (rest.length > 0) return notFound();
  if (id !== undefined) {
    const page = withId[head!];
    return page ? { page, id, params } : notFound();
  }
  const page = plain[head!];
  return page ? { page, id: null, params } : notFound();
}

/** The hash of a route; empty parameters are left out, the rest sorted so equal views have equal URLs. */
export function toHash(route: { page: Page; id?: string | null; params?: Record<string, string | undefined> }): string {
  const segment = segmentOf[route.page] ?? "fleet";
  const path = route.id ? `#/${segment}/${encodeURIComponent(route.id)}` : `#/${segment}`;
  const entries = Object.entries(route.params ?? {})
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== "")
    .sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return path;
  return `${path}?${new URLSearchParams(entries).toString()}`;
}

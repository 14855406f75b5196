// The console's hash routes: pages, ids and filter parameters round-trip through the URL, and a
// malformed hash (a bad %-escape, an unknown page) is the not-found page, never a URIError (finding 15).
import { describe, expect, test } from "vitest";
import { parseHash, toHash } from "../../dashboard/src/lib/routes.ts";

describe("hash routes", () => {
  test("pages with and without ids", () => {
    expect(parseHash("")).toEqual({ page: "fleet", id: null, params: {} });
    expect(parseHash("#/")).toEqual({ page: "fleet", id: null, params: {} });
    expect(parseHash("#/machines/pc%2F01")).toEqual({ page: "machine", id: "pc/01", params: {} });
    expect(parseHash("#/bulk")).toMatchObject({ page: "bulkList", id: null });
    expect(parseHash("#/bulk/b-1")).toMatchObject({ page: "bulk", id: "b-1" });
    expect(parseHash("#/actions/a-1")).toMatchObject({ page: "action", id: "a-1" });
    expect(parseHash("#/audit")).toMatchObject({ page: "audit" });
  });

  test("a malformed hash is the not-found page, not an exception", () => {
    for (const bad of ["#/machines/%E0%A4%A", "#/%", "#/machines/%zz", "#/nowhere", "#/machines/a/b", "#/fleet/x"]) {
      expect(() => parseHash(bad)).not.toThrow();
      expect(parseHash(bad).page).toBe("notFound");
    }
    // A bad escape inside the query is kept as text rather than failing the whole page.
    expect(parseHash("#/fleet?search=%E0%A4%A").page).toBe("fleet");
  });

  test("filters round-trip through the URL, empty ones left out, in a stable order", () => {
    const hash = toHash({
      page: "fleet",
      params: { search: "web & db", online: "false", labels: "eu,prod", health: "", sort: undefined },
    });
    expect(hash).toBe("#/fleet?labels=eu%2Cprod&online=false&search=web+%26+db");
    expect(parseHash(hash)).toEqual({
      page: "fleet",
      id: null,
      params: { labels: "eu,prod", online: "false", search: "web & db" },
    });
    expect(toHash({ page: "machine", id: "pc 1" })).toBe("#/machines/pc%201");
    expect(toHash({ page: "bulkList" })).toBe("#/bulk");
  });
});

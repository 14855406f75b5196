// The fleet page's view in the URL: whatever a pasted or edited link holds, the console asks the server
// only for a valid FleetQuery (bad values dropped), and a view survives the round trip through the URL.
import { describe, expect, test } from "vitest";
import { FleetQuery } from "../../server/contract/index.ts";
import {
  defaultColumns,
  describeFilter,
  listInput,
  paramsFromView,
  viewFromParams,
} from "../../dashboard/src/lib/fleet-query.ts";

describe("fleet view ↔ URL", () => {
  test("the plain fleet page is the default view, and its URL has no parameters", () => {
    const v = viewFromParams({});
    expect(v).toEqual({
      filter: {},
      sort: "hostname",
      dir: "asc",
      limit: 50,
      columns: [...defaultColumns],
      cards: false,
    });
    expect(Object.values(paramsFromView(v)).filter((x) => x !== undefined)).toEqual([]);
  });

  test("a view round-trips through its URL parameters", () => {
    const v = viewFromParams({
      search: "web",
      online: "false",
      health: "critical",
      os: "Windows 11",
      labels: "eu,prod",
      sort: "cpu",
      dir: "asc",
      limit: "100",
      cols: "name,cpu,labels",
      view: "cards",
    });
    expect(v.filter).toEqual({
      search: "web",
      online: false,
      health: "critical",
      os: "Windows 11",
      labels: ["eu", "prod"],
    });
    const params = Object.fromEntries(
      Object.entries(paramsFromView(v)).filter((e): e is [string, string] => e[1] !== undefined),
    );
    expect(viewFromParams(params)).toEqual(v);
  });

  test("bad values from a hand-edited link are dropped, and what is sent always parses as a FleetQuery", () => {
    const v = viewFromParams({
      online: "maybe",
      health: "terrible",
      labels: "ok,Not A Label!,,ok",
      sort: "favourite",
      dir: "sideways",
      limit: "100000",
      cols: "nope",
      search: "x".repeat(300),
    });
    expect(v.filter).toEqual({ search: "x".repeat(128), labels: ["ok"] });
    expect(v.sort).toBe("hostname");
    expect(v.limit).toBe(50);
    expect(v.columns).toEqual([...defaultColumns]);
    expect(FleetQuery.safeParse(listInput(v, null)).success).toBe(true);
    expect(FleetQuery.safeParse(listInput(viewFromParams({ sort: "cpu" }), "abc")).data).toMatchObject({
      sort: "cpu",
      dir: "desc",
    });
  });

  test("a filter in words for the Actions dialog", () => {
    expect(describeFilter({})).toBe("every machine");
    expect(describeFilter({ online: true, health: "critical", labels: ["web", "eu"], search: "db" })).toBe(
      "online, critical, labels web + eu, matching “db”",
    );
  });
});

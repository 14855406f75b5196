// fleet.list at scale over HTTP: keyset paging that is complete and stable (every machine exactly once,
// in order, for each sort and direction, also while machines enroll), each filter with its total,
// fleet.summary's counters, labels and display names set through machines.update, bad cursors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FleetQueryInput, FleetSort, MachineView } from "../../server/contract/index.ts";
import { assessHealth } from "../../server/services/health.ts";
import { seedMachines, variedFleet, type SeedMachine } from "../helpers/fleet-seed.ts";
import { enroll, errorCode, failure, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";
import { startWithRoles } from "../helpers/session.ts";

let server: TestServer;
let org: TestOrg;
let admin: TRPCClient;
let viewer: TRPCClient;
let fleet: SeedMachine[];
const N = 1200;

beforeAll(async () => {
  ({ server, org, viewer } = await startWithRoles("Paging Org", "paging.test", {
    env: { DASHFLEET_ENROLL_PER_MINUTE: "100000", DASHFLEET_AGENT_PER_MINUTE: "100000" },
  }));
  admin = server.client(org.adminKey);
  fleet = await seedMachines(server, org.orgId, variedFleet(N));
}, 180_000);
afterAll(() => server.stop());

/** Every page of a query, following nextCursor; checks each page's total. */
async function allPages(
  input: FleetQueryInput,
  limit = 97,
): Promise<{ machines: MachineView[]; total: number; pages: number }> {
  const machines: MachineView[] = [];
  let cursor: string | null = null;
  let total = -1;
  let pages = 0;
  do {
    const page = await admin.fleet.list.query({ ...input, limit, cursor });
    if (total === -1) total = page.total;
    expect(page.total).toBe(total);
    expect(page.machines.length).toBeLessThanOrEqual(limit);
    machines.push(...page.machines);
    cursor = page.nextCursor;
    pages += 1;
  } while (cursor);
  return { machines, total, pages };
}

const seeded = (id: string) => fleet.find((m) => m.machineId === id)!;
const keyOf: Record<FleetSort, (m: MachineView) => string | number> = {
  hostname: (m) => m.hostname,
  health: (m) => m.healthScore ?? 101,
  lastSeen: (m) => m.lastSeenAt,
  cpu: (m) => m.metrics?.cpuPercent ?? -1,
  memory: (m) => m.metrics?.memoryPercent ?? -1,
  disk: (m) => m.metrics?.diskPercent ?? -1,
};

describe("fleet.list paging", () => {
  for (const sort of ["hostname", "health", "lastSeen", "cpu", "memory", "disk"] as const)
    for (const dir of ["asc", "desc"] as const)
      it(`sort ${sort} ${dir}: every machine exactly once, in order, ties broken by id`, async () => {
        const { machines, total, pages } = await allPages({ sort, dir });
        expect(total).toBe(N);
        expect(pages).toBe(Math.ceil(N / 97));
        const ids = machines.map((m) => m.machineId);
        expect(new Set(ids).size).toBe(N);
        const sign = dir === "asc" ? 1 : -1;
        for (let i = 1; i < machines.length; i++) {
          const [a, b] = [machines[i - 1]!, machines[i]!];
          const [ka, kb] = [keyOf[sort](a), keyOf[sort](b)];
          const cmp = ka < kb ? -1 : ka > kb ? 1 : a.machineId < b.machineId ? -1 : 1;
          expect(cmp * sign, `${sort} ${dir} at ${i}: ${a.machineId} (${ka}) then ${b.machineId} (${kb})`).toBe(-1);
        }
      });

  it("default directions: health worst first (no data last), lastSeen newest first, cpu highest first", async () => {
    const health = (await admin.fleet.list.query({ sort: "health", limit: 500 })).machines;
    expect(health[0]!.health).toBe("critical");
    const all = (await allPages({ sort: "health" }, 500)).machines;
    expect(all.at(-1)!.health).toBe("nodata");
    const cpu = (await admin.fleet.list.query({ sort: "cpu", limit: 3 })).machines;
    expect(cpu[0]!.metrics!.cpuPercent).toBe(100);
    const seen = (await admin.fleet.list.query({ sort: "lastSeen", limit: 2 })).machines;
    expect(seen[0]!.lastSeenAt >= seen[1]!.lastSeenAt).toBe(true);
  });

  it("stays complete while machines enroll during the paging: each existing machine once, no duplicates", async () => {
    const before = new Set(fleet.map((m) => m.machineId));
    const seen: string[] = [];
    let cursor: string | null = null;
    let enrolled = 0;
    do {
      // Between pages, new machines enroll with names before and after the cursor.
      const page: { machines: MachineView[]; nextCursor: string | null } = await admin.fleet.list.query({
        sort: "hostname",
        limit: 100,
        cursor,
      });
      await Promise.all([
        enroll(server, org.agentKey, `late-a-${enrolled}`, `aaa-late-${enrolled}`),
        enroll(server, org.agentKey, `late-z-${enrolled}`, `zzz-late-${enrolled}`),
      ]);
      for (const side of ["a", "z"])
        fleet.push({
          machineId: `late-${side}-${enrolled}`,
          hostname: `${side.repeat(3)}-late-${enrolled}`,
          displayName: null,
          os: "Linux test",
          figures: null,
          online: true,
          labels: [],
          lastSeenAt: new Date(),
        });
      enrolled += 1;
      seen.push(...page.machines.map((m) => m.machineId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of before) expect(seen.filter((s) => s === id)).toHaveLength(1);
    // Those enrolled after the cursor passed their place ("zzz…") are found; those before it are not.
    expect(seen.filter((s) => s.startsWith("late-z-")).length).toBeGreaterThan(0);
    expect((await admin.fleet.list.query({ limit: 1 })).total).toBe(N + 2 * enrolled);
    expect(fleet).toHaveLength(N + 2 * enrolled);
  }, 60_000);

  it("a cursor of another sort, or not a cursor at all, is BAD_REQUEST naming the cursor", async () => {
    const page = await admin.fleet.list.query({ sort: "cpu", limit: 5 });
    const err = await failure(admin.fleet.list.query({ sort: "hostname", cursor: page.nextCursor }));
    expect(err.data?.code).toBe("BAD_REQUEST");
    expect(err.message).toMatch(/^cursor:/);
    expect(await errorCode(admin.fleet.list.query({ cursor: "not-a-cursor" }))).toBe("BAD_REQUEST");
    expect(await errorCode(admin.fleet.list.query({ limit: 501 }))).toBe("BAD_REQUEST");
  });
});

describe("fleet.list filters", () => {
  const live = () => fleet;
  const cases: [string, FleetQueryInput, (m: SeedMachine) => boolean][] = [
    ["online", { online: true }, (m) => m.online],
    ["offline", { online: false }, (m) => !m.online],
    ["os", { os: "Windows 11" }, (m) => m.os === "Windows 11"],
    ["one label", { labels: ["eu"] }, (m) => m.labels.includes("eu")],
    ["all labels must match", { labels: ["web", "eu"] }, (m) => m.labels.includes("web") && m.labels.includes("eu")],
    ["no data", { health: "nodata" }, (m) => m.figures === null],
    ["search hostname, case-insensitive", { search: "HOST-11" }, (m) => m.hostname.includes("host-11")],
    ["search machine id", { search: "m-0099" }, (m) => m.machineId.includes("m-0099")],
    ["search display name", { search: "front desk" }, (m) => !!m.displayName?.toLowerCase().includes("front desk")],
    [
      "combined",
      { online: true, os: "Linux", labels: ["web"] },
      (m) => m.online && m.os === "Linux" && m.labels.includes("web"),
    ],
  ];
  for (const band of ["good", "degraded", "critical"] as const)
    cases.push([
      `health ${band}`,
      { health: band },
      (m) =>
        !!m.figures &&
        assessHealth([{ cpuPercent: m.figures.cpu, memoryPercent: m.figures.memory, diskPercent: m.figures.disk }])
          .health === band,
    ]);

  for (const [name, input, match] of cases)
    it(`${name}: exactly the matching machines, with the matching total`, async () => {
      const want = live()
        .filter(match)
        .map((m) => m.machineId)
        .sort();
      expect(want.length).toBeGreaterThan(0);
      const { machines, total } = await allPages({ ...input, sort: "cpu" }, 150);
      expect(total).toBe(want.length);
      expect(machines.map((m) => m.machineId).sort()).toEqual(want);
    });

  it("a search for LIKE wildcards matches them literally", async () => {
    expect((await admin.fleet.list.query({ search: "%" })).total).toBe(0);
    expect((await admin.fleet.list.query({ search: "_" })).total).toBe(0);
  });

  it("each machine says why its health is what it is", async () => {
    const critical = (await admin.fleet.list.query({ health: "critical", limit: 20 })).machines;
    for (const m of critical) {
      expect(m.healthReasons.length).toBeGreaterThan(0);
      const f = seeded(m.machineId).figures!;
      if (f.disk >= 95) expect(m.healthReasons).toContain(`Disk ${f.disk} % full`);
    }
  });
});

describe("fleet.summary", () => {
  it("counts online, health bands, operating systems and labels, for the fleet or a filter", async () => {
    const s = await viewer.fleet.summary.query();
    const ours = fleet;
    expect(s.total).toBe(ours.length);
    expect(s.online).toBe(ours.filter((m) => m.online).length);
    expect(s.offline).toBe(ours.filter((m) => !m.online).length);
    expect(s.health.nodata).toBe(ours.filter((m) => m.figures === null).length);
    expect(s.health.good + s.health.degraded + s.health.critical + s.health.nodata).toBe(s.total);
    expect(s.os.find((o) => o.os === "Windows 11")?.count).toBe(ours.filter((m) => m.os === "Windows 11").length);
    expect(s.labels.find((l) => l.label === "db")?.count).toBe(ours.filter((m) => m.labels.includes("db")).length);

    const eu = await admin.fleet.summary.query({ labels: ["eu"] });
    expect(eu.total).toBe(ours.filter((m) => m.labels.includes("eu")).length);
    expect(eu.labels.find((l) => l.label === "eu")?.count).toBe(eu.total);
  });
});

describe("machines.update", () => {
  it("sets a display name and labels (lowercased, unique), shown and filterable at once, audited", async () => {
    const m = await admin.machines.update.mutate({
      machineId: "m-00001",
      displayName: "Reception PC",
      labels: ["Lobby", "lobby", "floor-1"],
    });
    expect(m).toMatchObject({
      machineId: "m-00001",
      displayName: "Reception PC",
      name: "Reception PC",
      labels: ["floor-1", "lobby"],
    });
    const found = await admin.fleet.list.query({ labels: ["lobby"] });
    expect(found.machines.map((x) => x.machineId)).toEqual(["m-00001"]);
    expect((await admin.fleet.list.query({ search: "reception" })).machines.map((x) => x.machineId)).toEqual([
      "m-00001",
    ]);
    const detail = await viewer.fleet.machine.query({ machineId: "m-00001" });
    expect(detail.machine).toMatchObject({ name: "Reception PC", labels: ["floor-1", "lobby"] });
    // Clearing the name falls back to the hostname; labels untouched when not given.
    const cleared = await admin.machines.update.mutate({ machineId: "m-00001", displayName: null });
    expect(cleared).toMatchObject({ displayName: null, name: "host-1", labels: ["floor-1", "lobby"] });
    const audit = await server.client(org.adminKey).orgs.audit.query({ action: "machines.update", limit: 5 });
    expect(audit.items[0]).toMatchObject({ action: "machines.update", target: "m-00001" });
    expect(audit.items[0]!.actor).toMatch(/^key:/);
  });

  it("refuses bad labels and names (naming the field), viewers, and unknown machines", async () => {
    let err = await failure(admin.machines.update.mutate({ machineId: "m-00002", labels: ["has space"] }));
    expect(err.data?.code).toBe("BAD_REQUEST");
    expect(err.message).toMatch(/^labels\.0:/);
    err = await failure(
      admin.machines.update.mutate({ machineId: "m-00002", labels: Array.from({ length: 21 }, (_, i) => `l${i}`) }),
    );
    expect(err.message).toMatch(/^labels:.*20/);
    err = await failure(admin.machines.update.mutate({ machineId: "m-00002", displayName: "x".repeat(101) }));
    expect(err.message).toMatch(/^displayName:/);
    expect(await errorCode(viewer.machines.update.mutate({ machineId: "m-00002", labels: ["a"] }))).toBe("FORBIDDEN");
    expect(await errorCode(admin.machines.update.mutate({ machineId: "nope", labels: ["a"] }))).toBe("NOT_FOUND");
    expect((await admin.fleet.machine.query({ machineId: "m-00002" })).machine.labels).toEqual(
      seeded("m-00002").labels,
    );
  });
});

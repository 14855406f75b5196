// Health bands, scores and reasons (server/services/health.ts): a busy machine is never "good", a
// spike is not an alarm, a sustained load is, and every band below good says why.
import { describe, expect, it } from "vitest";
import { healthBand, machineLabel } from "../../server/contract/index.ts";
import { assessHealth, HealthWindow, onlineUntilOf } from "../../server/services/health.ts";

const calm = { cpuPercent: 10, memoryPercent: 20, diskPercent: 30 };

describe("assessHealth", () => {
  it("a calm machine is good with no reasons and a full score", () => {
    expect(assessHealth([calm])).toEqual({ health: "good", score: 100, reasons: [] });
  });

  it("98 % CPU is never good: degraded for one report, critical over three", () => {
    const busy = { ...calm, cpuPercent: 98 };
    expect(assessHealth([busy])).toMatchObject({ health: "degraded", reasons: ["CPU 98 % in the latest report"] });
    expect(assessHealth([busy, busy])).toMatchObject({
      health: "degraded",
      reasons: ["CPU 98 % in the latest report"],
    });
    const three = assessHealth([busy, busy, busy]);
    expect(three).toMatchObject({ health: "critical", reasons: ["CPU 98 % over the last 3 reports"] });
    expect(three.score).toBeLessThan(40);
  });

  it("a sustained 88 % CPU is degraded; a dip in the window makes it a spike again", () => {
    const high = { ...calm, cpuPercent: 88 };
    expect(assessHealth([high, high, high])).toMatchObject({
      health: "degraded",
      reasons: ["CPU 88 % over the last 3 reports"],
    });
    expect(assessHealth([high, calm, high])).toMatchObject({
      health: "degraded",
      reasons: ["CPU 88 % in the latest report"],
    });
  });

  it("a full disk is critical at once; memory pressure is named", () => {
    expect(assessHealth([{ ...calm, diskPercent: 97 }])).toMatchObject({
      health: "critical",
      reasons: ["Disk 97 % full"],
    });
    const mem = { ...calm, memoryPercent: 96 };
    expect(assessHealth([mem, mem, mem])).toMatchObject({
      health: "critical",
      reasons: ["Memory 96 % over the last 3 reports"],
    });
  });

  it("moderate figures that add up are degraded, with the figures named", () => {
    const r = assessHealth([{ cpuPercent: 84, memoryPercent: 89, diskPercent: 89 }]);
    expect(r.health).toBe("degraded");
    expect(r.reasons).toEqual(["High load together: CPU 84 %, memory 89 %, disk 89 %"]);
  });

  it("the score always lies inside its band, so sorting by score sorts by band", () => {
    for (let cpu = 0; cpu <= 100; cpu += 7)
      for (let mem = 0; mem <= 100; mem += 9)
        for (let disk = 0; disk <= 100; disk += 11) {
          const f = { cpuPercent: cpu, memoryPercent: mem, diskPercent: disk };
          const h = assessHealth([f, f, f]);
          expect(healthBand(h.score)).toBe(h.health);
          if (h.health !== "good") expect(h.reasons.length).toBeGreaterThan(0);
        }
  });
});

describe("HealthWindow", () => {
  it("remembers the last three reports per machine", () => {
    const w = new HealthWindow();
    const busy = { ...calm, cpuPercent: 97 };
    expect(w.observe("a", busy).health).toBe("degraded");
    expect(w.observe("b", calm).health).toBe("good");
    expect(w.observe("a", busy).health).toBe("degraded");
    expect(w.observe("a", busy)).toMatchObject({ health: "critical", reasons: ["CPU 97 % over the last 3 reports"] });
    // One calm report breaks the streak.
    expect(w.observe("a", calm).health).toBe("good");
  });
});

describe("online and names", () => {
  it("onlineUntil is three report intervals after the last contact", () => {
    const seen = new Date("2026-01-01T00:00:00Z");
    expect(onlineUntilOf(seen, 10).toISOString()).toBe("2026-01-01T00:00:30.000Z");
  });

  it("a machine is named 'display name (or hostname) · machine id'", () => {
    expect(machineLabel({ machineId: "m-1", hostname: "vm", displayName: null })).toBe("vm · m-1");
    expect(machineLabel({ machineId: "m-1", hostname: "vm", displayName: "Reception PC" })).toBe("Reception PC · m-1");
  });
});

// The fleet's pure rules: the health score and the online window.
import { describe, expect, it } from "vitest";
import { healthBand } from "../../server/contract/index.ts";
import { healthScore, isOnline } from "../../server/services/fleet.ts";
import { mayManageKey } from "../../server/services/keys.ts";

const calm = { cpuPercent: 10, memoryPercent: 40, diskPercent: 50 };

describe("healthScore", () => {
  it("is 100 for an online machine under every threshold", () => {
    expect(healthScore(true, calm)).toBe(100);
    expect(healthScore(true, { cpuPercent: 70, memoryPercent: 75, diskPercent: 80 })).toBe(100);
  });

  it("takes up to 30 points for CPU, 30 for memory and 40 for disk at 100 %", () => {
    expect(healthScore(true, { ...calm, cpuPercent: 100 })).toBe(70);
    expect(healthScore(true, { ...calm, cpuPercent: 85 })).toBe(85);
    expect(healthScore(true, { ...calm, memoryPercent: 100 })).toBe(70);
    expect(healthScore(true, { ...calm, diskPercent: 100 })).toBe(60);
    expect(healthScore(true, { ...calm, diskPercent: 90 })).toBe(80);
    expect(healthScore(true, { cpuPercent: 100, memoryPercent: 100, diskPercent: 100 })).toBe(0);
  });

  it("never rises when a figure gets worse", () => {
    for (const field of ["cpuPercent", "memoryPercent", "diskPercent"] as const) {
      let prev = 101;
      for (let v = 0; v <= 100; v += 5) {
        const s = healthScore(true, { ...calm, [field]: v });
        expect(s).toBeLessThanOrEqual(prev);
        expect(s).toBeGreaterThanOrEqual(0);
        prev = s;
      }
    }
  });

  it("an offline machine is at best 'bad'", () => {
    expect(healthScore(false, calm)).toBe(30);
    expect(healthBand(healthScore(false, calm))).toBe("bad");
    expect(healthScore(false, { cpuPercent: 100, memoryPercent: 100, diskPercent: 100 })).toBe(0);
  });

  it("without metrics: unknown (50, warn) online, 0 offline", () => {
    expect(healthScore(true, null)).toBe(50);
    expect(healthBand(healthScore(true, null))).toBe("warn");
    expect(healthScore(false, null)).toBe(0);
  });
});

describe("isOnline", () => {
  const seen = new Date(Date.UTC(2026, 0, 1, 12, 0, 0));
  it("is true up to three report intervals after the last contact, false after", () => {
    expect(isOnline(seen, 10, new Date(seen.getTime()))).toBe(true);
    expect(isOnline(seen, 10, new Date(seen.getTime() + 30_000))).toBe(true);
    expect(isOnline(seen, 10, new Date(seen.getTime() + 30_001))).toBe(false);
    expect(isOnline(seen, 60, new Date(seen.getTime() + 150_000))).toBe(true);
  });
});

describe("mayManageKey", () => {
  it("owners any key; admins agent-only keys; viewers none", () => {
    expect(mayManageKey("owner", ["admin"])).toBe(true);
    expect(mayManageKey("owner", ["admin", "agent"])).toBe(true);
    expect(mayManageKey("admin", ["agent"])).toBe(true);
    expect(mayManageKey("admin", ["admin"])).toBe(false);
    expect(mayManageKey("admin", ["agent", "admin"])).toBe(false);
    expect(mayManageKey("admin", [])).toBe(false);
    expect(mayManageKey("viewer", ["agent"])).toBe(false);
  });
});

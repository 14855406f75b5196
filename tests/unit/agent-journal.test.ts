// The action journal: durable atomic writes, reload after a crash, leftovers of an interrupted write,
// corrupted entries set aside, and safe file names whatever the id.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Journal } from "../../tray-agent/src/core/journal.ts";
import { tempDataDir } from "../helpers/agent.ts";

const ID = "11111111-1111-4111-8111-111111111111";

describe("action journal", () => {
  it("survives a reload with every field, state by state", () => {
    const dir = tempDataDir();
    const j = new Journal(dir);
    j.load();
    j.put({
      actionId: ID,
      claimToken: "tok",
      type: "reboot",
      data: { countdownSeconds: 60, maxPostpones: 3 },
      state: "received",
    });
    j.update(ID, { state: "rebooting", outcome: { userChoice: "accepted", postponements: 1 } });
    const again = new Journal(dir).load();
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({
      v: 1,
      actionId: ID,
      claimToken: "tok",
      type: "reboot",
      state: "rebooting",
      outcome: { userChoice: "accepted", postponements: 1 },
    });
    expect(again[0]!.receivedAt).toBe(j.get(ID)!.receivedAt);
  });

  it("removes temporary files of an interrupted write and sets corrupted entries aside", () => {
    const dir = tempDataDir();
    const j = new Journal(dir);
    j.load();
    j.put({
      actionId: ID,
      claimToken: "tok",
      type: "message",
      data: {},
      state: "result",
      result: { status: "done", result: "ok" },
    });
    fs.writeFileSync(path.join(j.dir, ".x.json.123.tmp"), "{half");
    fs.writeFileSync(path.join(j.dir, "broken.json"), "{half");
    const entries = new Journal(dir).load();
    expect(entries.map((e) => e.actionId)).toEqual([ID]);
    expect(fs.readdirSync(j.dir).sort()).toEqual([`${ID}.json`, "broken.json.corrupt"]);
  });

  it("keeps file names safe whatever the action id", () => {
    const dir = tempDataDir();
    const j = new Journal(dir);
    j.load();
    j.put({ actionId: "../../evil", claimToken: "t", type: "message", data: {}, state: "received" });
    expect(fs.readdirSync(j.dir)).toEqual(["______evil.json"]);
    j.remove("../../evil");
    expect(fs.readdirSync(j.dir)).toEqual([]);
  });

  it("prunes reported entries after a week, keeps the rest", () => {
    const dir = tempDataDir();
    let now = new Date("2026-01-01T00:00:00Z");
    const j = new Journal(dir, () => now);
    j.load();
    j.put({
      actionId: ID,
      claimToken: "t",
      type: "message",
      data: {},
      state: "reported",
      result: { status: "done", result: "ok" },
    });
    j.put({
      actionId: "other",
      claimToken: "t",
      type: "message",
      data: {},
      state: "result",
      result: { status: "done", result: "ok" },
    });
    now = new Date("2026-01-09T00:00:00Z");
    expect(new Journal(dir, () => now).load().map((e) => e.actionId)).toEqual(["other"]);
  });
});

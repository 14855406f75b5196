// Organisation settings over the real server (issue 11): owners set the reboot policy's defaults and
// the branding; every queue path (actions.queue, queueBulk, bulk.create, REST) stores the org defaults
// merged under the admin's own fields, validated once, with errors naming the field; the agent gets
// the branding in the contract's shape; a logo that is not PNG/JPEG/WebP or is over 64 KB is refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Branding } from "../../server/contract/index.ts";
import { enroll, errorCode, failure, type TRPCClient } from "../helpers/server.ts";
import { startWithRoles, type RolesFixture } from "../helpers/session.ts";

let f: RolesFixture;
let agent: TRPCClient;
const MACHINES = ["s-1", "s-2"];

/** A 1×1 PNG. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);
/** The RIFF/WEBP header of a WebP file (the magic bytes are what is checked). */
const WEBP = Buffer.concat([
  Buffer.from("RIFF"),
  Buffer.from([0x1a, 0, 0, 0]),
  Buffer.from("WEBPVP8L"),
  Buffer.alloc(14),
]);

const dataOf = async (id: string) => (await f.admin.actions.get.query({ id })).data;

beforeAll(async () => {
  f = await startWithRoles("Settings Org", "settings.test");
  for (const m of MACHINES) {
    const token = await enroll(f.server, f.org.agentKey, m);
    if (m === "s-1") agent = f.server.client(token);
  }
});
afterAll(() => f.server.stop());

describe("reboot policy defaults", () => {
  it("starts with none; owners set them, admins and viewers read but may not change them", async () => {
    expect((await f.viewer.settings.get.query()).rebootPolicy).toBeNull();
    const policy = {
      countdownSeconds: 300,
      snoozeOptions: [600, 3600, 14400],
      maxSnoozes: 3,
      deadlineSeconds: 8 * 3600,
      finalCountdownSeconds: 900,
      quietHours: { start: "22:00", end: "06:00" },
      noUserAction: "reboot-in-window" as const,
    };
    const saved = await f.owner.settings.update.mutate({ rebootPolicy: policy });
    expect(saved.rebootPolicy).toEqual(policy);
    expect((await f.admin.settings.get.query()).rebootPolicy).toEqual(policy);
    expect(await errorCode(f.admin.settings.update.mutate({ rebootPolicy: null }))).toBe("FORBIDDEN");
    expect(await errorCode(f.server.client(f.org.adminKey).settings.update.mutate({ rebootPolicy: null }))).toBe(
      "FORBIDDEN",
    );
    const audit = await f.owner.orgs.audit.query({ action: "orgs.settings" });
    expect(audit.items).toHaveLength(1);
  });

  it("refuses bad defaults with BAD_REQUEST naming the field, and keeps the stored ones", async () => {
    const before = (await f.owner.settings.get.query()).rebootPolicy;
    const range = await failure(f.owner.settings.update.mutate({ rebootPolicy: { countdownSeconds: 5 } }));
    expect(range.data?.code).toBe("BAD_REQUEST");
    expect(range.message).toContain("rebootPolicy.countdownSeconds");
    // A cross-field rule (the window needs quiet hours) is checked too, and named.
    const rule = await failure(f.owner.settings.update.mutate({ rebootPolicy: { waitForQuietHours: true } }));
    expect(rule.data?.code).toBe("BAD_REQUEST");
    expect(rule.message).toContain("rebootPolicy.quietHours");
    // An update naming nothing to change is refused, not a silent success.
    const empty = await failure(f.owner.settings.update.mutate({}));
    expect(empty.data?.code).toBe("BAD_REQUEST");
    expect(empty.message).toContain("nothing to change");
    // An absolute deadline is per action, never an org default.
    expect(
      await errorCode(
        f.owner.settings.update.mutate({
          rebootPolicy: { deadlineAt: "2026-01-01T00:00:00Z" } as never,
        }),
      ),
    ).toBe("BAD_REQUEST");
    expect((await f.owner.settings.get.query()).rebootPolicy).toEqual(before);
  });

  it("merges the defaults under each queue path's own fields (queue, queueBulk, bulk.create, REST)", async () => {
    // Nothing given: the org's defaults, not the built-in 60 s / 3 postponements.
    const { id: plain } = await f.admin.actions.queue.mutate({ machineId: "s-1", type: "reboot", data: {} });
    expect(await dataOf(plain)).toEqual({
      countdownSeconds: 300,
      snoozeOptions: [600, 3600, 14400],
      maxSnoozes: 3,
      deadlineSeconds: 8 * 3600,
      finalCountdownSeconds: 900,
      quietHours: { start: "22:00", end: "06:00" },
      noUserAction: "reboot-in-window",
    });
    // Own fields win; the old maxPostpones replaces the default maxSnoozes; deadlineAt replaces deadlineSeconds.
    const { ids } = await f.admin.actions.queueBulk.mutate({
      machineIds: MACHINES,
      type: "reboot",
      data: { countdownSeconds: 120, maxPostpones: 1, deadlineAt: "2026-12-01T18:00:00Z" },
    });
    const merged = (await dataOf(ids[0]!)) as Record<string, unknown>;
    expect(merged).toMatchObject({ countdownSeconds: 120, maxPostpones: 1, deadlineAt: "2026-12-01T18:00:00Z" });
    expect(merged).not.toHaveProperty("maxSnoozes");
    expect(merged).not.toHaveProperty("deadlineSeconds");
    expect(merged.snoozeOptions).toEqual([600, 3600, 14400]);

    const bulk = await f.admin.bulk.create.mutate({
      target: { machineIds: MACHINES },
      type: "reboot",
      data: { finalCountdownSeconds: 60 },
    });
    const page = await f.admin.bulk.get.query({ bulkId: bulk.bulkId });
    expect(page.actions.items[0]!.data).toMatchObject({ countdownSeconds: 300, finalCountdownSeconds: 60 });

    // null clears a default for this action: no window (and nothing that needs one), no deadline.
    const { id: cleared } = await f.admin.actions.queue.mutate({
      machineId: "s-1",
      type: "reboot",
      data: { quietHours: null, deadlineSeconds: null },
    });
    expect(await dataOf(cleared)).toEqual({
      countdownSeconds: 300,
      snoozeOptions: [600, 3600, 14400],
      maxSnoozes: 3,
      finalCountdownSeconds: 900,
    });

    const res = await fetch(`${f.server.url}/api/actions/queue`, {
      method: "POST",
      headers: { authorization: `Bearer ${f.org.adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ machine_id: "s-2", action_type: "reboot", data: { maxSnoozes: 5 } }),
    });
    expect(res.status).toBe(201);
    const { action_id } = (await res.json()) as { action_id: string };
    expect(await dataOf(action_id)).toMatchObject({ countdownSeconds: 300, maxSnoozes: 5, deadlineSeconds: 28800 });
  });

  it("validates the merged policy once: a field that breaks a rule only with the defaults is named", async () => {
    // The org's defaults carry deadlineSeconds; the merged policy is fine. Without quiet hours in the
    // defaults, waitForQuietHours alone would be refused: check with an override that removes nothing.
    const bad = await failure(
      f.admin.actions.queue.mutate({
        machineId: "s-1",
        type: "reboot",
        data: { quietHours: { start: "25:00", end: "06:00" } },
      }),
    );
    expect(bad.data?.code).toBe("BAD_REQUEST");
    expect(bad.message).toContain("data.quietHours.start");
    await f.owner.settings.update.mutate({ rebootPolicy: { countdownSeconds: 90 } });
    const rule = await failure(
      f.admin.bulk.create.mutate({
        target: { machineIds: MACHINES },
        type: "reboot",
        data: { waitForQuietHours: true },
      }),
    );
    expect(rule.data?.code).toBe("BAD_REQUEST");
    expect(rule.message).toContain("data.quietHours");
    // Back to the built-in defaults: {} stores the original {countdownSeconds: 60, maxPostpones: 3}.
    await f.owner.settings.update.mutate({ rebootPolicy: null });
    const { id } = await f.admin.actions.queue.mutate({ machineId: "s-1", type: "reboot", data: {} });
    expect(await dataOf(id)).toEqual({ countdownSeconds: 60, maxPostpones: 3 });
  });
});

describe("branding", () => {
  it("delivers the org name when nothing is set, then the brand, support text and logo, in the contract's shape", async () => {
    expect(await agent.agent.branding.query()).toEqual({ orgName: "Settings Org" });
    await f.owner.settings.update.mutate({
      branding: { brandName: "Acme IT", supportText: "Call 555-0100", logoBase64: PNG.toString("base64") },
    });
    const b = await agent.agent.branding.query();
    expect(Branding.parse(b)).toEqual({
      orgName: "Acme IT",
      supportText: "Call 555-0100",
      logoDataUrl: `data:image/png;base64,${PNG.toString("base64")}`,
    });
    const s = await f.viewer.settings.get.query();
    expect(s.branding).toMatchObject({ brandName: "Acme IT", logoBytes: PNG.length });
    // Admin keys and sessions are not machines: the agent's query needs a machine token.
    expect(await errorCode(f.admin.agent.branding.query())).toBe("FORBIDDEN");
  });

  it("types the logo by its bytes (a WebP named nothing is a WebP) and removes it with null", async () => {
    const s = await f.owner.settings.update.mutate({ branding: { logoBase64: WEBP.toString("base64") } });
    expect(s.branding.logoDataUrl).toMatch(/^data:image\/webp;base64,/);
    expect((await agent.agent.branding.query()).logoDataUrl).toMatch(/^data:image\/webp;base64,/);
    const cleared = await f.owner.settings.update.mutate({ branding: { logoBase64: null } });
    expect(cleared.branding).toMatchObject({ logoDataUrl: null, logoBytes: null, brandName: "Acme IT" });
  });

  it("refuses an SVG, a GIF, text and a logo over 64 KB, naming the field and keeping the stored logo", async () => {
    await f.owner.settings.update.mutate({ branding: { logoBase64: PNG.toString("base64") } });
    const bad = [
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
      Buffer.from("GIF89a\x01\x00\x01\x00"),
      Buffer.from("hello"),
      Buffer.concat([PNG, Buffer.alloc(64 * 1024)]),
    ];
    for (const bytes of bad) {
      const e = await failure(f.owner.settings.update.mutate({ branding: { logoBase64: bytes.toString("base64") } }));
      expect(e.data?.code).toBe("BAD_REQUEST");
      expect(e.message).toContain("branding.logoBase64");
    }
    const notBase64 = await failure(f.owner.settings.update.mutate({ branding: { logoBase64: "<img src=x>" } }));
    expect(notBase64.data?.code).toBe("BAD_REQUEST");
    expect((await agent.agent.branding.query()).logoDataUrl).toBe(`data:image/png;base64,${PNG.toString("base64")}`);
    // A name with control characters is refused like every other text.
    expect(await errorCode(f.owner.settings.update.mutate({ branding: { brandName: "Acme\u0007" } }))).toBe(
      "BAD_REQUEST",
    );
  });
});

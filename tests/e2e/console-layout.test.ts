// The console's layout in a real Chromium against the real server (issue 11: "sized for 1366×768 and
// HiDPI"), in English and French: on every page (fleet with its filters, menus and selection, the
// Actions dialog, cards, machine, activity, action, bulk list and job, audit, settings, keys, users)
// nothing is cut or pushed out of the window — no sideways scroll of the page or of a table, no
// button, label, badge, select choice or placeholder cut (tests/helpers/layout.ts). The organization
// has a long name and is in legacy agent mode (its warning badge in the top bar, as the demo org), the
// worst case of the top bar in French. Checked at 1366×768, then at 1280×720 and 1920×1080 with
// deviceScaleFactor 2. Screenshots under tests/artifacts/console/<page>-<lang>-<size>.png.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, Page } from "playwright-core";
import { setLegacyAgents } from "../../server/services/orgs.ts";
import { buildDashboard, launchBrowser, screenshot, signInAs } from "../helpers/browser.ts";
import { dashboardCopy } from "../helpers/dashboard-copy.ts";
import { layoutProblems } from "../helpers/layout.ts";
import { enroll, startTestServer, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";

let server: TestServer;
let org: TestOrg;
let browser: Browser;
let rebootId = "";
let bulkId = "";

type Size = { name: string; width: number; height: number; scale: number };
const LAPTOP: Size = { name: "1366x768", width: 1366, height: 768, scale: 1 };
const HIDPI: Size[] = [
  { name: "1280x720@2x", width: 1280, height: 720, scale: 2 },
  { name: "1920x1080@2x", width: 1920, height: 1080, scale: 2 },
];

beforeAll(async () => {
  buildDashboard();
  server = await startTestServer({ env: { DASHFLEET_DASHBOARD_DIR: await dashboardCopy() } });
  org = await server.createOrg("Atelier Rivière de la Haute-Vallée");
  const { db, clock } = server.deps;
  await setLegacyAgents(db, clock, { orgId: org.orgId, actor: "test" }, true);
  const admin = server.client(org.adminKey);
  const agents: TRPCClient[] = [];
  for (const [id, host, disk] of [
    ["poste-01", "poste-nord-administration", 35],
    ["poste-02", "poste-sud", 97],
    ["poste-03", "poste-est", 50],
  ] as const) {
    const api = server.client(await enroll(server, org.agentKey, id, host));
    await api.agent.report.mutate({
      metrics: { cpuPercent: 21, memoryPercent: 48, diskPercent: disk, uptimeSeconds: 200_000 },
    });
    agents.push(api);
  }
  await admin.machines.update.mutate({ machineId: "poste-01", labels: ["web", "eu", "comptabilite"] });
  await admin.machines.update.mutate({ machineId: "poste-02", displayName: "Poste de la direction générale" });
  const claim = async (agent: TRPCClient) => {
    const [a] = (await agent.agent.pendingActions.query()).actions;
    await agent.agent.ack.mutate({ actionId: a!.id, claimToken: a!.claimToken });
    return a!;
  };
  // A reboot the user snoozed (the live line and its timeline), and an agent restart that failed.
  rebootId = (
    await admin.actions.queue.mutate({
      machineId: "poste-02",
      type: "reboot",
      data: { countdownSeconds: 300, snoozeOptions: [600, 3600], maxSnoozes: 3, deadlineSeconds: 14_400 },
    })
  ).id;
  const r = await claim(agents[1]!);
  const now = Date.now();
  const iso = (ms: number) => new Date(now + ms).toISOString();
  await agents[1]!.agent.progress.mutate({
    actionId: r.id,
    claimToken: r.claimToken,
    seq: 0,
    event: { kind: "shown", at: iso(0), deadlineAt: iso(14_400_000), snoozesLeft: 3 },
  });
  await agents[1]!.agent.progress.mutate({
    actionId: r.id,
    claimToken: r.claimToken,
    seq: 1,
    event: { kind: "snoozed", at: iso(0), until: iso(3_600_000), n: 1, max: 3 },
  });
  await admin.actions.queue.mutate({ machineId: "poste-03", type: "restart" });
  const f = await claim(agents[2]!);
  await agents[2]!.agent.reportResult.mutate({
    actionId: f.id,
    claimToken: f.claimToken,
    status: "error",
    result: "the user declined the restart",
  });
  bulkId = (
    await admin.bulk.create.mutate({
      target: { filter: { online: true, search: "poste" } },
      type: "message",
      data: { title: "Rappel", message: "Redémarrez ce soir." },
    })
  ).bulkId;
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Fonts loaded and two frames drawn: the layout the person sees, not one mid-update. */
async function settled(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await document.fonts.ready;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  });
}

/**
 * Walks every page in one language at one size; returns the layout problems found (each prefixed by
 * its page) and saves a screenshot of each page.
 */
async function walk(lang: "en" | "fr", size: Size): Promise<string[]> {
  const context = await browser.newContext({
    baseURL: server.url,
    viewport: { width: size.width, height: size.height },
    deviceScaleFactor: size.scale,
  });
  const page = await context.newPage();
  const found: string[] = [];
  try {
    await signInAs(page, org.ownerEmail, org.password);
    if (lang === "fr") {
      await page.getByRole("combobox", { name: "Language" }).selectOption("fr");
      await page.getByRole("combobox", { name: "Langue" }).waitFor();
    }
    // The legacy badge is polled once at start: wait for it, so the top bar is at its fullest.
    await page.locator("header.topbar details.legacy").waitFor();
    const check = async (name: string, ready: () => Promise<unknown>) => {
      await ready();
      await settled(page);
      for (const p of await layoutProblems(page)) found.push(`${name}: ${p}`);
      await screenshot(page, `console/${name}-${lang}-${size.name}`);
    };
    const go = (hash: string) => page.evaluate((h) => (location.hash = h), hash);
    const firstRow = () => page.locator("tbody tr").first().waitFor();

    await go("#/fleet");
    await check("fleet", firstRow);
    await go("#/fleet?labels=web&health=critical&online=false");
    await check("fleet-filtered", () => page.locator(".toolbar .chip, .chips .chip").first().waitFor());
    await go("#/fleet");
    await firstRow();
    const menus = page.locator(".toolbar details.menu > summary");
    await menus.nth(0).click();
    await check("fleet-views-menu", () => page.locator(".toolbar details.menu[open] .popover").waitFor());
    await menus.nth(0).click();
    await menus.nth(1).click();
    await check("fleet-columns-menu", () => page.locator(".toolbar details.menu[open] .popover").waitFor());
    await menus.nth(1).click();
    await page.locator("tbody input[type=checkbox]").first().check();
    await check("fleet-selection", () => page.locator(".selection.active").waitFor());
    await page.locator(".selection .button.primary").click();
    const dialog = page.getByRole("dialog");
    await check("actions-message", () => dialog.locator("#action-expires-at").waitFor());
    await dialog.locator("select").first().selectOption("reboot");
    await check("actions-reboot", () => dialog.locator(".button.danger, .button.primary").last().waitFor());
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    await page.locator(".selection .button.ghost").first().click();
    await go("#/fleet?view=cards");
    await check("fleet-cards", () => page.locator("article.card").first().waitFor());
    await go("#/machines/poste-02");
    await check("machine", () => page.locator(".panel.facts").waitFor());
    await go("#/activity");
    await check("activity", firstRow);
    await go(`#/actions/${rebootId}`);
    await check("action", () => page.locator(".timeline li.progress").nth(1).waitFor());
    await go("#/bulk");
    await check("bulk-list", firstRow);
    await go(`#/bulk/${bulkId}`);
    await check("bulk-job", firstRow);
    await go("#/audit");
    await check("audit", firstRow);
    await go("#/settings");
    await check("settings", () => page.locator("form").first().waitFor());
    await go("#/keys");
    await check("keys", firstRow);
    await go("#/users");
    await check("users", firstRow);
  } finally {
    await context.close();
  }
  return found;
}

describe("the console fits the window, in English and French", () => {
  for (const lang of ["en", "fr"] as const) {
    test(`${lang} at 1366×768: nothing cut, spilled or scrolling sideways on any page`, async () => {
      const found = await walk(lang, LAPTOP);
      expect(found, found.join("\n")).toEqual([]);
    }, 120_000);
  }

  test("HiDPI (deviceScaleFactor 2) at 1280×720 and 1920×1080, both languages: the same", async () => {
    const found: string[] = [];
    for (const size of HIDPI)
      for (const lang of ["en", "fr"] as const)
        for (const p of await walk(lang, size)) found.push(`${size.name} ${lang} ${p}`);
    expect(found, found.join("\n")).toEqual([]);
  }, 300_000);
});

// The console at fleet scale, in a real Chromium against the real server: 2,000 bulk-inserted machines
// (as the benches insert them) plus three real headless agents. The paged table (sorting, paging,
// keyboard), filters in the URL (reload, Back), a saved view, labels picked in the Actions dialog with
// their exact count, "select all N matching" → one bulk job whose page
// reaches done with the headless agents, a fleet-wide bulk cancelled, a display name and labels edited,
// the activity timeline and the audit log, the connection-lost banner and a malformed link. Screenshots
// under tests/artifacts/ at 1440×900 and 1366×768.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { fakeNotifySend, shown, spawnAgent, type AgentProcess } from "../helpers/agent-proc.ts";
import { dashboardCopy } from "../helpers/dashboard-copy.ts";
import {
  eventually,
  launchBrowser,
  openPage,
  screenshot,
  seedFleet,
  signInAs,
  type SeededFleet,
  type WatchedPage,
} from "../helpers/browser.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const SEEDED = 2_000;
const LIVE = ["e2e-live-1", "e2e-live-2", "e2e-live-3"];
const TOTAL = SEEDED + LIVE.length;

let server: TestServer;
let fleet: SeededFleet;
let browser: Browser;
let owner: WatchedPage;
let agentDir: string;
let shownFile: string;
const agents: AgentProcess[] = [];

const rows = (page: Page) => page.locator("table[aria-label='Machines'] tbody tr");
const fmt = (n: number) => n.toLocaleString("en-US");

beforeAll(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-e2e-scale-"));
  fleet = await seedFleet(path.join(dir, "fleet.db"), SEEDED);
  server = await startTestServer({
    dbFile: fleet.dbFile,
    env: { DASHFLEET_DASHBOARD_DIR: await dashboardCopy(), DASHFLEET_AGENT_PER_MINUTE: "100000" },
  });
  agentDir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-e2e-scale-agents-"));
  const notify = fakeNotifySend(agentDir);
  shownFile = notify.shownFile;
  for (const id of LIVE)
    agents.push(
      spawnAgent({
        server: server.url,
        token: fleet.agentKey,
        machineId: id,
        dataDir: path.join(agentDir, id),
        bin: notify.bin,
        extra: ["--labels", "e2e-live"],
      }),
    );
  browser = await launchBrowser();
  owner = await openPage(browser, server.url, { width: 1440, height: 900 });
  await signInAs(owner.page, fleet.ownerEmail, fleet.password);
}, 180_000); // its own dashboard build (28 s at load 19 here), a server, agents and Chromium: room past 120 s

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop(5000)));
  await browser?.close();
  await server?.stop();
  if (agentDir) fs.rmSync(agentDir, { recursive: true, force: true });
});

describe("the fleet console at 2,000+ machines", () => {
  test("the table shows one page of the fleet with the counters of all of it; sorting, paging and the keyboard work", async () => {
    const { page } = owner;
    await page.goto("/#/fleet");
    await rows(page).first().waitFor();
    await page.getByText(`1–50 of ${fmt(TOTAL)}`).waitFor({ timeout: 30_000 });
    expect(await rows(page).count()).toBe(50);
    // The counters (fleet.summary) are asked for after the first page of rows has come: wait for them.
    await expect
      .poll(() => page.getByRole("navigation", { name: "Main" }).getByText(fmt(TOTAL)).count(), { timeout: 15_000 })
      .toBe(1);
    // Machines are named "name · id"; never-reported machines are "No data", not critical.
    expect(await rows(page).first().locator("td.name").textContent()).toMatch(/^host-\d+ · sim-\d+$/);
    const counted = async () =>
      (await page.getByRole("definition").allTextContents())
        .map((c) => Number(c.replace(/\D/g, "")))
        .reduce((a, b) => a + b, 0);
    await expect.poll(counted, { timeout: 15_000 }).toBe(TOTAL);

    // Sort by CPU: highest first, and the order holds across the page.
    await page.getByRole("button", { name: /^CPU/ }).click();
    await eventually(async () => page.url().includes("sort=cpu"));
    await eventually(async () => {
      const v = (await page.locator("td[data-metric='cpu']").allTextContents()).map((t) => Number(t.replace("%", "")));
      return v.length === 50 && v.every((x, i) => i === 0 || x <= v[i - 1]!) && v[0]! >= 90;
    });
    expect(await page.getByRole("columnheader", { name: /CPU/ }).getAttribute("aria-sort")).toBe("descending");

    // Next page (by name, a stable order): the next 50, none of the first page's machines again.
    await page.getByRole("button", { name: /^Machine/ }).click();
    await eventually(async () => !page.url().includes("sort="));
    const ids = () => rows(page).evaluateAll((trs) => trs.map((t) => t.getAttribute("data-machine-id")));
    // The rows of the name order are on screen once the first row's CPU cell is no longer the highest.
    await eventually(async () => {
      const cpu = (await page.locator("td[data-metric='cpu']").allTextContents()).map(
        (t) => Number(t.replace("%", "")) || 0,
      );
      return cpu.some((x, i) => i > 0 && x > cpu[i - 1]!);
    });
    const firstIds = await ids();
    await page.getByRole("button", { name: "Next →" }).click();
    await page.getByText(`51–100 of ${fmt(TOTAL)}`).waitFor();
    await eventually(async () => (await ids())[0] !== firstIds[0]);
    const secondIds = await ids();
    expect(secondIds).toHaveLength(50);
    expect(secondIds.filter((id) => firstIds.includes(id))).toEqual([]);

    // Keyboard: ↓ moves between rows, Space picks the focused machine, Enter opens it.
    await rows(page).first().focus();
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    const focused = await page.evaluate(() => document.activeElement?.getAttribute("data-machine-id"));
    expect(focused).toBe(secondIds[2]);
    await page.keyboard.press(" ");
    await page.getByText("1 machine selected").waitFor();
    await page.getByRole("button", { name: "Clear selection" }).click();

    const nodes = await page.evaluate(() => document.getElementsByTagName("*").length);
    expect(nodes).toBeLessThan(5000);
    await page.getByRole("button", { name: "← Previous" }).click();
    await page.getByText(`1–50 of ${fmt(TOTAL)}`).waitFor();
    await screenshot(page, "fleet-table-1440");
    await page.setViewportSize({ width: 1366, height: 768 });
    await screenshot(page, "fleet-table-1366");
    await page.setViewportSize({ width: 1440, height: 900 });
    const fourth = rows(page).nth(3);
    const fourthId = await fourth.getAttribute("data-machine-id");
    await fourth.focus();
    await page.keyboard.press("Enter");
    await eventually(async () => page.url().endsWith(`#/machines/${fourthId}`));
  });

  test("filters and search live in the URL: they survive a reload, and Back undoes them", async () => {
    const { page } = owner;
    await page.goto("/#/fleet");
    await rows(page).first().waitFor();
    await page.getByRole("combobox", { name: "Health", exact: true }).selectOption("critical");
    await page.getByRole("combobox", { name: "Label", exact: true }).selectOption("web");
    await eventually(async () => page.url().includes("health=critical") && page.url().includes("labels=web"));
    await page.reload();
    await rows(page).first().waitFor();
    expect(await page.getByRole("combobox", { name: "Health", exact: true }).inputValue()).toBe("critical");
    await expect.poll(() => page.getByRole("button", { name: "Remove label web" }).count()).toBe(1);
    const bands = await page
      .locator("tbody [data-health]")
      .evaluateAll((els) => els.map((e) => e.getAttribute("data-health")));
    expect(bands.length).toBeGreaterThan(0);
    expect(new Set(bands)).toEqual(new Set(["critical"]));
    const filteredText = await page.locator(".pager .where").textContent();
    expect(Number(filteredText!.split(" of ")[1]!.replace(/\D/g, ""))).toBeLessThan(TOTAL / 4);

    // Typing a search replaces the URL entry (no entry per keystroke); Back undoes the label pick.
    await page.getByLabel("Search machines").fill("host-1");
    await eventually(async () => page.url().includes("search=host-1"));
    await page.goBack();
    await eventually(async () => !page.url().includes("labels=web") && page.url().includes("health=critical"));
    await eventually(async () => (await page.getByRole("button", { name: "Remove label web" }).count()) === 0);
  });

  test("a saved view brings its filters and columns back; picking labels in the Actions dialog counts the machines", async () => {
    const { page } = owner;
    // Only the hash changes (a same-document navigation): the old page's rows and columns are still on
    // screen until the router has read the new URL, so wait for the columns rather than read them once.
    await page.goto("/#/fleet?health=critical&labels=web&cols=name,health,cpu");
    await expect
      .poll(() => page.getByRole("columnheader").allTextContents())
      .toEqual(["", "Machine▲", "Health", "CPU"]);
    await rows(page).first().waitFor();
    await page.getByText("Views", { exact: true }).click();
    await page.getByLabel("View name").fill("Critical web");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByRole("status").getByText("View “Critical web” saved").waitFor();
    await page.goto("/#/fleet");
    await page.reload();
    await rows(page).first().waitFor();
    await page.getByText("Views", { exact: true }).click();
    await page.getByRole("button", { name: "Critical web", exact: true }).click();
    await eventually(async () => page.url().includes("health=critical") && page.url().includes("labels=web"));
    await eventually(async () => (await page.getByRole("columnheader").count()) === 4);

    await page.getByRole("button", { name: "Send to labels…" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("checkbox", { name: /^e2e-live/ }).check();
    await dialog.getByText(`This will reach exactly ${LIVE.length} machines`).waitFor();
    await dialog.getByRole("checkbox", { name: /^web/ }).check();
    await dialog.getByText("This will reach exactly 0 machines").waitFor();
    await expect.poll(() => dialog.getByRole("button", { name: /^Send message/ }).isDisabled()).toBe(true);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
  });

  test("select all machines matching a filter → one bulk job → its page reaches done with the headless agents", async () => {
    const { page } = owner;
    await page.goto("/#/fleet?search=e2e-live");
    await eventually(async () => (await rows(page).count()) === LIVE.length, 60_000);
    await page.getByRole("button", { name: `Select all ${LIVE.length} machines matching this filter` }).click();
    await page.getByRole("button", { name: `Send action to ${LIVE.length} machines` }).click();
    const dialog = page.getByRole("dialog", { name: `Actions · ${LIVE.length} machines` });
    await dialog.getByText(`This will reach exactly ${LIVE.length} machines`).waitFor();
    await dialog.getByText("matching “e2e-live”").waitFor();
    const text = `Bulk hello ${Date.now()}`;
    await dialog.getByLabel("Message", { exact: true }).fill(text);
    await dialog.getByRole("button", { name: `Send message to ${LIVE.length} machines` }).click();
    await eventually(async () => /#\/bulk\/[^/]+$/.test(page.url()), 30_000);
    await page.getByText(`${LIVE.length} of ${LIVE.length} finished`).waitFor({ timeout: 60_000 });
    await page.getByText("Complete").waitFor();
    expect(await page.locator("button.count[data-status='done'] .n").textContent()).toBe(String(LIVE.length));
    // The rows below the counters may still show an earlier status for a moment: wait for them.
    await expect.poll(() => page.locator("tbody [data-status='done']").count(), { timeout: 15_000 }).toBe(LIVE.length);
    expect(shown(shownFile).filter((argv) => argv.some((a) => a.includes(text))).length).toBe(LIVE.length);
    await screenshot(page, "bulk-job-1440");
    await page.setViewportSize({ width: 1366, height: 768 });
    await screenshot(page, "bulk-job-1366");
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  test("a bulk job to the whole fleet counts every machine before sending, and the rest can be cancelled", async () => {
    const { page } = owner;
    await page.goto("/#/fleet");
    await rows(page).first().waitFor();
    await page.getByRole("button", { name: `Select all ${fmt(TOTAL)} machines matching` }).click();
    await page.getByRole("button", { name: `Send action to ${fmt(TOTAL)} machines` }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByText(`This will reach exactly ${fmt(TOTAL)} machines`).waitFor();
    await dialog.getByLabel("Message", { exact: true }).fill("Maintenance tonight at 22:00");
    await dialog.getByRole("button", { name: `Send message to ${fmt(TOTAL)} machines` }).click();
    await eventually(async () => /#\/bulk\/[^/]+$/.test(page.url()), 30_000);
    await page.getByRole("heading", { name: `Message to ${fmt(TOTAL)} machines` }).waitFor();
    await page.getByRole("button", { name: /^Cancel the rest/ }).click();
    await page
      .getByRole("dialog", { name: "Cancel the rest of this job?" })
      .getByRole("button", { name: "Cancel the rest" })
      .click();
    await eventually(async () => {
      const n = Number(
        (await page.locator("button.count[data-status='cancelled'] .n").textContent())!.replace(/\D/g, ""),
      );
      return n >= SEEDED;
    });
    await expect.poll(() => page.locator("button.count[data-status='pending'] .n").textContent()).toBe("0");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Bulk jobs" }).click();
    // The list loads after the page opens: wait for its rows (this job and the earlier one) before counting.
    await page.locator("tbody tr[data-bulk-id]").nth(1).waitFor();
    expect(await page.locator("tbody tr[data-bulk-id]").count()).toBeGreaterThanOrEqual(2);
  });

  test("a display name and labels are edited on the machine page and shown as “name · id” in the fleet", async () => {
    const { page } = owner;
    await page.goto("/#/machines/sim-5");
    await page.getByRole("heading", { name: "host-5 · sim-5" }).waitFor();
    await page.getByRole("button", { name: "Edit name and labels" }).click();
    await page.getByRole("textbox", { name: "Labels" }).fill("front-desk, Bad Label!");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText(/Contains characters that are not allowed|lowercase letters/).waitFor();
    await page.getByLabel("Display name").fill("Reception PC");
    await page.getByRole("textbox", { name: "Labels" }).fill("front-desk, EU");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("heading", { name: "Reception PC · sim-5" }).waitFor();
    await expect.poll(() => page.getByRole("textbox", { name: "Labels" }).count()).toBe(0);
    await expect.poll(() => page.getByRole("link", { name: "front-desk" }).count()).toBe(1);
    await expect.poll(() => page.getByRole("link", { name: "eu", exact: true }).count()).toBe(1);
    await page.getByRole("link", { name: "front-desk" }).click();
    await eventually(async () => (await rows(page).count()) === 1);
    expect(await rows(page).first().locator("td.name").textContent()).toBe("Reception PC · sim-5");
  });

  test("the activity page filters and pages the actions, and a row opens its timeline", async () => {
    const { page } = owner;
    await page.goto("/#/activity");
    await page.locator("tbody tr").first().waitFor();
    await page.getByLabel("Status").selectOption("done");
    await eventually(async () => {
      const s = await page
        .locator("tbody [data-status]")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-status")));
      return s.length >= LIVE.length && s.every((x) => x === "done");
    });
    await page.setViewportSize({ width: 1440, height: 900 });
    await screenshot(page, "activity-1440");
    await page.getByLabel("Status").selectOption("cancelled");
    await page.getByText("1–50").waitFor();
    await page.getByRole("button", { name: "Next →" }).click();
    await page.getByText("51–100").waitFor();
    await page.setViewportSize({ width: 1366, height: 768 });
    await page.evaluate(() => scrollTo(0, 0));
    await screenshot(page, "activity-1366");
    await page.setViewportSize({ width: 1440, height: 900 });

    // Pick a done action only once the table shows done actions alone (not page 2 of the cancelled ones).
    await page.getByLabel("Status").selectOption("done");
    await eventually(async () => {
      const s = await page
        .locator("tbody [data-status]")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-status")));
      return s.length >= LIVE.length && s.every((x) => x === "done");
    });
    await page.locator("tbody a.type").first().click();
    await eventually(async () => page.url().includes("#/actions/"));
    const timeline = page.getByRole("list", { name: "Timeline" });
    await timeline.getByText("Done").waitFor();
    expect(await timeline.locator("li").count()).toBeGreaterThanOrEqual(3);
    await screenshot(page, "action-timeline");
  });

  test("the audit log lists who did what, filtered by action", async () => {
    const { page } = owner;
    await page.goto("/#/audit");
    await page.locator("tbody tr").first().waitFor();
    await screenshot(page, "audit-1440");
    await page.setViewportSize({ width: 1366, height: 768 });
    await screenshot(page, "audit-1366");
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.getByLabel("What").selectOption("machines.update");
    await eventually(async () => page.url().includes("action=machines.update"));
    await eventually(async () => {
      const what = await page.locator("tbody tr td:nth-child(3)").allTextContents();
      return what.length >= 1 && what.every((w) => w === "Changed a machine's name or labels");
    });
  });

  test("when the server goes away, a banner says so and online states become unknown; it clears when the server is back", async () => {
    const { page } = owner;
    await page.goto("/#/fleet?search=e2e-live");
    await eventually(async () => (await page.locator("tbody [data-online='true']").count()) === LIVE.length, 30_000);
    // Every request to the API now fails as if the server were down (connection refused).
    await page.route("**/trpc/**", (route) => route.abort("connectionrefused"));
    const banner = page.getByRole("alert").filter({ hasText: "Connection lost — retrying" });
    await banner.waitFor({ timeout: 10_000 });
    await expect.poll(() => page.locator("tbody [data-online='true']").count()).toBe(0);
    await expect.poll(() => page.locator("tbody [data-online='unknown']").count()).toBe(LIVE.length);
    await screenshot(page, "connection-lost");
    await page.unroute("**/trpc/**");
    await banner.waitFor({ state: "detached", timeout: 10_000 });
    await eventually(async () => (await page.locator("tbody [data-online='true']").count()) === LIVE.length);
  });

  test("a malformed link shows the not-found page, with no page error", async () => {
    const { page } = owner;
    await page.goto("/#/machines/%E0%A4%A");
    await page.getByText("Page not found").waitFor();
    await page.goto("/#/no-such-page");
    await page.getByText("Page not found").waitFor();
    await page.getByRole("link", { name: "Go to the fleet" }).click();
    await rows(page).first().waitFor();
    // The aborted requests of the connection test are logged as failed loads; nothing else went wrong.
    expect(owner.problems.filter((p) => !/net::ERR_CONNECTION_REFUSED|Failed to load resource/.test(p))).toEqual([]);
  });
});

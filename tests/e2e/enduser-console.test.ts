// The admin's side of the end-user experience (issue 11) in a real Chromium against the real server:
// the owner's settings page (reboot defaults with inline validation, branding with a logo preview, a
// bad logo refused beside its field); the Actions dialog's policy editor (starts from the org's
// defaults, refuses bad values in words, says what the user will live) and message options; a reboot
// queued from the dashboard whose agent (the real tRPC client with the machine token and claim token)
// reports a snooze shows "waiting for the user — snoozed 1 of 3, next prompt …, deadline …" in the
// activity row, on the machine page and on the action page, live; a bulk reboot's page counts
// rebooted / snoozed / waiting / declined. Screenshots under tests/artifacts/.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser } from "playwright-core";
import type { ProgressEvent } from "../../server/contract/index.ts";
import { buildDashboard, launchBrowser, openPage, screenshot, signInAs, type WatchedPage } from "../helpers/browser.ts";
import { dashboardCopy } from "../helpers/dashboard-copy.ts";
import { enroll, startTestServer, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";

let server: TestServer;
let org: TestOrg;
let browser: Browser;
let owner: WatchedPage;
let admin: TRPCClient;
const agents = new Map<string, TRPCClient>();
const MACHINE = "pc-reboot-01";

/** A 1×1 PNG. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

/** A machine that enrolled and reported once, so the console lists it. */
async function machine(machineId: string, hostname: string): Promise<TRPCClient> {
  const api = server.client(await enroll(server, org.agentKey, machineId, hostname));
  await api.agent.report.mutate({
    metrics: { cpuPercent: 10, memoryPercent: 20, diskPercent: 30, uptimeSeconds: 600 },
  });
  agents.set(machineId, api);
  return api;
}

/** Claims and acknowledges the machine's newest action; returns a sender of its progress events. */
async function running(machineId: string) {
  const api = agents.get(machineId)!;
  const [a] = (await api.agent.pendingActions.query()).actions;
  await api.agent.ack.mutate({ actionId: a!.id, claimToken: a!.claimToken });
  let seq = 0;
  return {
    action: a!,
    send: (event: ProgressEvent) =>
      api.agent.progress.mutate({ actionId: a!.id, claimToken: a!.claimToken, seq: seq++, event }),
  };
}

/** "14:05" as the browser shows an ISO time (its own time zone). */
const browserClock = (iso: string) =>
  owner.page.evaluate((t) => new Date(t).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" }), iso);

beforeAll(async () => {
  buildDashboard(); // the components under test are new: serve the current sources
  server = await startTestServer({ env: { DASHFLEET_DASHBOARD_DIR: await dashboardCopy() } });
  org = await server.createOrg("Reboot Org");
  admin = server.client(org.adminKey);
  await machine(MACHINE, "reboot-desk");
  await machine("pc-bulk-01", "bulk-one");
  await machine("pc-bulk-02", "bulk-two");
  browser = await launchBrowser();
  owner = await openPage(browser, server.url, { width: 1366, height: 900 });
  await signInAs(owner.page, org.ownerEmail, org.password);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("the end-user experience, as the admin sets and sees it", () => {
  test("owners set the reboot defaults with inline validation, and branding with a logo preview; a bad logo is refused", async () => {
    const { page } = owner;
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
    const form = page.locator("#policy-form");
    await form.waitFor();
    await form.getByLabel("First countdown: unit").selectOption("60");
    await form.getByLabel("First countdown", { exact: true }).fill("5");
    await form.getByLabel("Snoozes allowed").fill("50");
    await form.getByRole("button", { name: "Save reboot defaults" }).click();
    // In words, beside the field; nothing saved.
    await form.getByText("Must be at most 20").waitFor();
    expect(await form.getByLabel("Snoozes allowed").getAttribute("aria-invalid")).toBe("true");
    expect((await admin.settings.get.query()).rebootPolicy).toBeNull();

    await form.getByLabel("Snoozes allowed").fill("3");
    for (const choice of ["10 min", "1 h", "4 h"]) await form.getByLabel(choice, { exact: true }).check();
    await form.getByLabel("Deadline", { exact: true }).selectOption("after");
    await form.getByLabel("Deadline after delivery: unit").selectOption("3600");
    await form.getByLabel("Deadline after delivery", { exact: true }).fill("8");
    await form.getByLabel("Final countdown: unit").selectOption("60");
    await form.getByLabel("Final countdown", { exact: true }).fill("15");
    await form.getByLabel("Maintenance window").check();
    const words = form.getByTestId("policy-words");
    await words.getByText("The user sees a 5 min countdown, with “Restart now”.").waitFor();
    expect(await words.textContent()).toContain("They may snooze up to 3 times, for 10 min, 1 h or 4 h.");
    expect(await words.textContent()).toContain(
      "8 h after it reaches the machine, a final 15 min countdown starts that cannot be snoozed or closed.",
    );
    await form.getByRole("button", { name: "Save reboot defaults" }).click();
    await page.getByText("Reboot defaults saved").waitFor();
    expect((await admin.settings.get.query()).rebootPolicy).toEqual({
      countdownSeconds: 300,
      maxSnoozes: 3,
      snoozeOptions: [600, 3600, 14400],
      deadlineSeconds: 28800,
      finalCountdownSeconds: 900,
      quietHours: { start: "22:00", end: "06:00" },
    });

    // Branding: a text file named .png passes the browser's type check and is refused by its bytes.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-logo-"));
    fs.writeFileSync(path.join(dir, "fake.png"), "<svg xmlns='http://www.w3.org/2000/svg'></svg>");
    fs.writeFileSync(path.join(dir, "logo.png"), PNG);
    const brand = page.locator("#branding-form");
    await brand.getByLabel("Name shown to users").fill("Acme IT");
    await brand.getByLabel("Support text").fill("Questions? Call the help desk on 555-0100.");
    await brand.getByLabel(/^Logo/).setInputFiles(path.join(dir, "fake.png"));
    await brand.getByRole("button", { name: "Save branding" }).click();
    await brand.getByText("The logo must be a PNG, JPEG or WebP image").waitFor();
    expect((await admin.settings.get.query()).branding.brandName).toBeNull();

    await brand.getByLabel(/^Logo/).setInputFiles(path.join(dir, "logo.png"));
    await brand.getByTestId("logo-preview").waitFor();
    await brand.getByRole("button", { name: "Save branding" }).click();
    await page.getByText("Branding saved").waitFor();
    const branding = await agents.get(MACHINE)!.agent.branding.query();
    expect(branding).toEqual({
      orgName: "Acme IT",
      supportText: "Questions? Call the help desk on 555-0100.",
      logoDataUrl: `data:image/png;base64,${PNG.toString("base64")}`,
    });
    await brand.scrollIntoViewIfNeeded();
    await screenshot(page, "enduser-settings");
    // In French, the preview speaks the agent's own French (its catalogue), with the brand name.
    await page.getByRole("combobox", { name: "Language" }).selectOption("fr");
    await page.getByRole("heading", { name: "Paramètres" }).waitFor();
    const preview = page.getByRole("figure", { name: "Aperçu de la fenêtre de l'agent" });
    await preview.getByText("Acme IT doit redémarrer cet ordinateur", { exact: false }).waitFor();
    await screenshot(page, "enduser-settings-french");
    await page.getByRole("combobox", { name: "Langue" }).selectOption("en");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the Actions dialog starts from the defaults, refuses bad values in words, and sends the policy and message options", async () => {
    const { page } = owner;
    await page.goto(`/#/machines/${MACHINE}`);
    await page.getByRole("button", { name: "Actions" }).click();
    const dialog = page.getByRole("dialog", { name: `Actions · reboot-desk · ${MACHINE}` });

    // Message options: a dialog that waits for "I have read this", critical, in words.
    await dialog.getByLabel("Show as").selectOption("dialog");
    await dialog.getByLabel("Urgency").selectOption("critical");
    await dialog.getByLabel(/Ask the user to confirm/).check();
    await dialog
      .getByTestId("message-words")
      .getByText(/a window that stays until the user clicks “I have read this”.*marked critical/)
      .waitFor();
    await dialog.getByLabel("Message", { exact: true }).fill("Patch night: save your work.");
    await dialog.getByRole("button", { name: "Send message" }).click();
    await page
      .getByRole("status")
      .getByText(/Message sent/)
      .waitFor();
    const sent = await running(MACHINE);
    expect(sent.action.data).toMatchObject({ display: "dialog", urgency: "critical", requireAcknowledgement: true });
    await sent.send({ kind: "acknowledged", at: new Date().toISOString() });

    // The reboot policy: the org's defaults already in the form.
    await page.getByRole("button", { name: "Actions" }).click();
    await dialog.getByLabel("Action", { exact: true }).selectOption("reboot");
    const words = dialog.getByTestId("policy-words");
    await words.getByText("The user sees a 5 min countdown, with “Restart now”.").waitFor();
    expect(await dialog.getByLabel("Snoozes allowed").inputValue()).toBe("3");

    // Bad values: in words, beside their fields; nothing sent.
    await dialog.getByLabel("First countdown: unit").selectOption("1");
    await dialog.getByLabel("First countdown", { exact: true }).fill("5");
    await dialog.getByLabel("Prompt only inside the window").check();
    await dialog.getByLabel("Maintenance window").uncheck();
    await dialog.getByLabel("Prompt only inside the window").waitFor({ state: "detached" });
    await dialog.getByRole("button", { name: "Reboot machine" }).click();
    await dialog.getByText("Must be at least 10").waitFor();
    expect(await dialog.getByLabel("First countdown", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    await screenshot(page, "enduser-actions-dialog-invalid");
    expect((await admin.actions.list.query({ machineId: MACHINE, type: "reboot" })).items).toHaveLength(0);

    await dialog.getByLabel("First countdown: unit").selectOption("60");
    await dialog.getByLabel("First countdown", { exact: true }).fill("2");
    await dialog.getByText("Must be at least 10").waitFor({ state: "detached" });
    await dialog.getByLabel("Snoozes allowed").fill("3");
    await words.getByText("The user sees a 2 min countdown, with “Restart now”.").waitFor();
    await screenshot(page, "enduser-actions-dialog-reboot");
    await dialog.getByRole("button", { name: "Reboot machine" }).click();
    await dialog.waitFor({ state: "detached" });

    // The agent shows the prompt, the user snoozes (1 of 3): the live line everywhere.
    const r = await running(MACHINE);
    expect(r.action.data).toEqual({
      countdownSeconds: 120,
      maxSnoozes: 3,
      snoozeOptions: [600, 3600, 14400],
      deadlineSeconds: 28800,
      finalCountdownSeconds: 900,
    });
    const now = Date.now();
    const deadline = new Date(now + 8 * 3600_000).toISOString();
    const next = new Date(now + 3600_000).toISOString();
    await r.send({ kind: "shown", at: new Date(now).toISOString(), deadlineAt: deadline, snoozesLeft: 3 });
    await r.send({ kind: "snoozed", at: new Date(now).toISOString(), until: next, n: 1, max: 3 });
    const line = `waiting for the user — snoozed 1 of 3, next prompt ${await browserClock(next)}, deadline ${await browserClock(deadline)}`;

    // The machine page's history, live (no reload).
    const machineRow = page.locator(`tr[data-action-id="${r.action.id}"]`);
    await machineRow.getByTestId("live-progress").getByText(line, { exact: true }).waitFor({ timeout: 20_000 });
    await screenshot(page, "enduser-machine-snoozed");

    await page.goto("/#/activity");
    const activityRow = page.locator(`tr[data-action-id="${r.action.id}"]`);
    await activityRow.getByTestId("live-progress").getByText(line, { exact: true }).waitFor({ timeout: 20_000 });
    await screenshot(page, "enduser-activity-snoozed");

    await page.goto(`/#/actions/${r.action.id}`);
    await page.getByTestId("live-progress").getByText(line, { exact: true }).waitFor({ timeout: 20_000 });
    await page
      .getByRole("list", { name: "Timeline" })
      .getByText(/Postponed by the user until \d\d:\d\d \(1 of 3\)/)
      .waitFor();
    // The next decision replaces the line, live: the prompt is back with 2 snoozes left.
    await r.send({ kind: "shown", at: next, deadlineAt: deadline, snoozesLeft: 2 });
    await page
      .getByTestId("live-progress")
      .getByText(`waiting for the user — prompt on screen, 2 snoozes left, deadline ${await browserClock(deadline)}`)
      .waitFor({ timeout: 20_000 });
    await screenshot(page, "enduser-action-timeline");

    // The same in French, switched from the top bar (the choice survives a reload).
    await r.send({ kind: "snoozed", at: next, until: next, n: 2, max: 3 });
    await page.getByRole("combobox", { name: "Language" }).selectOption("fr");
    const french = `en attente de l'utilisateur — reporté 2 sur 3, prochain rappel ${await browserClock(next)}, échéance ${await browserClock(deadline)}`;
    await page.getByTestId("live-progress").getByText(french, { exact: true }).waitFor({ timeout: 20_000 });
    await page.reload();
    await page.getByTestId("live-progress").getByText(french, { exact: true }).waitFor({ timeout: 20_000 });
    expect(await page.evaluate(() => document.documentElement.lang)).toBe("fr");
    await screenshot(page, "enduser-action-french");

    // The policy editor in French: its labels and the policy in words (with the agent's "Redémarrer maintenant").
    await page.goto(`/#/machines/${MACHINE}`);
    await page.getByRole("button", { name: "Actions" }).click();
    await dialog.getByLabel("Action", { exact: true }).selectOption("reboot");
    await dialog
      .getByTestId("policy-words")
      .getByText("L'utilisateur voit un compte à rebours de 5 min, avec «\u00a0Redémarrer maintenant\u00a0».")
      .waitFor();
    expect(await dialog.getByLabel("Reports permis").inputValue()).toBe("3");
    await dialog.getByLabel("Premier compte à rebours : unité").waitFor();
    await screenshot(page, "enduser-actions-dialog-french");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    await page.getByRole("combobox", { name: "Langue" }).selectOption("en");
    await page.getByRole("combobox", { name: "Language" }).waitFor();
    expect(owner.problems).toEqual([]);
  });

  test("a bulk reboot's page counts rebooted, snoozed, waiting and declined", async () => {
    const { page } = owner;
    const { bulkId } = await admin.bulk.create.mutate({
      target: { machineIds: ["pc-bulk-01", "pc-bulk-02"] },
      type: "reboot",
      data: {},
    });
    const one = await running("pc-bulk-01");
    const two = await running("pc-bulk-02");
    const at = new Date().toISOString();
    await one.send({ kind: "snoozed", at, until: new Date(Date.now() + 600_000).toISOString(), n: 1, max: 3 });
    await two.send({ kind: "shown", at, snoozesLeft: 3 });
    await page.goto(`/#/bulk/${bulkId}`);
    const decisions = page.getByRole("list", { name: "What the users decided" });
    const n = (key: string) => decisions.locator(`[data-decision="${key}"] .n`);
    await expect.poll(() => n("snoozed").textContent(), { timeout: 20_000 }).toBe("1");
    expect(await n("waiting").textContent()).toBe("1");
    await two.send({ kind: "restarting", at, choice: "restart-now" });
    await two.send({
      kind: "came-back",
      at: new Date(Date.now() + 60_000).toISOString(),
      bootedAt: new Date(Date.now() + 30_000).toISOString(),
    });
    await expect.poll(() => n("rebooted").textContent(), { timeout: 20_000 }).toBe("1");
    expect(await n("waiting").textContent()).toBe("0");
    await page.locator(`tr[data-action-id="${one.action.id}"]`).getByTestId("live-progress").waitFor();
    await screenshot(page, "enduser-bulk-decisions");
    expect(owner.problems).toEqual([]);
  });
});

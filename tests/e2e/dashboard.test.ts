// End-to-end tests of the console in a real Chromium against the real server (temporary database):
// sign-in, the fleet view with the headless agent's metrics, the Actions dialog and a message round trip
// to that agent with live status, the reboot warning, bulk actions, the viewer role, and text-only
// rendering. The headless agent (`npm run agent`) runs as a child process with a fake notify-send on
// PATH that records what it was asked to show; a few extra machines are simulated over the agent API
// so their steps (claim, ack, result) can be timed by the test.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, Page } from "playwright-core";
import {
  buildDashboard,
  eventually,
  launchBrowser,
  openPage,
  screenshot,
  signInAs,
  type WatchedPage,
} from "../helpers/browser.ts";
import { fakeNotifySend, shown } from "../helpers/agent-proc.ts";
import { spawnTsx } from "../helpers/child.ts";
import {
  enroll,
  PASSWORD,
  startTestServer,
  type TestOrg,
  type TestServer,
  type TRPCClient,
} from "../helpers/server.ts";

/** The real headless agent as a child process; `shown()` lists the notify-send calls it made. */
function startHeadlessAgent(serverUrl: string, agentKey: string, machineId: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-e2e-agent-"));
  const { bin, shownFile } = fakeNotifySend(dir);
  const agent = spawnTsx(
    "tray-agent/src/headless.ts",
    [
      "--server",
      serverUrl,
      "--token",
      agentKey,
      "--machine-id",
      machineId,
      "--interval",
      "1",
      "--poll-interval",
      "1",
      "--data-dir",
      path.join(dir, "data"),
    ],
    { pathFirst: bin },
  );
  return {
    output: agent.output,
    shown: () => shown(shownFile),
    async stop() {
      await agent.stop(5000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A stand-in agent speaking the agent API over HTTP, one step at a time. */
class SimulatedAgent {
  received: { id: string; type: string; data: unknown }[] = [];
  private constructor(private readonly api: TRPCClient) {}

  /** Claims pending actions (they become delivered) without running them. */
  async claim() {
    return (await this.api.agent.pendingActions.query()).actions;
  }
  async ack(a: { id: string; claimToken: string }) {
    await this.api.agent.ack.mutate({ actionId: a.id, claimToken: a.claimToken });
  }
  async finish(a: { id: string; claimToken: string }, result: string) {
    await this.api.agent.reportResult.mutate({ actionId: a.id, claimToken: a.claimToken, status: "done", result });
  }

  static async start(
    server: TestServer,
    agentKey: string,
    machineId: string,
    hostname: string,
    metrics = { cpu: 37, memory: 52, disk: 61 },
  ) {
    const token = await enroll(server, agentKey, machineId, hostname);
    const agent = new SimulatedAgent(server.client(token));
    await agent.report(metrics);
    return agent;
  }

  async report(m: { cpu: number; memory: number; disk: number }) {
    await this.api.agent.report.mutate({
      metrics: { cpuPercent: m.cpu, memoryPercent: m.memory, diskPercent: m.disk, uptimeSeconds: 7200 },
    });
  }

  /** One poll: claim, acknowledge and complete every pending action. Returns how many ran. */
  async runPending(result = "Shown to the user"): Promise<number> {
    const { actions } = await this.api.agent.pendingActions.query();
    for (const a of actions) {
      await this.api.agent.ack.mutate({ actionId: a.id, claimToken: a.claimToken });
      this.received.push({ id: a.id, type: a.type, data: a.data });
      await this.api.agent.reportResult.mutate({ actionId: a.id, claimToken: a.claimToken, status: "done", result });
    }
    return actions.length;
  }
}

/** A machine's card in the card view, named "name · machine id" like everywhere in the console. */
const card = (page: Page, hostname: string, machineId: string) =>
  page.getByRole("article", { name: `Machine ${hostname} · ${machineId}`, exact: true });
/** The fleet page in card view (the table is the default; cards stay for small fleets). */
const CARDS = "/#/fleet?view=cards";

let server: TestServer;
let org: TestOrg;
let browser: Browser;
let owner: WatchedPage;
let agent: SimulatedAgent;
let headless: ReturnType<typeof startHeadlessAgent>;
const HEADLESS_ID = "e2e-headless-01";
const viewerEmail = `viewer-${Date.now()}@example.test`;

beforeAll(async () => {
  const dist = buildDashboard();
  server = await startTestServer({ env: { DASHFLEET_DASHBOARD_DIR: dist, DASHFLEET_AGENT_PER_MINUTE: "100000" } });
  org = await server.createOrg("Acme IT");
  await server.addUser(org.orgId, viewerEmail, "viewer");
  headless = startHeadlessAgent(server.url, org.agentKey, HEADLESS_ID);
  agent = await SimulatedAgent.start(server, org.agentKey, "pc-alpha-01", "alpha-workstation");
  browser = await launchBrowser();
  owner = await openPage(browser, server.url);
}, 180_000); // its own dashboard build (28 s at load 19 here), a server, agents and Chromium: room past 120 s

afterAll(async () => {
  await headless?.stop();
  await browser?.close();
  await server?.stop();
});

describe("dashboard in Chromium", () => {
  test("an owner signs in; wrong passwords are refused; the session survives a reload", async () => {
    const { page } = owner;
    await page.goto("/");
    await page.getByLabel("Email").fill(org.ownerEmail);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "Wrong email or password" }).waitFor();

    await signInAs(page, org.ownerEmail, PASSWORD);
    await page.reload();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    expect(await page.locator(".who .email").textContent()).toBe(org.ownerEmail);
  });

  test("a machine reported by the headless agent appears with its hostname, health and metrics", async () => {
    const { page } = owner;
    await page.goto(CARDS);
    const c = page.locator(`article[data-machine-id="${HEADLESS_ID}"]`);
    await eventually(
      async () => (await c.count()) === 1 && (await c.getByRole("meter", { name: "CPU" }).count()) === 1,
      30_000,
    ).catch((err: unknown) => {
      throw new Error(`headless agent never showed up: ${String(err)}\n${headless.output()}`);
    });
    expect(await c.getByRole("heading").textContent()).toBe(os.hostname());
    expect(await c.getByText("Online").count()).toBe(1);
    for (const name of ["CPU", "Memory", "Disk"]) {
      const v = Number(await c.getByRole("meter", { name }).getAttribute("aria-valuenow"));
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(100);
    }
    expect(await c.getByLabel(/^Health: (Healthy|Degraded|Critical), \d+ of 100/).count()).toBe(1);
    expect(await c.locator("canvas").count()).toBe(1);

    // A simulated machine's new report shows up without a reload.
    const alpha = card(page, "alpha-workstation", "pc-alpha-01");
    expect(await alpha.getByRole("meter", { name: "CPU" }).getAttribute("aria-valuenow")).toBe("37");
    await agent.report({ cpu: 88, memory: 40, disk: 61 });
    await eventually(
      async () => (await alpha.getByRole("meter", { name: "CPU" }).getAttribute("aria-valuenow")) === "88",
    );
    await screenshot(page, "fleet-view");
  });

  test("search and the online filter narrow the fleet", async () => {
    const { page } = owner;
    await page.getByLabel("Search machines").fill("no-such-host");
    await page.getByText("No machine matches").waitFor();
    await page.getByLabel("Search machines").fill("alpha");
    await card(page, "alpha-workstation", "pc-alpha-01").waitFor();
    await page.getByRole("combobox", { name: "State", exact: true }).selectOption({ label: "Offline" });
    await page.getByText("No machine matches").waitFor();
    await page.getByRole("button", { name: "Clear filters" }).first().click();
    await card(page, "alpha-workstation", "pc-alpha-01").waitFor();
  });

  test("a message sent from the Actions dialog reaches the headless agent and turns done in the history without a reload", async () => {
    const { page } = owner;
    await page.goto(CARDS);
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    const c = page.locator(`article[data-machine-id="${HEADLESS_ID}"]`);
    await c.getByRole("button", { name: "Actions" }).click();
    const dialog = page.getByRole("dialog", { name: `Actions · ${os.hostname()} · ${HEADLESS_ID}` });
    await dialog.waitFor();

    // Empty message: the contract's error shows next to the field, nothing is sent.
    await dialog.getByRole("button", { name: "Send message" }).click();
    await dialog.getByText("message is required").waitFor();
    expect(await dialog.getByLabel("Message", { exact: true }).getAttribute("aria-invalid")).toBe("true");

    const text = "Please save your work: updates at 18:00.";
    await dialog.getByLabel("Title").fill("IT notice");
    await dialog.getByLabel("Message", { exact: true }).fill(text);
    await dialog.getByText("message is required").waitFor({ state: "detached" });
    await screenshot(page, "actions-dialog-message");
    await dialog.getByRole("button", { name: "Send message" }).click();
    await page.getByRole("status").getByText(`Message sent to ${os.hostname()} · ${HEADLESS_ID}`).waitFor();
    await dialog.waitFor({ state: "detached" });

    // The machine's history (a hash link: same document) turns done once the agent has shown it.
    await c.getByRole("link", { name: "History" }).click();
    const row = page.locator("tbody tr").filter({ hasText: text });
    await row.locator('[data-status="done"]').waitFor({ timeout: 30_000 });
    expect(await row.getByText(org.ownerEmail).count()).toBe(1);
    expect(headless.shown().some((argv) => argv.includes("IT notice") && argv.includes(text))).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
  });

  test("status badges follow an action live: pending, delivered, executing, done with the agent's result", async () => {
    const { page } = owner;
    await page.goto("/#/machines/pc-alpha-01");
    await page.getByRole("button", { name: "Actions" }).click();
    const dialog = page.getByRole("dialog", { name: "Actions · alpha-workstation · pc-alpha-01" });
    await dialog.getByLabel("Show as").selectOption("dialog");
    await dialog.getByLabel("Message", { exact: true }).fill("Lunch is served");
    await dialog.getByRole("button", { name: "Send message" }).click();
    const row = page.locator("tbody tr").filter({ hasText: "Lunch is served" });
    await row.locator('[data-status="pending"]').waitFor();

    const [a] = await agent.claim();
    expect(a).toMatchObject({
      type: "message",
      data: { message: "Lunch is served", title: "DashFleet", display: "dialog" },
    });
    await row.locator('[data-status="delivered"]').waitFor();
    await agent.ack(a!);
    await row.locator('[data-status="executing"]').waitFor();
    await agent.finish(a!, "Dialog shown; user clicked OK");
    await row.locator('[data-status="done"]').waitFor();
    await row.getByText("Dialog shown; user clicked OK").waitFor();
  });

  test("a pending action can be cancelled from the history", async () => {
    const { page } = owner;
    await page.getByRole("button", { name: "Actions" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Action", { exact: true }).selectOption("restart");
    await dialog.getByRole("button", { name: "Restart agent" }).click();
    const row = page.locator("tbody tr").filter({ hasText: "Agent restart" }).first();
    await row.locator('[data-status="pending"]').waitFor();
    await row.getByRole("button", { name: /^Cancel/ }).click();
    await page
      .getByRole("dialog", { name: "Cancel this action?" })
      .getByRole("button", { name: "Cancel action" })
      .click();
    await row.locator('[data-status="cancelled"]').waitFor();
    expect(await agent.runPending()).toBe(0);
  });

  test("a reboot with postpone options shows the warning; bad numbers are refused inline; Esc closes and focus stays inside", async () => {
    const { page } = owner;
    await page.goto(CARDS);
    await card(page, "alpha-workstation", "pc-alpha-01").getByRole("button", { name: "Actions" }).click();
    const dialog = page.getByRole("dialog", { name: "Actions · alpha-workstation · pc-alpha-01" });
    await dialog.getByLabel("Action", { exact: true }).selectOption("reboot");
    await dialog.getByLabel("First countdown: unit").selectOption("1");
    await dialog.getByLabel("First countdown", { exact: true }).fill("5");
    await dialog.getByRole("button", { name: "Reboot machine" }).click();
    // In words, not zod's "Too small: expected number to be >=10".
    await dialog.getByText("Must be at least 10").waitFor();

    await dialog.getByLabel("First countdown", { exact: true }).fill("120");
    await dialog.getByLabel("Snoozes allowed").fill("2");
    const warning = dialog.getByRole("alert");
    await warning.getByText(/This reboots alpha-workstation · pc-alpha-01/).waitFor();
    const words = dialog.getByTestId("policy-words");
    await words.getByText("The user sees a 2 min countdown, with “Restart now”.").waitFor();
    expect(await words.textContent()).toContain("They may snooze up to 2 times");
    await screenshot(page, "actions-dialog-reboot");

    // Tab from the last control wraps to the first one, inside the dialog.
    await dialog.getByRole("button", { name: "Reboot machine" }).focus();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.closest("dialog") !== null)).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe("Close");

    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    expect(await agent.runPending()).toBe(0);
  });

  test("selected cards get one action each from a single bulk job", async () => {
    const { page } = owner;
    const beta = await SimulatedAgent.start(server, org.agentKey, "pc-beta-02", "beta-laptop", {
      cpu: 12,
      memory: 30,
      disk: 95,
    });
    await card(page, "beta-laptop", "pc-beta-02").waitFor();
    await page.getByLabel("Select alpha-workstation · pc-alpha-01").check();
    await page.getByLabel("Select beta-laptop · pc-beta-02").check();
    await page.getByRole("button", { name: "Send action to 2 machines" }).click();
    const dialog = page.getByRole("dialog", { name: "Actions · 2 machines" });
    await dialog.getByText("This will reach exactly 2 machines").waitFor();
    await dialog.getByLabel("Message", { exact: true }).fill("Fleet-wide hello");
    await dialog.getByRole("button", { name: "Send message to 2 machines" }).click();
    await page.getByRole("status").getByText("Message sent to 2 machines").waitFor();
    // The send opened the bulk job's page.
    await eventually(async () => page.url().includes("#/bulk/"));
    expect(await agent.runPending()).toBe(1);
    expect(await beta.runPending()).toBe(1);
    expect(beta.received[0]).toMatchObject({ type: "message", data: { message: "Fleet-wide hello" } });

    await page.getByRole("link", { name: /^Activity/ }).click();
    const rows = page.locator("tbody tr").filter({ hasText: "Fleet-wide hello" });
    await eventually(async () => (await rows.locator('[data-status="done"]').count()) === 2);
  });

  test("a hostname and a message containing HTML are shown as text", async () => {
    const { page } = owner;
    const evil = `<img src=x onerror="window.pwned=1"><b>bold</b>`;
    const m = await SimulatedAgent.start(server, org.agentKey, "pc-evil-03", evil);
    await page.goto(CARDS);
    const c = card(page, evil, "pc-evil-03");
    await c.waitFor();
    expect(await c.getByRole("heading").textContent()).toBe(evil);
    expect(await c.locator("img, b").count()).toBe(0);

    await c.getByRole("button", { name: "Actions" }).click();
    await page
      .getByRole("dialog")
      .getByLabel("Message", { exact: true })
      .fill(`<script>window.pwned=2</script><i>hi</i>`);
    await page.getByRole("dialog").getByRole("button", { name: "Send message" }).click();
    await page.getByRole("status").getByText(`Message sent to ${evil} · pc-evil-03`, { exact: true }).waitFor();
    expect(await m.runPending(`<img src=y onerror="window.pwned=3">`)).toBe(1);
    await page.getByRole("link", { name: /^Activity/ }).click();
    const row = page.locator("tbody tr").filter({ hasText: "<i>hi</i>" });
    await row.locator('[data-status="done"]').waitFor();
    expect(await row.locator("img, i, script").count()).toBe(0);
    expect(await row.getByText(`<img src=y onerror="window.pwned=3">`).count()).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
  });

  test("a viewer sees the fleet and the history but no action controls; an ended session returns to the login page", async () => {
    const viewer = await openPage(browser, server.url);
    try {
      await signInAs(viewer.page, viewerEmail, PASSWORD);
      await viewer.page.goto(CARDS);
      const c = card(viewer.page, "alpha-workstation", "pc-alpha-01");
      await c.waitFor();
      expect(await viewer.page.getByRole("button", { name: "Actions" }).count()).toBe(0);
      expect(await viewer.page.getByRole("checkbox").count()).toBe(0);
      expect(await viewer.page.getByText("Send action to").count()).toBe(0);
      expect(await viewer.page.getByRole("link", { name: "Keys" }).count()).toBe(0);

      await viewer.page.getByRole("link", { name: /^Activity/ }).click();
      await viewer.page.locator('tbody [data-status="done"]').first().waitFor();
      expect(await viewer.page.getByRole("button", { name: /^Cancel/ }).count()).toBe(0);
      await screenshot(viewer.page, "viewer-activity");
      expect(viewer.problems).toEqual([]);

      // When the session ends (cookie gone), the next poll signs the console out, with one notice.
      await viewer.context.clearCookies();
      await viewer.page.getByRole("button", { name: "Sign in" }).waitFor();
      expect(await viewer.page.getByRole("status").getByText("Your session has ended").count()).toBe(1);
    } finally {
      await viewer.context.close();
    }
  });

  test("an owner creates an agent key (shown once) and revokes it", async () => {
    const { page } = owner;
    await page.getByRole("link", { name: "Keys" }).click();
    await page.getByLabel("Name").fill("Branch office");
    await page.getByRole("button", { name: "Create key" }).click();
    const shown = page.getByRole("dialog", { name: "Key created" });
    const key = await shown.getByLabel(/^Key/).inputValue();
    expect(key).toMatch(/^dfk_/);
    await shown.getByRole("button", { name: "Done" }).click();

    // The new key works for enrollment, then stops working once revoked.
    await enroll(server, key, "pc-branch-04");
    const row = page.locator("tbody tr").filter({ hasText: "Branch office" });
    await row.getByRole("button", { name: "Revoke key Branch office" }).click();
    await page.getByRole("dialog", { name: "Revoke this key?" }).getByRole("button", { name: "Revoke key" }).click();
    await row.getByText("revoked").waitFor();
    await expect(enroll(server, key, "pc-branch-05")).rejects.toThrow();
    expect(await page.content()).not.toContain(key);
  });

  test("sign out returns to the login page, and the console ran with no CSP violation or page error", async () => {
    const { page } = owner;
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    await page.reload();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    expect(owner.problems).toEqual([]);
  });
});

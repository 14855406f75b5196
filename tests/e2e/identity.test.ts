// Identity in the console, in a real Chromium against the real server: the legacy-agent-mode warning
// badge (and its explanation) while the org is in legacy mode, the re-enrollment request of a machine
// id enrolled twice with the agent key (approved from the fleet page, after which the key re-enrolls
// it once), and retiring a machine from its page (its token is refused at once).
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  buildDashboard,
  eventually,
  launchBrowser,
  openPage,
  screenshot,
  signInAs,
  type WatchedPage,
} from "../helpers/browser.ts";
import { dashboardCopy } from "../helpers/dashboard-copy.ts";
import {
  enableLegacyAgents,
  enroll,
  errorCode,
  startTestServer,
  type TestOrg,
  type TestServer,
} from "../helpers/server.ts";

let server: TestServer;
let org: TestOrg;
let browser: Browser;
let owner: WatchedPage;
let retiredToken: string;

beforeAll(async () => {
  buildDashboard(); // the components under test are new: serve the current sources
  server = await startTestServer({ env: { DASHFLEET_DASHBOARD_DIR: await dashboardCopy() } });
  org = await server.createOrg("Identity Org");
  await enableLegacyAgents(server, org.orgId);
  retiredToken = await enroll(server, org.agentKey, "id-retire-1");
  await enroll(server, org.agentKey, "id-again-1");
  // A second enrollment of the same id with the agent key alone waits for an admin.
  expect(await errorCode(enroll(server, org.agentKey, "id-again-1", "reinstalled-host"))).toBe("FORBIDDEN");
  browser = await launchBrowser();
  owner = await openPage(browser, server.url);
  await signInAs(owner.page, org.ownerEmail, org.password);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("identity in the console", () => {
  test("warns while the organization is in legacy agent mode, and says why", async () => {
    const { page } = owner;
    const badge = page.getByText("Legacy agent mode", { exact: false }).first();
    await badge.waitFor();
    await badge.click();
    await expect.poll(() => page.getByRole("note").textContent()).toMatch(/any machine id/);
    expect(await page.getByRole("note").textContent()).toMatch(/--legacy-agents off/);
    await screenshot(page, "identity-legacy-badge");
    await page.keyboard.press("Escape");
    await expect.poll(() => page.getByRole("note").isVisible()).toBe(false);
  });

  test("lists the pending re-enrollment on the fleet page; approving it lets the agent key re-enroll once", async () => {
    const { page } = owner;
    await page.goto("/#/fleet");
    const section = page.getByRole("region", { name: "Re-enrollment requests" });
    await section.waitFor();
    const item = section.getByRole("listitem").filter({ hasText: "id-again-1" });
    await expect
      .poll(() => item.textContent())
      .toMatch(/re-enrollment pending.*from 127\.0\.0\.1 · says it is reinstalled-host/s);
    await screenshot(page, "identity-reenroll-requests");
    await item.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => item.textContent()).toMatch(/approved until/);
    const fresh = await enroll(server, org.agentKey, "id-again-1");
    expect(fresh).toMatch(/^dfm_/);
    expect(await errorCode(enroll(server, org.agentKey, "id-again-1"))).toBe("FORBIDDEN");
  });

  test("retires a machine from its page after a confirmation: its token is refused at once", async () => {
    const { page } = owner;
    await page.goto("/#/machines/id-retire-1");
    await page.getByRole("button", { name: "Retire" }).click();
    const dialog = page.getByRole("dialog");
    await expect.poll(() => dialog.textContent()).toMatch(/id-retire-1.*history stays/s);
    await dialog.getByRole("button", { name: "Retire" }).click();
    // The button goes at once; the page shows the retired machine (offline) on its next refresh.
    await expect.poll(() => page.getByRole("button", { name: "Retire" }).count()).toBe(0);
    await eventually(async () => (await page.locator(".page-head .badge", { hasText: "retired" }).count()) > 0);
    expect(await errorCode(server.client(retiredToken).agent.pendingActions.query({}))).toBe("UNAUTHORIZED");
    await screenshot(page, "identity-retired-machine");
    expect(owner.problems.filter((p) => !/Failed to load resource/.test(p))).toEqual([]);
  });
});

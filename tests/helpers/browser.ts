// Browser test helpers: build the dashboard once, drive Debian's Chromium with playwright-core, sign
// in through the real login page, save screenshots under tests/artifacts/, watch for CSP violations and
// page errors, and seed a large fleet straight into a database (as the benches do).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { prepareFleet, type BenchFleet } from "../../bench/setup.ts";
import { systemClock } from "../../server/clock.ts";
import { openDb } from "../../server/db.ts";
import { createUser } from "../../server/services/accounts.ts";
import { backfillFleetState } from "../../server/services/health.ts";

/** The password of users the browser helpers create (same as tests/helpers/server.ts). */
const TEST_PASSWORD = "correct horse 1";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Where `npm run build` puts the console; the test server serves it from here. */
export const DASHBOARD_DIST = path.join(root, "dashboard/dist");
export const ARTIFACTS = path.join(root, "tests/artifacts");

/** The folder of this process's latest buildDashboard() (null before its first build). */
let latestBuild: string | null = null;

/**
 * Builds the dashboard (vite build) so the server under test serves the current sources, into a
 * private temporary folder that it returns. Why not dashboard/dist: two test files run at once, and
 * vite empties its output folder first, so a build there could pull files from under the other file's
 * running browser test, or fail writing into the folder the other build just removed.
 */
export function buildDashboard(): string {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-dist-build-"));
  execFileSync(
    process.execPath,
    [
      path.join(root, "node_modules/vite/bin/vite.js"),
      "build",
      "--config",
      "dashboard/vite.config.ts",
      "--outDir",
      outDir,
      "--emptyOutDir",
      "--logLevel",
      "warn",
    ],
    {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  latestBuild = outDir;
  removeOldBuilds();
  return outDir;
}

/**
 * Removes the builds and copies of earlier runs (over three hours old, so none a running test serves):
 * a test worker is ended without running exit handlers, so each file cannot remove its own.
 */
function removeOldBuilds(): void {
  const before = Date.now() - 3 * 3600_000;
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!/^dashfleet-dist-(build|copy)-/.test(name)) continue;
    const dir = path.join(os.tmpdir(), name);
    try {
      if (fs.statSync(dir).mtimeMs < before) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // removed meanwhile by another test file
    }
  }
}

/** This process's latest build (see buildDashboard), or null when it has not built one. */
export function latestDashboardBuild(): string | null {
  return latestBuild;
}

/** Debian's Chromium, headless (never `npx playwright install`). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

/** A page that records console errors, page errors and CSP violations for later assertions. */
export type WatchedPage = { page: Page; context: BrowserContext; problems: string[] };

/** A fresh context (own cookies) at a laptop-sized viewport. */
export async function openPage(
  browser: Browser,
  baseURL: string,
  viewport = { width: 1366, height: 900 },
): Promise<WatchedPage> {
  const context = await browser.newContext({ baseURL, viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const text = msg.text();
    // A failed tRPC call the test provoked on purpose (e.g. 401 before sign-in) is not a page problem.
    if (/Failed to load resource: the server responded with a status of (400|401|403|404|409)/.test(text)) return;
    problems.push(`console: ${text}`);
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return { page, context, problems };
}

/** Signs in through the login form and waits for the console's top bar. */
export async function signInAs(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

/** Saves a PNG under tests/artifacts/ (ignored by git) and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/** Polls `check` until it returns a truthy value (or throws its last error after `timeoutMs`). */
export async function eventually<T>(
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 15_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw last instanceof Error ? last : new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A database with one organization, an owner who can sign in, and `machines` bulk-inserted machines. */
export type SeededFleet = BenchFleet & { ownerEmail: string; password: string };

/**
 * Prepares a database file (before the server starts on it) the way the fleet bench does: `machines`
 * bulk-inserted machines (host-0 … host-N, ids sim-0 … sim-N) with varied metrics, two operating
 * systems, labels `web` (every 4th) and `eu` (every 7th), every 10th never reported; health and online
 * state filled by the server's own backfill. Adds an owner with the test password.
 */
export async function seedFleet(
  dbFile: string,
  machines: number,
  ownerEmail = "owner@fleet.test",
): Promise<SeededFleet> {
  const fleet = await prepareFleet(dbFile, machines);
  const db = await openDb(dbFile);
  try {
    const idx = `CAST(substr("machineId", 5) AS INTEGER)`;
    await db.$executeRawUnsafe(
      `UPDATE "Machine" SET "lastCpu" = (abs(random()) % 100), "lastMemory" = (abs(random()) % 100), "lastDisk" = (abs(random()) % 100), "lastReportAt" = "lastSeenAt", "lastUptime" = 3600 WHERE ${idx} % 10 <> 0`,
    );
    await db.$executeRawUnsafe(`UPDATE "Machine" SET "os" = 'Windows 11' WHERE ${idx} % 3 = 0`);
    await db.$executeRawUnsafe(
      `INSERT INTO "MachineLabel" ("machineRef", "orgId", "label") SELECT "id", "orgId", 'web' FROM "Machine" WHERE ${idx} % 4 = 0`,
    );
    await db.$executeRawUnsafe(
      `INSERT INTO "MachineLabel" ("machineRef", "orgId", "label") SELECT "id", "orgId", 'eu' FROM "Machine" WHERE ${idx} % 7 = 0`,
    );
    await backfillFleetState(db);
    await db.$executeRawUnsafe("ANALYZE");
    await createUser(db, systemClock, {
      orgId: fleet.orgId,
      email: ownerEmail,
      password: TEST_PASSWORD,
      role: "owner",
      actor: "test",
    });
  } finally {
    await db.$disconnect();
  }
  return { ...fleet, ownerEmail, password: TEST_PASSWORD };
}

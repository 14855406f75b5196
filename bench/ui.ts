// `npm run bench:ui`: the console's budgets at fleet scale, in Debian's Chromium (playwright-core) at
// 1440×900 against the real server (a child process) with 10,000 and 100,000 bulk-inserted machines
// (as the fleet bench inserts them) and a live trickle of agent reports. Prints one table:
//   sign-in → first table row visible, DOM nodes and JS heap on the fleet page, a search and a filter
//   change → rows updated, bytes of one refresh cycle, a bulk job to the whole fleet created, and its
//   counters moving live while a few simulated agents run their actions.
// Knobs (env): BENCH_UI_SIZES (default "10000,100000"), BENCH_UI_TRICKLE (reports per second, default 50).
// A benchmark, not a test: figures depend on the machine (note how busy it is when you run it).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page, Request } from "playwright-core";
import { dashboardCopy } from "../tests/helpers/dashboard-copy.ts";
import { launchBrowser, openPage, seedFleet, type SeededFleet } from "../tests/helpers/browser.ts";
import { spawnServer, type ServerProcess } from "../tests/helpers/fleet-sim.ts";
import { trpcClient, type TRPCClient } from "../tests/helpers/server.ts";
import { machineIdOf, machineToken } from "./setup.ts";

const sizes = (process.env.BENCH_UI_SIZES ?? "10000,100000").split(",").map(Number);
const tricklePerSecond = Number(process.env.BENCH_UI_TRICKLE ?? 50);
const log = (msg: string) => console.error(`[bench:ui ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ROWS = "table[aria-label='Machines'] tbody tr";

type Figures = {
  machines: number;
  signInMs: number[];
  signedInMs: number[];
  domNodes: number;
  elements: number;
  heapMb: number;
  searchMs: number[];
  searchServerMs: number[];
  filterServerMs: number[];
  filterMs: number[];
  refreshBytes: number;
  refreshMs: number;
  bulkCreateMs: number;
  bulkCount: number;
  liveDone: number[];
};

/** Agent reports for random machines, `perSecond` of them, until stopped. Also runs the actions of
 * the first `workers` machines (claim, ack, done), so a bulk job's counters move. */
function trickle(url: string, fleet: SeededFleet, perSecond: number, workers: number) {
  let stopped = false;
  const clients = new Map<number, TRPCClient>();
  const client = (i: number) => {
    let c = clients.get(i);
    if (!c) clients.set(i, (c = trpcClient(url, { authorization: `Bearer ${machineToken(fleet.salt, i)}` })));
    return c;
  };
  let reports = 0;
  let failures = 0;
  const reportLoop = (async () => {
    while (!stopped) {
      const started = Date.now();
      const batch = Array.from({ length: Math.max(1, Math.round(perSecond / 5)) }, () =>
        client(Math.floor(Math.random() * fleet.machines))
          .agent.report.mutate({
            metrics: {
              cpuPercent: Math.random() * 100,
              memoryPercent: Math.random() * 100,
              diskPercent: Math.random() * 100,
              uptimeSeconds: 3600,
            },
          })
          .then(() => reports++)
          .catch(() => failures++),
      );
      await Promise.all(batch);
      await new Promise((r) => setTimeout(r, Math.max(0, 200 - (Date.now() - started))));
    }
  })();
  const workLoop = (async () => {
    while (!stopped) {
      for (let i = 0; i < workers && !stopped; i++) {
        try {
          const { actions } = await client(i).agent.pendingActions.query();
          for (const a of actions) {
            await client(i).agent.ack.mutate({ actionId: a.id, claimToken: a.claimToken });
            await client(i).agent.reportResult.mutate({
              actionId: a.id,
              claimToken: a.claimToken,
              status: "done",
              result: "ok",
            });
          }
        } catch {
          failures++;
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    stats: () => ({ reports, failures }),
    async stop() {
      stopped = true;
      await Promise.all([reportLoop, workLoop]);
    },
  };
}

/** Signs in; returns [ms until the console's top bar (auth.login answered), ms until the first row]. */
async function signIn(page: Page, fleet: SeededFleet): Promise<[number, number]> {
  await page.goto("/");
  await page.getByLabel("Email").fill(fleet.ownerEmail);
  await page.getByLabel("Password").fill(fleet.password);
  const t0 = Date.now();
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor({ timeout: 60_000 });
  const signedIn = Date.now() - t0;
  await page.locator(ROWS).first().waitFor({ state: "visible", timeout: 60_000 });
  return [signedIn, Date.now() - t0];
}

async function measure(browser: Browser, server: ServerProcess, fleet: SeededFleet): Promise<Figures> {
  const f: Figures = {
    machines: fleet.machines,
    signInMs: [],
    signedInMs: [],
    domNodes: 0,
    elements: 0,
    heapMb: 0,
    searchMs: [],
    searchServerMs: [],
    filterServerMs: [],
    filterMs: [],
    refreshBytes: 0,
    refreshMs: 0,
    bulkCreateMs: 0,
    bulkCount: 0,
    liveDone: [],
  };
  // Sign-in → first row, three times, each in a fresh context (cold cookies, warm server).
  for (let i = 0; i < 3; i++) {
    const w = await openPage(browser, server.url, { width: 1440, height: 900 });
    const [signedIn, firstRow] = await signIn(w.page, fleet);
    f.signedInMs.push(signedIn);
    f.signInMs.push(firstRow);
    await w.context.close();
  }

  const w = await openPage(browser, server.url, { width: 1440, height: 900 });
  const { page } = w;
  await signIn(page, fleet);
  // Let a few refresh cycles run, then read the page's size.
  await page.waitForTimeout(6000);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  await cdp.send("HeapProfiler.collectGarbage");
  const { metrics } = await cdp.send("Performance.getMetrics");
  const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? NaN;
  f.domNodes = metric("Nodes");
  f.heapMb = Math.round((metric("JSHeapUsedSize") / 1024 / 1024) * 10) / 10;
  f.elements = await page.evaluate(() => document.getElementsByTagName("*").length);

  // One refresh cycle: the bytes of the /trpc answers (headers + body) over 5 cycles, averaged.
  let bytes = 0;
  let calls = 0;
  const onFinished = (req: Request) => {
    if (!req.url().includes("/trpc/")) return;
    void req.sizes().then((s) => {
      bytes += s.responseBodySize + s.responseHeadersSize + s.requestBodySize + s.requestHeadersSize;
      calls++;
    });
  };
  page.on("requestfinished", onFinished);
  const windowStart = Date.now();
  await page.waitForTimeout(10_000);
  page.off("requestfinished", onFinished);
  const cycles = Math.max(1, calls);
  f.refreshBytes = Math.round(bytes / cycles);
  f.refreshMs = Math.round((Date.now() - windowStart) / cycles);

  // A search for one machine: from the last keystroke to the row on screen (includes the 100 ms
  // debounce of the search box), five different machines.
  // Times are taken inside the page: from the input/change event the user's action fired to the first
  // animation frame where the rows show the answer (Playwright's own round trips are not counted).
  await page.evaluate(() => {
    const w = window as unknown as { benchT0: number };
    // (no named functions in here: tsx would wrap them in a helper the page does not have)
    for (const type of ["input", "change"])
      document.addEventListener(type, () => void (w.benchT0 = performance.now()), true);
  });
  /** The in-page milliseconds a waitForFunction answered with (the time since the last input/change). */
  const elapsed = async (handle: Promise<{ jsonValue: () => Promise<unknown> }>) =>
    Math.round(Number(await (await handle).jsonValue()));
  const search = page.getByLabel("Search machines");
  for (let i = 0; i < 5; i++) {
    const n = Math.floor(fleet.machines * (0.1 + i * 0.17));
    await search.fill(`host-${n}`);
    f.searchMs.push(
      await elapsed(
        page.waitForFunction(
          (id) =>
            document.querySelector("table[aria-label='Machines'] tbody tr")?.getAttribute("data-machine-id") === id &&
            performance.now() - (window as unknown as { benchT0: number }).benchT0,
          machineIdOf(n),
          { polling: "raf", timeout: 30_000 },
        ),
      ),
    );
  }
  await search.fill("");
  await page.waitForFunction(() => !location.hash.includes("search="));
  // The same questions asked of the server alone (admin key, no browser), for attribution.
  const api = trpcClient(server.url, { authorization: `Bearer ${fleet.adminKey}` });
  for (let i = 0; i < 5; i++) {
    const n = Math.floor(fleet.machines * (0.1 + i * 0.17));
    let t = performance.now();
    await api.fleet.list.query({ search: `host-${n}`, limit: 50 });
    f.searchServerMs.push(Math.round(performance.now() - t));
    t = performance.now();
    await api.fleet.list.query({ health: (["critical", "good", "degraded"] as const)[i % 3], limit: 50 });
    f.filterServerMs.push(Math.round(performance.now() - t));
  }
  // A filter change (health band select): until every row shown is in that band.
  for (const band of ["critical", "good", "degraded", "critical", "good"]) {
    await page.getByRole("combobox", { name: "Health", exact: true }).selectOption(band);
    f.filterMs.push(
      await elapsed(
        page.waitForFunction(
          (b) => {
            const cells = [...document.querySelectorAll("table[aria-label='Machines'] tbody [data-health]")];
            const ok = cells.length > 0 && cells.every((c) => c.getAttribute("data-health") === b);
            return ok && performance.now() - (window as unknown as { benchT0: number }).benchT0;
          },
          band,
          { polling: "raf", timeout: 30_000 },
        ),
      ),
    );
  }
  await page.goto("/#/fleet");
  await page.locator(ROWS).first().waitFor();

  // A bulk job to the whole fleet: from "Send" to the job's page with its figures.
  await page.getByRole("button", { name: /^Select all [\d,]+ machines matching/ }).click();
  await page.getByRole("button", { name: /^Send action to/ }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText(/This will reach exactly/).waitFor({ timeout: 30_000 });
  await dialog.getByLabel("Message", { exact: true }).fill("bench: hello fleet");
  const t0 = Date.now();
  await dialog.getByRole("button", { name: /^Send message to/ }).click();
  await page.waitForFunction(() => /^#\/bulk\/[^/]+$/.test(location.hash), undefined, { timeout: 120_000 });
  f.bulkCreateMs = Date.now() - t0;
  await page.getByTestId("bulk-finished").waitFor({ timeout: 60_000 });
  const heading = (await page.getByRole("heading", { level: 1 }).textContent()) ?? "";
  f.bulkCount = Number(heading.replace(/^.* to ([\d,]+) machines?$/, "$1").replace(/,/g, ""));
  // Live counters: the finished count shown, every 2 s for 10 s (a few simulated agents run theirs).
  for (let i = 0; i < 6; i++) {
    const text = (await page.getByTestId("bulk-finished").textContent()) ?? "";
    f.liveDone.push(Number(text.split(" of ")[0]!.replace(/\D/g, "")));
    await page.waitForTimeout(2000);
  }
  // Cancel the rest, so the next size starts from a quiet server.
  await page.getByRole("button", { name: /^Cancel the rest/ }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Cancel the rest" }).click();
  await page.waitForTimeout(1000);
  if (w.problems.length) log(`page problems: ${w.problems.join("; ")}`);
  await w.context.close();
  return f;
}

const results: Figures[] = [];
const dist = await dashboardCopy();
const browser = await launchBrowser();
const chromium = browser.version();
try {
  for (const n of sizes) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-bench-ui-"));
    try {
      log(`seeding ${n} machines…`);
      const fleet = await seedFleet(path.join(dir, "fleet.db"), n);
      const server = await spawnServer(fleet.dbFile, { env: { DASHFLEET_DASHBOARD_DIR: dist }, timeoutMs: 180_000 });
      const live = trickle(server.url, fleet, tricklePerSecond, 20);
      try {
        log(`measuring at ${n} machines (trickle ${tricklePerSecond} reports/s)…`);
        results.push(await measure(browser, server, fleet));
        log(`trickle: ${JSON.stringify(live.stats())}`);
      } finally {
        await live.stop();
        await server.kill();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  await browser.close();
  fs.rmSync(dist, { recursive: true, force: true });
}

// The budget table: one row per budget, one column per fleet size.
const fmt = (v: number) => v.toLocaleString("en-US");
const budgets: [string, string, (f: Figures) => number, number][] = [
  ["sign-in → first row visible (median of 3)", "ms", (f) => median(f.signInMs), 1500],
  ["  of which: sign-in answered (auth.login, password hash)", "ms", (f) => median(f.signedInMs), NaN],
  ["DOM nodes on the fleet page (CDP Nodes)", "", (f) => f.domNodes, 5000],
  ["JS heap used after GC", "MB", (f) => f.heapMb, 150],
  ["search → row updated (median of 5, in-page, incl. 100 ms debounce)", "ms", (f) => median(f.searchMs), 300],
  ["  server alone: fleet.list with that search (median of 5)", "ms", (f) => median(f.searchServerMs), NaN],
  ["filter change → rows updated (median of 5, in-page)", "ms", (f) => median(f.filterMs), 300],
  ["  server alone: fleet.list with a health band (median of 5)", "ms", (f) => median(f.filterServerMs), NaN],
  [
    "one refresh cycle transferred (avg, headers incl.)",
    "KB",
    (f) => Math.round((f.refreshBytes / 1024) * 10) / 10,
    50,
  ],
  ["bulk job to the whole fleet created", "ms", (f) => f.bulkCreateMs, 5000],
];
const header = ["budget", ...results.map((r) => `${fmt(r.machines)} machines`), "target", "met at largest"];
const lines = budgets.map(([name, unit, get, target]) => {
  const values = results.map((r) => `${fmt(get(r))}${unit ? ` ${unit}` : ""}`);
  const last = results.at(-1);
  if (Number.isNaN(target)) return [name, ...values, "", ""];
  return [name, ...values, `< ${fmt(target)}${unit ? ` ${unit}` : ""}`, last && get(last) < target ? "yes" : "NO"];
});
lines.push([
  "bulk counters live (finished, every 2 s)",
  ...results.map((r) => r.liveDone.join(" → ")),
  "moving",
  results.at(-1) && results.at(-1)!.liveDone.at(-1)! > results.at(-1)!.liveDone[0]! ? "yes" : "NO",
]);
lines.push([
  "bulk job size (from its page)",
  ...results.map((r) => fmt(r.bulkCount)),
  "= fleet",
  results.every((r) => r.bulkCount === r.machines) ? "yes" : "NO",
]);
lines.push(["elements in the document", ...results.map((r) => fmt(r.elements)), "", ""]);
lines.push([
  "refresh calls in 10 s / avg interval",
  ...results.map((r) => `${Math.round(10_000 / r.refreshMs)} / ${fmt(r.refreshMs)} ms`),
  "",
  "",
]);
const widths = header.map((_, i) => Math.max(...[header, ...lines].map((l) => (l[i] ?? "").length)));
const row = (l: string[]) => l.map((c, i) => c.padEnd(widths[i]!)).join(" | ");
console.log(
  `\nDashFleet console budgets (Chromium ${chromium}, 1440×900, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)})`,
);
console.log(row(header));
console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
for (const l of lines) console.log(row(l));
console.log(
  "\nRaw: " +
    JSON.stringify(
      results.map((r) => ({
        machines: r.machines,
        signedInMs: r.signedInMs,
        signInMs: r.signInMs,
        searchMs: r.searchMs,
        filterMs: r.filterMs,
      })),
    ),
);

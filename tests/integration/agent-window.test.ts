// The agent's window page in real Chromium (the engine Electron embeds), loaded from file:// as
// Electron's loadFile does, with the preload's API stubbed: a hostile message is shown as text, the
// CSP lets the page's own script run and nothing else, and each kind of window sends its answer.
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "../helpers/browser.ts";

const PAGE = pathToFileURL(
  path.resolve(import.meta.dirname, "../../tray-agent/src/electron/renderer/window.html"),
).href;
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** Opens the page with `window.dashfleet` answering init with `request`; answers collect in window.__answers. */
async function open(request: unknown): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.addInitScript((req) => {
    const w = window as unknown as { __answers: unknown[]; dashfleet: unknown; __pwned?: boolean };
    w.__answers = [];
    w.dashfleet = { init: async () => req, answer: (a: unknown) => w.__answers.push(a) };
  }, request);
  await page.goto(PAGE);
  await page.waitForFunction(
    () =>
      document.getElementById("primary")?.textContent !== "OK" ||
      document.getElementById("message")?.textContent !== "",
  );
  return { page, errors };
}

const answers = (page: Page) => page.evaluate(() => (window as unknown as { __answers: unknown[] }).__answers);

describe("agent window page (Chromium)", () => {
  it("shows a hostile message verbatim as text, runs no injected markup, then answers ok", async () => {
    const message = `<img src=x onerror="window.__pwned=true"> <b>bold</b> $(rm -rf /) \`id\` "q" 'q'\nline 2`;
    const { page, errors } = await open({ kind: "message", title: "<i>IT</i>", message });
    expect(await page.textContent("#message")).toBe(message);
    expect(await page.textContent("#title")).toBe("<i>IT</i>");
    expect(await page.locator("#message img, #message b").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: boolean }).__pwned ?? false)).toBe(false);
    await page.click("#primary");
    expect(await answers(page)).toEqual(["ok"]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("countdown: shows the time left and a Postpone button only while postponements remain", async () => {
    const { page } = await open({
      kind: "countdown",
      title: "Your computer will restart",
      message: "Save your work.",
      seconds: 90,
      postponesLeft: 2,
    });
    expect(await page.textContent("#countdown")).toMatch(/^Restarting in 1:(30|29)$/);
    expect(await page.textContent("#secondary")).toBe("Postpone (2 left)");
    await page.click("#secondary");
    expect(await answers(page)).toEqual(["postpone"]);
    await page.close();
    const last = await open({ kind: "countdown", title: "Restart", message: "m", seconds: 10, postponesLeft: 0 });
    expect(await last.page.isVisible("#secondary")).toBe(false);
    await last.page.click("#primary");
    expect(await answers(last.page)).toEqual(["now"]);
    await last.page.close();
  });

  it("confirm and first-run setup send their answers", async () => {
    const c = await open({
      kind: "confirm",
      title: "Restart DashFleet Agent",
      message: "?",
      yes: "Restart agent",
      no: "Not now",
    });
    await c.page.click("#secondary");
    expect(await answers(c.page)).toEqual(["no"]);
    await c.page.close();
    const s = await open({ kind: "setup", server: "", error: "--server: must be a URL" });
    expect(await s.page.textContent("#error")).toBe("--server: must be a URL");
    await s.page.fill("#server", "https://fleet.example.com");
    await s.page.fill("#token", "dfk_abc");
    await s.page.click("#primary");
    expect(await answers(s.page)).toEqual([{ setup: { server: "https://fleet.example.com", token: "dfk_abc" } }]);
    await s.page.close();
  });
});

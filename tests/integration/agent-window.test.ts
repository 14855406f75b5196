// The agent's window page in real Chromium (the engine Electron embeds), loaded from file:// as
// Electron's loadFile does, with the preload's API stubbed: a hostile message is shown as text, the
// CSP lets the page's own script run and nothing else, and each kind of window sends its answer.
// Requests are built by the same functions the shell uses (messageRequest, rebootRequest); the full
// end-user flows (countdown, snooze, final stage, receipt, French) are in tests/enduser/windows.test.ts.
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTranslator } from "../../tray-agent/src/core/i18n/index.ts";
import { messageRequest, rebootRequest } from "../../tray-agent/src/electron/desktop.ts";
import { launchBrowser } from "../helpers/browser.ts";

const en = createTranslator("en");
const common = { lang: "en", branding: null };

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
    const { page, errors } = await open(
      messageRequest({ title: "<i>IT</i>", message, urgency: "info", requireAcknowledgement: false }, en, null),
    );
    expect(await page.textContent("#message")).toBe(message);
    expect(await page.textContent("#title")).toBe("<i>IT</i>");
    expect(await page.locator("#message img, #message b").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: boolean }).__pwned ?? false)).toBe(false);
    await page.click("#primary");
    expect(await answers(page)).toEqual(["ok"]);
    expect(await page.isVisible("#setup")).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("reboot prompt: shows the time left and a snooze picker only while snoozes remain", async () => {
    const base = {
      stage: "prompt" as const,
      seconds: 90,
      snoozeOptions: [600],
      snoozesLeft: 2,
      maxSnoozes: 3,
      deadlineAt: null,
      insistence: "normal" as const,
    };
    const { page } = await open(rebootRequest(base, en, null));
    expect(await page.textContent("#countdown")).toMatch(/^Restarting in 1:(30|29)$/);
    expect(await page.isVisible("#snooze")).toBe(true);
    await page.click("#snooze-button");
    expect(await answers(page)).toEqual([{ snooze: 600 }]);
    await page.close();
    const last = await open(
      rebootRequest({ ...base, stage: "final", seconds: 10, snoozeOptions: [], snoozesLeft: 0 }, en, null),
    );
    expect(await last.page.isVisible("#snooze")).toBe(false);
    expect(await last.page.isVisible("#setup")).toBe(false);
    await last.page.click("#primary");
    expect(await answers(last.page)).toEqual(["now"]);
    await last.page.close();
  });

  it("confirm and first-run setup send their answers", async () => {
    const c = await open({
      ...common,
      kind: "confirm",
      title: "Restart DashFleet Agent",
      message: "?",
      yes: "Restart agent",
      no: "Not now",
    });
    await c.page.click("#secondary");
    expect(await answers(c.page)).toEqual(["no"]);
    await c.page.close();
    const text = {
      title: "Connect",
      message: "m",
      server: "Server address",
      token: "Enrollment key",
      connect: "Connect",
    };
    const s = await open({ ...common, kind: "setup", server: "", error: "--server: must be a URL", text });
    expect(await s.page.isVisible("#setup")).toBe(true);
    expect(await s.page.textContent("#error")).toBe("--server: must be a URL");
    await s.page.fill("#server", "https://fleet.example.com");
    await s.page.fill("#token", "dfk_abc");
    await s.page.click("#primary");
    expect(await answers(s.page)).toEqual([{ setup: { server: "https://fleet.example.com", token: "dfk_abc" } }]);
    await s.page.close();
  });
});

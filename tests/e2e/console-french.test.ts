// The console in French, in a real Chromium against the real server (issue 11: "the dashboard too,
// with a language switch"): switched from the top bar, the shell, the fleet table and its toolbar (with
// its menus open), the machine card, the Actions dialog (a message refused in French words, then sent;
// a reboot), the activity table, the keys and users navigation and the sign-in page read French, with no English word left
// in their visible text; the switch back to English restores the English texts. Screenshots under
// tests/artifacts/ (console-french-*.png).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, Locator, Page } from "playwright-core";
import { buildDashboard, launchBrowser, openPage, screenshot, signInAs, type WatchedPage } from "../helpers/browser.ts";
import { dashboardCopy } from "../helpers/dashboard-copy.ts";
import { enroll, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let org: TestOrg;
let browser: Browser;
let owner: WatchedPage;

/**
 * English words of the shell and components that must not be seen once the console is in French
 * (whole words, case-sensitive). The org, hostnames and emails below are chosen not to contain any.
 */
const ENGLISH = [
  "Sign out",
  "Fleet",
  "Activity",
  "Bulk jobs",
  "Keys",
  "Users",
  "Settings",
  "Search",
  "State",
  "Health",
  "Online",
  "Offline",
  "online",
  "offline",
  "Healthy",
  "Degraded",
  "Critical",
  "No data",
  "Last seen",
  "Memory",
  "Disk",
  "Views",
  "Columns",
  "Table",
  "Cards",
  "Clear",
  "Previous",
  "Next",
  "Send",
  "Cancel",
  "Title",
  "Reboot",
  "Restart",
  "Give up",
  "hours",
  "days",
  "Loading",
  "Waiting",
  "queued",
  "History",
  "ago",
  "just now",
  "Required",
  "required",
  "Sign in",
  "Password",
  "Email",
  "Wrong",
  "the user",
  "full",
  "over the last",
  "Save",
  "owner",
];

/** The English words found in a region's visible text (empty when it is all French). */
async function englishIn(region: Locator): Promise<string[]> {
  const text = await region.innerText();
  return ENGLISH.filter((w) => new RegExp(`(^|[^\\p{L}\\p{N}-])${w}($|[^\\p{L}\\p{N}-])`, "u").test(text));
}

/** Waits until a region's visible text holds every one of the texts (or matches of the patterns). */
async function shows(region: Locator, texts: (string | RegExp)[]): Promise<void> {
  for (const text of texts) await region.getByText(text, { exact: false }).first().waitFor({ timeout: 15_000 });
}

const topBar = (page: Page) => page.locator("header.topbar");

beforeAll(async () => {
  buildDashboard();
  server = await startTestServer({ env: { DASHFLEET_DASHBOARD_DIR: await dashboardCopy() } });
  org = await server.createOrg("Parc Lumière");
  // One healthy machine and one with a full disk (a health reason written by the server in English).
  for (const [id, host, disk] of [
    ["poste-01", "poste-accueil", 30],
    ["poste-02", "poste-atelier", 97],
  ] as const) {
    const api = server.client(await enroll(server, org.agentKey, id, host));
    await api.agent.report.mutate({
      metrics: { cpuPercent: 12, memoryPercent: 40, diskPercent: disk, uptimeSeconds: 90_000 },
    });
  }
  browser = await launchBrowser();
  owner = await openPage(browser, server.url, { width: 1366, height: 900 });
  await signInAs(owner.page, org.ownerEmail, org.password);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("the console in French", () => {
  test("switched from the top bar: shell, toolbar with its menus and the fleet table speak French", async () => {
    const { page } = owner;
    await page.locator("tr[data-machine-id='poste-02']").waitFor();
    await page.getByRole("combobox", { name: "Language" }).selectOption("fr");
    await page.getByRole("navigation", { name: "Navigation principale" }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe("fr");

    await shows(topBar(page), ["Parc", "Activité", "Envois groupés", "Clés", "Utilisateurs", "Se déconnecter"]);
    await shows(topBar(page), ["propriétaire"]);
    expect(await englishIn(topBar(page))).toEqual([]);

    const toolbar = page.getByRole("search", { name: "Filtrer les machines" });
    // Open both menus, so their contents are part of the visible text.
    await toolbar.getByText("Vues", { exact: true }).click();
    await shows(toolbar, ["Aucune vue enregistrée pour l'instant.", "Enregistrer"]);
    await toolbar.getByText("Colonnes", { exact: true }).click();
    await shows(toolbar, ["Colonnes", "Dernier contact", "Version de l'agent", "Actions en file d'attente"]);
    await shows(toolbar, ["État", "Santé", "Système", "Étiquette", "Tableau", "Cartes"]);
    expect(await toolbar.getByRole("searchbox").getAttribute("placeholder")).toBe("Nom, nom d'hôte ou identifiant");
    expect(await englishIn(toolbar)).toEqual([]);
    // The health filter's choices are French too (options are not part of innerText).
    expect(await toolbar.locator("#fleet-health option").allTextContents()).toEqual([
      "Tous",
      "Sain",
      "Dégradé",
      "Critique",
      "Aucune donnée",
    ]);
    await page.keyboard.press("Escape");
    await toolbar.getByText("Colonnes", { exact: true }).click(); // close the menus again
    await toolbar.getByText("Vues", { exact: true }).click();

    const table = page.getByRole("table", { name: "Machines" });
    await shows(table, ["Machine", "État", "Santé", "Processeur", "Mémoire", "Disque", "Dernier contact", "En ligne"]);
    // The server's English health reason, in French; the percentages with a no-break space.
    await shows(table, ["Disque plein à 97\u00a0%", "Critique"]);
    expect(await englishIn(table)).toEqual([]);
    await page.getByText("1–2 sur 2", { exact: true }).waitFor();
    await page.getByRole("button", { name: "← Précédent" }).waitFor();
    await screenshot(page, "console-french-fleet");
    expect(owner.problems).toEqual([]);
  });

  test("the machine card and the Actions dialog (message refused in French, then a reboot) speak French", async () => {
    const { page } = owner;
    const toolbar = page.getByRole("search", { name: "Filtrer les machines" });
    await toolbar.getByRole("button", { name: "Cartes" }).click();
    const card = page.locator("article.card[data-machine-id='poste-02']");
    await card.waitFor();
    await shows(card, ["Dernier contact", "Historique", "Processeur", "Mémoire", "Disque", "Allumée\u00a0: 1 j 1 h"]);
    await shows(card, ["Disque plein à 97\u00a0%"]);
    expect(await englishIn(card)).toEqual([]);

    await card.getByRole("button", { name: "Actions" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    await shows(dialog, ["Actions · poste-atelier · poste-02", "Abandonner si non remise sous"]);
    await dialog.getByLabel("Titre", { exact: true }).waitFor();
    await dialog.getByLabel("Message", { exact: true }).waitFor();
    // An empty message is refused beside its field, in French words.
    await dialog.getByRole("button", { name: "Envoyer le message" }).click();
    await shows(dialog, ["Le message est obligatoire"]);
    expect(await dialog.getByLabel("Message", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    expect(await englishIn(dialog)).toEqual([]);
    await screenshot(page, "console-french-message");

    // Sent: the toast and the activity table (status, what was sent, who, when) in French.
    await dialog.getByLabel("Message", { exact: true }).fill("Mise à jour ce soir");
    await dialog.getByRole("button", { name: "Envoyer le message" }).click();
    await dialog.waitFor({ state: "detached" });
    await page.getByText("Envoi à poste-atelier · poste-02\u00a0: Message").waitFor();
    await card.getByRole("button", { name: "Actions" }).click();
    await dialog.waitFor();

    await dialog.getByLabel("Action", { exact: true }).selectOption("reboot");
    await shows(dialog, ["Ceci redémarre poste-atelier · poste-02.", "le travail non enregistré est perdu"]);
    await dialog.getByRole("button", { name: "Redémarrer la machine" }).waitFor();
    expect(await englishIn(dialog)).toEqual([]);
    await screenshot(page, "console-french-reboot");
    await dialog.getByRole("button", { name: "Annuler" }).click();
    await dialog.waitFor({ state: "detached" });
    await toolbar.getByRole("button", { name: "Tableau" }).click();

    await page
      .getByRole("navigation", { name: "Navigation principale" })
      .getByRole("link", { name: "Activité" })
      .click();
    const history = page.locator("table").filter({ hasText: "Mise à jour ce soir" });
    // When it was queued, in French words: "à l'instant" for 5 s, then "il y a 7 s"; the steps since the
    // send may take longer than 5 s on a loaded machine, so either is French enough (never "ago").
    await shows(history, ["État", "Action", "Résultat", "Mise en file", "En attente", "Message"]);
    await shows(history, [/à l'instant|il y a \d+ (s|min)/]);
    await history.getByRole("button", { name: "Annuler" }).waitFor();
    expect(await englishIn(history)).toEqual([]);
    await screenshot(page, "console-french-activity");
    expect(owner.problems).toEqual([]);
  });

  test("the keys and users navigation, then the sign-in page, in French; back to English", async () => {
    const { page } = owner;
    const nav = page.getByRole("navigation", { name: "Navigation principale" });
    for (const [link, hash] of [
      ["Clés", "#/keys"],
      ["Utilisateurs", "#/users"],
    ] as const) {
      await nav.getByRole("link", { name: link }).click();
      await page.waitForURL(`**/${hash}`);
      // The router re-renders after the hash changes: wait for the current link, not a snapshot of it.
      await nav.locator("[aria-current='page']", { hasText: link }).waitFor();
      expect(await nav.locator("[aria-current='page']").innerText()).toBe(link);
      expect(await englishIn(topBar(page))).toEqual([]);
    }

    // Signed out, the sign-in page keeps the language; a wrong password is refused in French.
    await topBar(page).getByRole("button", { name: "Se déconnecter" }).click();
    const form = page.locator("form.panel");
    await shows(form, ["Connexion à la console", "E-mail", "Mot de passe", "Se connecter"]);
    await form.getByLabel("E-mail").fill(org.ownerEmail);
    await form.getByLabel("Mot de passe").fill("not the password");
    await form.getByRole("button", { name: "Se connecter" }).click();
    await shows(form, ["E-mail ou mot de passe incorrect."]);
    expect(await englishIn(form)).toEqual([]);
    await screenshot(page, "console-french-login");

    // Back to English from the sign-in page: the refusal is re-worded at once.
    await form.getByRole("combobox", { name: "Langue" }).selectOption("en");
    await shows(form, ["Sign in to the console", "Wrong email or password."]);
    expect(await page.evaluate(() => document.documentElement.lang)).toBe("en");
    await signInAs(page, org.ownerEmail, org.password);
    await shows(topBar(page), ["Fleet", "Activity", "Bulk jobs", "Sign out", "owner"]);
    const table = page.getByRole("table", { name: "Machines" });
    await shows(table, ["Last seen", "Disk 97 % full", "Critical"]);
    expect(owner.problems).toEqual([]);
  });
});

// Every page of the console (fleet, machine, action, activity, audit, bulk jobs and one bulk job, keys,
// users, settings) in French, in a real Chromium against the real server with real data: two
// machines that reported, a message delivered and done, a bulk job, audit rows, keys and users. On
// each page, the visible text (and the accessible names and placeholders) holds sampled French texts
// and none of the page's English words; counts are ICU plurals ("1 machine sélectionnée", "2 actions
// annulées"), numbers and dates are French; an action's timeline words the queueing and the agent's
// latest progress from the server's data; a cursor-paged list pages forward and back. Back in
// English, the English texts return at once.
// Screenshots under tests/artifacts/ (console-french-page-<page>.png).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, Page } from "playwright-core";
import { buildDashboard, launchBrowser, openPage, screenshot, signInAs, type WatchedPage } from "../helpers/browser.ts";
import { dashboardCopy } from "../helpers/dashboard-copy.ts";
import { enroll, startTestServer, type TestOrg, type TestServer, type TRPCClient } from "../helpers/server.ts";

let server: TestServer;
let org: TestOrg;
let browser: Browser;
let owner: WatchedPage;
let admin: TRPCClient;
let messageId = "";
let rebootId = "";
let bulkId = "";

/** What a person (or a screen reader) meets on the page: its text, accessible names, placeholders, titles. */
function pageWords(page: Page): Promise<string> {
  return page.evaluate(() => {
    const extra = [...document.querySelectorAll("[aria-label], [placeholder]")]
      .filter((el) => !el.closest("[hidden]"))
      .flatMap((el) => [el.getAttribute("aria-label") ?? "", el.getAttribute("placeholder") ?? ""]);
    return [document.body.innerText, ...extra].join("\n");
  });
}

/** The English words and phrases (whole words, case-sensitive) present in the page's words. */
async function leftInEnglish(page: Page, english: string[]): Promise<string[]> {
  const words = await pageWords(page);
  return english.filter((phrase) => {
    const escaped = phrase.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, "u").test(words);
  });
}

/**
 * Opens a page (hash route), waits for each French sample, then checks no English word is left and
 * saves a screenshot.
 */
async function visit(route: string, name: string, french: string[], english: string[]): Promise<void> {
  const { page } = owner;
  await page.evaluate((hash) => (location.hash = hash), route);
  for (const text of french) await page.getByText(text, { exact: false }).first().waitFor({ timeout: 15_000 });
  expect(await leftInEnglish(page, english), `${name}: English left`).toEqual([]);
  await screenshot(page, `console-french-page-${name}`);
}

/** English words of the shell every page shares (the top bar, the pager, empty states, dates). */
const SHELL = ["Fleet", "Activity", "Bulk jobs", "Keys", "Users", "Settings", "Sign out", "Loading", "ago", "just now"];

beforeAll(async () => {
  buildDashboard();
  server = await startTestServer({ env: { DASHFLEET_DASHBOARD_DIR: await dashboardCopy() } });
  org = await server.createOrg("Atelier Rivière");
  admin = server.client(org.adminKey);
  const agents: TRPCClient[] = [];
  for (const [id, host] of [
    ["poste-01", "poste-nord"],
    ["poste-02", "poste-sud"],
  ] as const) {
    const api = server.client(await enroll(server, org.agentKey, id, host));
    await api.agent.report.mutate({
      metrics: { cpuPercent: 21, memoryPercent: 48, diskPercent: 35, uptimeSeconds: 200_000 },
    });
    agents.push(api);
  }
  // A message the agent received and showed: its timeline has every status, its result is set.
  messageId = (
    await admin.actions.queue.mutate({
      machineId: "poste-01",
      type: "message",
      data: { title: "Réseau", message: "Coupure réseau à 18 h." },
    })
  ).id;
  const [a] = (await agents[0]!.agent.pendingActions.query()).actions;
  await agents[0]!.agent.ack.mutate({ actionId: a!.id, claimToken: a!.claimToken });
  await agents[0]!.agent.reportResult.mutate({
    actionId: a!.id,
    claimToken: a!.claimToken,
    status: "done",
    result: "Message affiché",
  });
  // A result whose sentence holds a time of another day (the server writes it as ISO).
  await admin.actions.queue.mutate({ machineId: "poste-02", type: "message", data: { message: "Inventaire." } });
  const [b] = (await agents[1]!.agent.pendingActions.query()).actions;
  await agents[1]!.agent.ack.mutate({ actionId: b!.id, claimToken: b!.claimToken });
  await agents[1]!.agent.reportResult.mutate({
    actionId: b!.id,
    claimToken: b!.claimToken,
    status: "done",
    result: "shown at 2026-11-20T08:30:00.000Z",
  });
  // A reboot the user postponed once, then reported done by the agent: waiting for the machine to come
  // back. Its timeline has the queueing, the agent's progress and the server's held result.
  rebootId = (
    await admin.actions.queue.mutate({
      machineId: "poste-02",
      type: "reboot",
      data: { countdownSeconds: 300, snoozeOptions: [600, 3600], maxSnoozes: 3 },
    })
  ).id;
  const c = (await agents[1]!.agent.pendingActions.query()).actions.find((x) => x.id === rebootId)!;
  await agents[1]!.agent.ack.mutate({ actionId: c.id, claimToken: c.claimToken });
  const at = new Date().toISOString();
  const later = new Date(Date.now() + 3_600_000).toISOString();
  await agents[1]!.agent.progress.mutate({
    actionId: c.id,
    claimToken: c.claimToken,
    seq: 0,
    event: { kind: "shown", at, snoozesLeft: 3 },
  });
  await agents[1]!.agent.progress.mutate({
    actionId: c.id,
    claimToken: c.claimToken,
    seq: 1,
    event: { kind: "snoozed", at, until: later, n: 1, max: 3 },
  });
  await agents[1]!.agent.reportResult.mutate({
    actionId: c.id,
    claimToken: c.claimToken,
    status: "done",
    result: "restarting",
  });
  // A bulk job to both machines that nobody has picked up yet (cancelled from its page below).
  bulkId = (
    await admin.bulk.create.mutate({
      target: { machineIds: ["poste-01", "poste-02"] },
      type: "message",
      data: { title: "Rappel", message: "Redémarrez ce soir." },
    })
  ).bulkId;
  browser = await launchBrowser();
  owner = await openPage(browser, server.url, { width: 1366, height: 900 });
  await signInAs(owner.page, org.ownerEmail, org.password);
  await owner.page.getByRole("combobox", { name: "Language" }).selectOption("fr");
  await owner.page.getByRole("combobox", { name: "Langue" }).waitFor();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("every page of the console in French", () => {
  test("fleet: counters, selection and paging in French, counts as plurals", async () => {
    await visit(
      "#/fleet",
      "fleet",
      ["2 machines", "2 en ligne", "0 hors ligne", "Sélectionnez des lignes", "Lignes par page"],
      [...SHELL, "online", "offline", "Select rows", "Rows per page", "Send to labels", "Health summary", "Show"],
    );
    const { page } = owner;
    await page.locator("tbody input[type=checkbox]").first().check();
    await page.getByText("1 machine sélectionnée").waitFor();
    await page.getByRole("button", { name: "Envoyer une action à 1 machine" }).waitFor();
    await page.getByRole("button", { name: "Sélectionner les 2 machines qui correspondent" }).click();
    await page.getByText("Les 2 machines qui correspondent (tout le parc)").waitFor();
    expect(await leftInEnglish(page, ["selected", "Send action", "Clear selection", "matching", "All"])).toEqual([]);
    await screenshot(page, "console-french-page-fleet-selection");
    await page.getByRole("button", { name: "Effacer la sélection" }).click();
  });

  test("machine: facts, metrics and history in French, dates in French", async () => {
    await visit(
      "#/machines/poste-01",
      "machine",
      [
        "Modifier le nom et les étiquettes",
        "Allumée depuis",
        "Inscrite le",
        "Historique des actions",
        "Dernier contact",
      ],
      [
        ...SHELL,
        "Edit name",
        "Uptime",
        "Enrolled",
        "Queued actions",
        "Last seen",
        "CPU and memory",
        "Action history",
        "Status",
        "All",
        "Memory",
        "Disk",
        "hostname",
      ],
    );
    // 200,000 s of uptime: "2 jours 7 h"-style words, never "days".
    expect(await leftInEnglish(owner.page, ["days", "day", "Jan", "Feb", "Nov", "Dec"])).toEqual([]);
    // Each usage bar keeps clear of its label's text ("Processeur" once touched its bar), and the
    // three bars start at the same x.
    const bars = await owner.page.locator(".metric").evaluateAll((rows) =>
      rows.map((row) => {
        const range = document.createRange();
        range.selectNodeContents(row.querySelector(".label")!);
        return {
          label: row.querySelector(".label")!.textContent,
          textEnd: range.getBoundingClientRect().right,
          barStart: row.querySelector(".track")!.getBoundingClientRect().left,
        };
      }),
    );
    expect(bars.map((b) => b.label)).toEqual(["Processeur", "Mémoire", "Disque"]);
    for (const b of bars) expect(b.barStart - b.textEnd, b.label ?? "").toBeGreaterThanOrEqual(6);
    expect(new Set(bars.map((b) => Math.round(b.barStart))).size).toBe(1);
  });

  test("an action table's result: a time of another day in French", async () => {
    await visit("#/machines/poste-02", "machine-result", ["20 nov. 2026"], [...SHELL, "Nov", "2026-11-20T08"]);
  });

  test("action: what was sent, its result and its timeline in French", async () => {
    await visit(
      `#/actions/${messageId}`,
      "action",
      ["Chronologie", "Contenu", "envoyée par", "Résultat", "Message affiché", "Coupure réseau à 18 h."],
      [...SHELL, "Timeline", "Sent", "sent by", "Result", "Status", "Queued", "Delivered", "Running", "Done", "to"],
    );
  });

  test("action timeline: the queueing and the latest progress worded from the server's data, in French", async () => {
    // Who queued it (the action's createdBy), the agent's latest progress (the action's progress) and
    // the server's own "held" step: French, not the server's sentences ("queued by key:admin",
    // "snoozed 1 of 3, next prompt …"). The older "shown" event keeps the server's sentence (no data).
    await visit(
      `#/actions/${rebootId}`,
      "action-reboot",
      [
        "mise en file par clé admin",
        "Reportée par l'utilisateur jusqu'à",
        "(1 sur 3)",
        "L'agent a signalé la fin\u202f; en attente du retour de la machine",
      ],
      [...SHELL, "queued by", "key:admin", "snoozed 1 of 3", "next prompt", "held-result"],
    );
  });

  test("activity: filters, rows and paging in French; a filter shows “Effacer les filtres”", async () => {
    await visit(
      "#/activity?status=done",
      "activity",
      ["Toutes les actions envoyées au parc", "Envoyée par", "Envoi groupé", "Effacer les filtres", "Du", "Au"],
      [
        ...SHELL,
        "Every action",
        "Sent by",
        "Bulk job",
        "Machine id",
        "Clear filters",
        "From",
        "To",
        "All",
        "Done",
        "Status",
        "bulk job id",
      ],
    );
    await owner.page.getByRole("button", { name: "Effacer les filtres" }).click();
    await owner.page.getByRole("button", { name: "Effacer les filtres" }).waitFor({ state: "detached" });
  });

  test("audit log: columns, filters and the recorded changes in French", async () => {
    await visit(
      "#/audit",
      "audit",
      [
        "Journal d'audit",
        "Qui",
        "Quoi",
        "Actualiser",
        "Détails",
        "Cible\u00a0: 2 machines",
        "Rôle\u00a0: propriétaire",
      ],
      [
        ...SHELL,
        "Audit log",
        "Who",
        "What",
        "Refresh",
        "Details",
        "When",
        "Started a bulk job",
        "Queued an action",
        "Nothing recorded",
        "Target",
        "Count",
        "Scopes",
        "Action ids",
        "owner",
      ],
    );
  });

  test("bulk jobs: the list, then the job, its counters and “cancel the rest” in French", async () => {
    // A job by filter: the server sends its target as data, worded with the console's filter words
    // (its English sentence, "machines matching …; online", never reaches the page).
    const byFilter = (
      await admin.bulk.create.mutate({
        target: { filter: { online: true, search: "poste" } },
        type: "message",
        data: { message: "Mise à jour ce soir." },
      })
    ).bulkId;
    const filterWords = "machines\u00a0: en ligne, correspondant à «\u00a0poste\u00a0»";
    const englishTarget = ["machines matching", "online", "search", "all machines"];
    await visit(
      "#/bulk",
      "bulk-list",
      ["Envoi", "Cible", "Avancement", "0 / 2", filterWords],
      [...SHELL, ...englishTarget, "Job", "Target", "Progress", "Sent by", "When", "Message to"],
    );
    expect(await owner.page.locator(`tr[data-bulk-id="${byFilter}"]`).innerText()).toContain(filterWords);
    await visit(
      `#/bulk/${byFilter}`,
      "bulk-job-filter",
      [filterWords, "0 sur 2 terminées"],
      [...SHELL, ...englishTarget],
    );
    // Its audit entry words the same target in French (the stored English sentence stays unused).
    await visit(
      "#/audit",
      "audit-bulk-filter",
      [`Cible\u00a0: ${filterWords}`],
      [...englishTarget, "kind", "targetSpec"],
    );
    await visit(
      `#/bulk/${bulkId}`,
      "bulk-job",
      ["0 sur 2 terminées", "Annuler le reste (2)", "Chronologie", "Machines"],
      [...SHELL, "finished", "Cancel the rest", "Timeline", "Result", "Details", "Waiting", "sent by"],
    );
    const { page } = owner;
    await page.getByRole("button", { name: "Annuler le reste (2)" }).click();
    const dialog = page.getByRole("dialog", { name: "Annuler le reste de cet envoi\u202f?" });
    await dialog.getByText("2 machines qui n'ont pas encore commencé ne recevront pas cette action.").waitFor();
    await screenshot(page, "console-french-page-bulk-cancel");
    await dialog.getByRole("button", { name: "Annuler le reste" }).click();
    await page.getByText("2 actions annulées").waitFor();
    await page.getByText("2 sur 2 terminées").waitFor();
  });

  test("keys: the list, a key created and shown once, in French", async () => {
    await visit(
      "#/keys",
      "keys",
      ["Clés d'API", "Portée", "Créer la clé", "Dernière utilisation", "Agent (inscrire des machines)"],
      [...SHELL, "API keys", "Scope", "Create key", "Last used", "Revoke", "never", "Created", "Name", "revoked"],
    );
    const { page } = owner;
    // Scope badges in words, not the codes "agent" / "admin".
    expect(await page.locator('.badge[data-scope="admin"]').first().innerText()).toBe("administration");
    expect(await page.locator('.badge[data-scope="agent"]').first().innerText()).toBe("agent");
    await page.getByLabel("Nom", { exact: true }).fill("Portables");
    await page.getByRole("button", { name: "Créer la clé" }).click();
    const shown = page.getByRole("dialog", { name: "Clé créée" });
    await shown.getByText("Copiez «\u00a0Portables\u00a0» maintenant.", { exact: false }).waitFor();
    await shown.getByText("Clé (agent)").waitFor();
    expect(await leftInEnglish(page, ["Copy", "Done", "Key created", "now"])).toEqual([]);
    await screenshot(page, "console-french-page-keys-created");
    await shown.getByRole("button", { name: "Terminé" }).click();
  });

  test("users: the list, roles and a user added, in French", async () => {
    await visit(
      "#/users",
      "users",
      ["Mot de passe initial", "Ajouter l'utilisateur", "propriétaire", "vous"],
      [...SHELL, "Initial password", "Add user", "owner", "viewer", "you", "Role", "Email", "Added"],
    );
    const { page } = owner;
    await page.getByLabel("E-mail", { exact: true }).fill("lea.martin@exemple.test");
    await page.getByLabel("Mot de passe initial").fill("une phrase de passe");
    await page.getByLabel("Rôle", { exact: true }).selectOption("viewer");
    await page.getByText("lecture seule").waitFor();
    await page.getByRole("button", { name: "Ajouter l'utilisateur" }).click();
    await page.getByText("lea.martin@exemple.test ajouté comme lecteur").waitFor();
    expect(await leftInEnglish(page, ["added as", "viewer", "Remove"])).toEqual([]);
  });

  test("settings: in French", async () => {
    await visit(
      "#/settings",
      "settings",
      ["Paramètres", "Redémarrage par défaut", "Enregistrer la marque", "Aperçu"],
      [...SHELL, "Reboot defaults", "Save branding", "Preview", "Support text"],
    );
  });

  test("paging a cursor-paged page forward and back, in French (28 bulk jobs, 25 a page)", async () => {
    for (let i = 0; i < 26; i++)
      await admin.bulk.create.mutate({
        target: { machineIds: ["poste-02"] },
        type: "message",
        data: { title: "Série", message: `Envoi ${i}` },
      });
    const { page } = owner;
    await page.evaluate(() => (location.hash = "#/bulk"));
    const pager = page.getByRole("navigation", { name: "Pages des envois groupés" });
    await pager.getByText("1–25").waitFor();
    await pager.getByRole("button", { name: "Suivant →" }).click();
    await pager.getByText("26–28").waitFor();
    await page.locator(`tr[data-bulk-id="${bulkId}"]`).waitFor();
    await pager.getByRole("button", { name: "← Précédent" }).click();
    await pager.getByText("1–25").waitFor();
    expect(await page.locator(`tr[data-bulk-id="${bulkId}"]`).count()).toBe(0);
  });

  test("back in English, the pages read English at once", async () => {
    const { page } = owner;
    await page.getByRole("combobox", { name: "Langue" }).selectOption("en");
    await page.evaluate(() => (location.hash = "#/activity"));
    await page.getByText("Every action sent to the fleet, newest first.").waitFor();
    await page.evaluate(() => (location.hash = `#/audit`));
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    await page.evaluate((id) => (location.hash = `#/bulk/${id}`), bulkId);
    await page.getByText("2 of 2 finished").waitFor();
    expect(await leftInEnglish(page, ["terminées", "Chronologie", "Parc", "Activité"])).toEqual([]);
    expect(owner.problems).toEqual([]);
  });
});

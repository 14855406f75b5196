// The console's one module of human words: every status, user choice and health band has words (no
// raw code reaches the page), and zod's default validation texts are rewritten into sentences; the same
// in French through the console's translator (ICU plurals, French number grouping and typography).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { z } from "zod";
import { actionStatuses, ActionSpec, UserChoice, type BulkTargetView } from "../../server/contract/index.ts";
import { describeBulkTarget } from "../../dashboard/src/lib/fleet-query.ts";
import { consoleTranslator } from "../../dashboard/src/lib/i18n/index.ts";
import {
  actionTypeWord,
  actionTypeWords,
  actorFilter,
  actorWord,
  auditActions,
  auditWord,
  bulkJobTitle,
  errorWords,
  eventKindWord,
  fieldWord,
  healthReasonWord,
  healthWord,
  healthWords,
  issueWords,
  machinesWord,
  onlineWord,
  postponedWords,
  progressWords,
  sentWords,
  statusExplanation,
  statusExplanations,
  statusWord,
  statusWords,
  userChoiceWord,
  userChoiceWords,
} from "../../dashboard/src/lib/words.ts";

describe("words for codes", () => {
  test("every action status from the statuses module has a badge word and an explanation", () => {
    for (const s of actionStatuses) {
      expect(statusWords[s]).toMatch(/^[A-Z][a-z ]+$/);
      expect(statusExplanations[s].length).toBeGreaterThan(10);
    }
    expect(Object.keys(statusWords).sort()).toEqual([...actionStatuses].sort());
  });

  test("every user choice has words without its code (no postponed-max on screen)", () => {
    for (const c of UserChoice.options) {
      expect(userChoiceWords[c]).not.toContain("-");
      expect(userChoiceWord(c)).toBe(userChoiceWords[c]);
    }
    expect(userChoiceWord("postponed-max")).toBe("the user postponed as often as allowed");
    expect(userChoiceWord("some-future-choice")).toBe("the user answered");
    expect(userChoiceWord(null)).toBe("");
  });

  test("health bands, audit actions and actors read as words", () => {
    expect(healthWords).toEqual({ good: "Healthy", degraded: "Degraded", critical: "Critical", nodata: "No data" });
    expect(auditWord("keys.revoke")).toBe("Revoked a key");
    expect(auditWord("machines.setSomething")).toBe("Machines set something");
    expect(actorWord("user:ana@example.com")).toBe("ana@example.com");
    expect(actorWord("key:CI robot")).toBe("key CI robot");
  });

  test("a bulk job reads the same on its page and in the list: type, count and 'machines'", () => {
    expect(bulkJobTitle("message", 3)).toBe("Message to 3 machines");
    expect(bulkJobTitle("reboot", 1)).toBe("Reboot to 1 machine");
    expect(bulkJobTitle("restart", 100000)).toBe(`${actionTypeWords.restart} to 100,000 machines`);
    expect(bulkJobTitle("__proto__", 2)).toBe("Action to 2 machines");
  });

  test("a bulk job's target (the server's data, not its English sentence) reads in the console's language", () => {
    const fr = consoleTranslator("fr");
    const web: BulkTargetView = { kind: "filter", filter: { online: true, labels: ["web"] } };
    expect(describeBulkTarget(web)).toBe("machines: online, label web");
    expect(describeBulkTarget(web, fr)).toBe("machines\u00a0: en ligne, étiquette web");
    expect(describeBulkTarget({ kind: "filter", filter: {} }, fr)).toBe("toutes les machines");
    expect(describeBulkTarget({ kind: "machines", count: 1200, machineId: null }, fr)).toBe("1\u202f200 machines");
    expect(describeBulkTarget({ kind: "machines", count: 1, machineId: "poste-01" })).toBe("Machine poste-01");
  });

  test("a Who / Sent by filter typed as shown finds the stored actor (actorFilter inverts actorWord)", () => {
    for (const actor of ["user:ana@example.com", "key:CI robot", "cli"])
      expect(actorFilter(actorWord(actor))).toBe(actor);
    expect(actorFilter("  user:ana@example.com ")).toBe("user:ana@example.com");
    expect(actorFilter("key:ci")).toBe("key:ci");
    expect(actorFilter("setup")).toBe("setup");
    expect(actorFilter("   ")).toBeUndefined();
    expect(actorFilter(undefined)).toBeUndefined();
  });

  test("every audit action the server writes has its own words (none falls back to the de-dotted name)", () => {
    // The literals the services pass as an audit row's action (`action: "…"`) or as a queue's `via`.
    const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../server");
    const written = new Set<string>();
    for (const file of fs.readdirSync(serverDir, { recursive: true, encoding: "utf8" })) {
      if (!file.endsWith(".ts") || file.startsWith("generated")) continue;
      const text = fs.readFileSync(path.join(serverDir, file), "utf8");
      for (const m of text.matchAll(/\b(?:action|via): "([a-zA-Z]+(?:\.[a-zA-Z]+)+)"/g)) written.add(m[1]!);
    }
    expect(written.size).toBeGreaterThan(15);
    expect([...written].filter((a) => !auditActions.includes(a))).toEqual([]);
    expect(auditWord("orgs.legacyAgents")).toBe("Turned legacy agent mode on or off");
  });

  test("field paths become labels", () => {
    expect(fieldWord("data.countdownSeconds")).toBe("Countdown");
    expect(fieldWord("labels.3")).toBe("Labels");
    expect(fieldWord("target.filter.search")).toBe("Search");
    expect(fieldWord("reportIntervalSeconds")).toBe("Report interval seconds");
  });
});

describe("validation messages in words", () => {
  const messageOf = (schema: z.ZodType, value: unknown) => {
    const r = schema.safeParse(value);
    if (r.success) throw new Error("expected a failure");
    return r.error.issues[0]!.message;
  };

  test("zod's own texts for numbers, strings, arrays and types are rewritten", () => {
    expect(issueWords(messageOf(z.number().int().min(10), 5))).toBe("Must be at least 10");
    expect(issueWords(messageOf(z.number().max(3600), 9000))).toBe("Must be at most 3600");
    expect(issueWords(messageOf(z.number().gt(0), 0))).toBe("Must be at least 1");
    expect(issueWords(messageOf(z.string().max(128), "x".repeat(200)))).toBe("At most 128 characters");
    expect(issueWords(messageOf(z.string().min(1), ""))).toBe("Required");
    expect(issueWords(messageOf(z.string().min(3), "ab"))).toBe("Needs at least 3 characters");
    expect(issueWords(messageOf(z.array(z.string()).max(500), Array(501).fill("a")))).toBe("At most 500 items");
    expect(issueWords(messageOf(z.object({ a: z.string() }), {}))).toBe("Required");
    expect(issueWords(messageOf(z.number(), "x"))).toBe("Must be a number");
    expect(issueWords(messageOf(z.enum(["a", "b"]), "c"))).toBe("Is not one of the choices");
    expect(issueWords(messageOf(z.string().uuid(), "nope"))).toBe("Is not a valid id");
    expect(issueWords(messageOf(z.object({}).strict(), { x: 1 }))).toBe("Is not expected here");
  });

  test("no zod text survives for the action form's schema", () => {
    const bad = [
      { type: "reboot", data: { countdownSeconds: 5, maxPostpones: 3 } },
      { type: "reboot", data: { countdownSeconds: 60, maxPostpones: 99 } },
      { type: "message", data: { message: "" } },
      { type: "message", data: { message: "x".repeat(5000) } },
    ];
    for (const input of bad) {
      const r = ActionSpec.safeParse(input);
      expect(r.success).toBe(false);
      for (const i of r.error!.issues) {
        const words = issueWords(i.message);
        expect(words).not.toMatch(/expected|received|[<>]=|Too (small|big)/);
        expect(words).toMatch(/^[A-Z]/);
      }
    }
  });

  test("our own messages keep their meaning with a capital letter", () => {
    expect(issueWords("message is required")).toBe("Message is required");
  });

  test("a server message naming fields becomes one sentence per field", () => {
    expect(errorWords("machineIds: Too big: expected array to have <=500 items")).toBe("Machines: at most 500 items");
    expect(
      errorWords("data.message: message is required; data.countdownSeconds: Too small: expected number to be >=10"),
    ).toBe("Message: message is required; Countdown: must be at least 10");
    expect(errorWords("No such machine")).toBe("No such machine");
  });
});

describe("agent progress in words", () => {
  test("each progress kind reads as a sentence; unknown shapes give nothing", async () => {
    const at = "2026-11-25T12:00:00.000Z";
    expect(progressWords({ kind: "snoozed", at, until: "2026-11-25T14:30:00.000Z", n: 2, max: 3 })).toMatch(
      /^Postponed by the user until \d\d:\d\d \(2 of 3\)$/,
    );
    expect(progressWords({ kind: "waiting", at, until: null, reason: "no-user" })).toBe(
      "Waiting for a user to sign in",
    );
    expect(progressWords({ kind: "restarting", at, choice: "final-stage-elapsed" })).toBe(
      "Restarting: the final countdown ran out",
    );
    expect(progressWords({ kind: "shown", at, snoozesLeft: 1 })).toBe("Shown to the user, 1 postponement left");
    expect(progressWords({ kind: "something-new", at })).toBe("");
    expect(progressWords(null)).toBe("");
  });
});

describe("the same words in French (the console's translator)", () => {
  const fr = consoleTranslator("fr");

  test("statuses, choices, types, health and online state have French words, never the English ones", () => {
    for (const s of actionStatuses) {
      expect(statusWord(s, fr)).not.toBe(statusWord(s));
      expect(statusExplanation(s, fr)).not.toBe(statusExplanation(s));
    }
    expect(statusWord("executing", fr)).toBe("En cours");
    expect(statusWord("unknown", fr)).toBe("Issue inconnue");
    for (const c of UserChoice.options) expect(userChoiceWord(c, fr)).not.toBe(userChoiceWord(c));
    expect(userChoiceWord("postponed-max", fr)).toBe("l'utilisateur a reporté autant de fois que permis");
    expect(userChoiceWord("some-future-choice", fr)).toBe("l'utilisateur a répondu");
    expect(actionTypeWord("reboot", fr)).toBe("Redémarrage");
    expect(actionTypeWord("__proto__", fr)).toBe("Action");
    expect(healthWord("nodata", fr)).toBe("Aucune donnée");
    expect(onlineWord(true, fr)).toBe("En ligne");
    expect(onlineWord(null, fr)).toBe("Inconnu");
    expect(eventKindWord("came-back", fr)).toBe("La machine est revenue");
    expect(eventKindWord("something-new", fr)).toBe("something-new");
  });

  test("counts use ICU plurals and French number grouping", () => {
    expect(bulkJobTitle("message", 1, fr)).toBe("Message pour 1 machine");
    expect(bulkJobTitle("reboot", 100000, fr)).toBe("Redémarrage pour 100\u202f000 machines");
    expect(machinesWord(2, fr)).toBe("2 machines");
    expect(postponedWords(1)).toBe("postponed 1 time");
    expect(postponedWords(3)).toBe("postponed 3 times");
    expect(sentWords("reboot", { countdownSeconds: 60, maxSnoozes: 1, deadlineSeconds: 3600 }, fr)).toBe(
      "compte à rebours de 60 s, jusqu'à 1 report, avec une échéance",
    );
    expect(sentWords("reboot", { countdownSeconds: 60, maxPostpones: 3 }, fr)).toBe(
      "compte à rebours de 60 s, jusqu'à 3 reports",
    );
  });

  test("audit actions, actors and fields in French; the actor filter understands both languages", () => {
    for (const a of auditActions) expect(auditWord(a, fr)).not.toBe(auditWord(a));
    expect(auditWord("keys.revoke", fr)).toBe("A révoqué une clé");
    expect(actorWord("key:CI robot", fr)).toBe("clé CI robot");
    expect(actorWord("cli", fr)).toBe("ligne de commande");
    for (const actor of ["user:ana@example.com", "key:CI robot", "cli"]) {
      expect(actorFilter(actorWord(actor, fr), fr)).toBe(actor);
      expect(actorFilter(actorWord(actor), fr)).toBe(actor); // typed in English in a French console
    }
    expect(fieldWord("data.countdownSeconds", fr)).toBe("Compte à rebours");
    expect(fieldWord("labels.3", fr)).toBe("Étiquettes");
  });

  test("validation messages in French: zod's texts and the contract's own", () => {
    const messageOf = (schema: z.ZodType, value: unknown) => {
      const r = schema.safeParse(value);
      if (r.success) throw new Error("expected a failure");
      return r.error.issues[0]!.message;
    };
    expect(issueWords(messageOf(z.number().int().min(10), 5), fr)).toBe("Doit valoir au moins 10");
    expect(issueWords(messageOf(z.number().max(3600), 9000), fr)).toBe("Doit valoir au plus 3600");
    expect(issueWords(messageOf(z.string().min(1), ""), fr)).toBe("Obligatoire");
    expect(issueWords(messageOf(z.string().min(3), "ab"), fr)).toBe("Au moins 3 caractères");
    expect(issueWords(messageOf(z.string().max(1), "ab"), fr)).toBe("1 caractère au plus");
    expect(issueWords(messageOf(z.array(z.string()).max(500), Array(501).fill("a")), fr)).toBe("500 éléments au plus");
    expect(issueWords(messageOf(z.number(), "x"), fr)).toBe("Doit être un nombre");
    expect(issueWords(messageOf(z.enum(["a", "b"]), "c"), fr)).toBe("Ne fait pas partie des choix");
    expect(issueWords("message is required", fr)).toBe("Le message est obligatoire");
    expect(issueWords("snooze options must differ", fr)).toBe("Les durées de report doivent être différentes");
    expect(
      errorWords("data.message: message is required; data.countdownSeconds: Too small: expected number to be >=10", fr),
    ).toBe("Message\u00a0: le message est obligatoire\u202f; Compte à rebours\u00a0: doit valoir au moins 10");
    // Every issue of the action form's schema reads in French: none is the English text.
    for (const input of [
      { type: "reboot", data: { countdownSeconds: 5, maxPostpones: 3 } },
      { type: "message", data: { message: "" } },
      { type: "message", data: { message: "x".repeat(5000) } },
    ]) {
      const r = ActionSpec.safeParse(input);
      for (const i of r.error!.issues) expect(issueWords(i.message, fr)).not.toBe(issueWords(i.message));
    }
  });

  test("the server's health reasons and the agent's progress in French", () => {
    expect(healthReasonWord("CPU 98 % over the last 3 reports", fr)).toBe(
      "Processeur à 98\u00a0% sur les 3 derniers rapports",
    );
    expect(healthReasonWord("Memory 91 % in the latest report", fr)).toBe(
      "Mémoire à 91\u00a0% dans le dernier rapport",
    );
    expect(healthReasonWord("Disk 97 % full", fr)).toBe("Disque plein à 97\u00a0%");
    expect(healthReasonWord("High load together: CPU 75 %, memory 80 %", fr)).toBe(
      "Charge élevée sur plusieurs points\u00a0: Processeur 75\u00a0%, mémoire 80\u00a0%",
    );
    expect(healthReasonWord("CPU 98 % over the last 3 reports")).toBe("CPU 98 % over the last 3 reports");
    expect(healthReasonWord("Something new", fr)).toBe("Something new");
    const at = "2026-11-25T12:00:00.000Z";
    expect(progressWords({ kind: "snoozed", at, until: "2026-11-25T14:30:00.000Z", n: 2, max: 3 }, fr)).toMatch(
      /^Reportée par l'utilisateur jusqu'à \d\d:\d\d \(2 sur 3\)$/,
    );
    expect(progressWords({ kind: "shown", at, snoozesLeft: 2 }, fr)).toBe(
      "Affichée à l'utilisateur, 2 reports restants",
    );
    expect(progressWords({ kind: "restarting", at, choice: "no-user" }, fr)).toBe(
      "Redémarrage\u00a0: personne n'était connecté",
    );
  });
});

// The words of the end-user experience in the console (issue 11): durations, a policy as the user
// will live it, message options, and the live line of an action while its user decides.
import { describe, expect, test } from "vitest";
import { RebootPolicy } from "../../server/contract/index.ts";
import {
  durationWords,
  liveProgressWords,
  localTimes,
  messageOptionsWords,
  policyWords,
  timeOfDay,
} from "../../dashboard/src/lib/policy-words.ts";
import { sentWords } from "../../dashboard/src/lib/words.ts";
import { consoleTranslator } from "../../dashboard/src/lib/i18n/index.ts";

describe("policy words", () => {
  test("durations read as people say them", () => {
    expect([45, 60, 600, 90, 3600, 5400, 86400, 2 * 86400 + 4 * 3600].map((s) => durationWords(s))).toEqual([
      "45 s",
      "1 min",
      "10 min",
      "1 min 30 s",
      "1 h",
      "1 h 30 min",
      "1 day",
      "2 days 4 h",
    ]);
  });

  test("a full policy becomes one sentence per stage", () => {
    const p = RebootPolicy.parse({
      countdownSeconds: 300,
      snoozeOptions: [14400, 600, 3600],
      maxSnoozes: 3,
      deadlineSeconds: 8 * 3600,
      finalCountdownSeconds: 900,
      quietHours: { start: "22:00", end: "06:00" },
      waitForQuietHours: true,
      noUserAction: "reboot-in-window",
    });
    expect(policyWords(p)).toEqual([
      "The user sees a 5 min countdown, with “Restart now”.",
      "They may snooze up to 3 times, for 10 min, 1 h or 4 h.",
      "8 h after it reaches the machine, a final 15 min countdown starts that cannot be snoozed or closed.",
      "Prompts wait for the maintenance window (22:00–06:00, the machine's time); the deadline wins over it.",
      "With nobody signed in, it restarts in the maintenance window (22:00–06:00).",
    ]);
    // The built-in policy ({} → 60 s, 3 postponements of the agent's 10 min), no deadline.
    expect(policyWords(RebootPolicy.parse({}))).toEqual([
      "The user sees a 1 min countdown, with “Restart now”.",
      "They may snooze up to 3 times, for 10 min.",
      "There is no deadline: once the snoozes are used up, the countdown restarts the machine.",
      "With nobody signed in, the machine restarts at once.",
    ]);
    expect(policyWords(RebootPolicy.parse({ maxSnoozes: 0 }))[1]).toBe("They cannot snooze it.");
    // French, with the agent's own words for "Restart now" and days (no string written twice).
    expect(policyWords(p, consoleTranslator("fr"))).toEqual([
      "L'utilisateur voit un compte à rebours de 5 min, avec «\u00a0Redémarrer maintenant\u00a0».",
      "Il peut le reporter jusqu'à 3 fois, de 10 min, 1 h ou 4 h.",
      "8 h après son arrivée sur la machine, un compte à rebours final de 15 min démarre\u202f; il ne peut être ni reporté ni fermé.",
      "Les demandes attendent la fenêtre de maintenance (22:00–06:00, heure de la machine)\u202f; l'échéance passe avant.",
      "Si personne n'est connecté, elle redémarre dans la fenêtre de maintenance (22:00–06:00).",
    ]);
    expect(durationWords(2 * 86400, consoleTranslator("fr"))).toBe("2 jours");
  });

  test("a row says what a reboot sends, with the new limit or the original one", () => {
    expect(sentWords("reboot", { countdownSeconds: 120, maxSnoozes: 1, deadlineSeconds: 3600 })).toBe(
      "120 s countdown, up to 1 snooze, with a deadline",
    );
    expect(sentWords("reboot", { countdownSeconds: 60, maxPostpones: 3 })).toBe("60 s countdown, up to 3 snoozes");
  });

  test("ISO times in the server's sentences read in the admin's time", () => {
    const now = new Date(2026, 10, 25, 21, 0);
    const today = new Date(2026, 10, 25, 22, 46).toISOString();
    const tomorrow = new Date(2026, 10, 26, 5, 46).toISOString();
    expect(localTimes(`snoozed 1 of 3, next prompt ${today}`, now)).toBe("snoozed 1 of 3, next prompt 22:46");
    expect(localTimes(`deadline ${tomorrow}; 2 snoozes left`, now)).toBe("deadline 26 Nov 2026, 05:46; 2 snoozes left");
    expect(localTimes("no time here", now)).toBe("no time here");
  });

  test("message options in one sentence", () => {
    expect(
      messageOptionsWords({ display: "notification", requireAcknowledgement: true }, consoleTranslator("fr")),
    ).toBe(
      "Affiché comme une fenêtre qui reste jusqu'à ce que l'utilisateur clique sur «\u00a0J'ai lu ce message\u00a0» (l'heure est enregistrée), marqué information. Texte brut seulement\u202f: les liens restent du texte.",
    );
    expect(messageOptionsWords({ display: "notification" })).toBe(
      "Shown as a notification, marked information. Plain text only: links are shown as text.",
    );
    expect(messageOptionsWords({ display: "dialog", requireAcknowledgement: true, urgency: "critical" })).toMatch(
      /^Shown as a window that stays until the user clicks “I have read this” \(the time is recorded\), marked critical\./,
    );
  });

  test("the live line while the user snoozes, from Action.progress as the server stores it", () => {
    const until = "2026-06-01T14:05:00.000Z";
    const deadline = "2026-06-01T18:00:00.000Z";
    const stored = {
      kind: "snoozed",
      at: "2026-06-01T13:05:00.000Z",
      until,
      n: 1,
      max: 3,
      seq: 1,
      receivedAt: "x",
      deadlineAt: deadline,
    };
    expect(liveProgressWords("executing", stored)).toBe(
      `waiting for the user — snoozed 1 of 3, next prompt ${timeOfDay(until)}, deadline ${timeOfDay(deadline)}`,
    );
    const shown = { kind: "shown", at: until, snoozesLeft: 2, seq: 2, receivedAt: "x", deadlineAt: deadline };
    expect(liveProgressWords("executing", shown)).toBe(
      `waiting for the user — prompt on screen, 2 snoozes left, deadline ${timeOfDay(deadline)}`,
    );
    const final = { kind: "final-stage", at: until, endsAt: deadline, seq: 3, receivedAt: "x", deadlineAt: deadline };
    expect(liveProgressWords("executing", final)).toBe(
      `final countdown — restarts at ${timeOfDay(deadline)}, cannot be snoozed`,
    );
    const noUser = {
      kind: "waiting",
      at: until,
      until: null,
      reason: "no-user",
      seq: 0,
      receivedAt: "x",
      deadlineAt: null,
    };
    expect(liveProgressWords("executing", noUser)).toBe("waiting for a user to sign in");
    // In French, from the console's catalogue (ICU plurals).
    const fr = consoleTranslator("fr-FR");
    expect(liveProgressWords("executing", stored, fr)).toBe(
      `en attente de l'utilisateur — reporté 1 sur 3, prochain rappel ${timeOfDay(until)}, échéance ${timeOfDay(deadline)}`,
    );
    expect(liveProgressWords("executing", { ...shown, snoozesLeft: 1 }, fr)).toContain("1 report restant");
    expect(liveProgressWords("executing", shown, fr)).toContain("2 reports restants");
    // Finished, or nothing reported, or garbage: no line.
    expect(liveProgressWords("done", stored)).toBe("");
    expect(liveProgressWords("executing", null)).toBe("");
    expect(liveProgressWords("executing", { kind: "toString" })).toBe("");
  });
});

// "No string written twice" (issue 11): in the merged English catalogue (en.ts = components + pages +
// end-user texts) no two keys share a text, so a word used in two places is one key used twice. The
// only exceptions are the pairs below, where one English word has two meanings the French tells
// apart (or that are different things sharing a name); each says why, as its catalogue line does.
import { describe, expect, test } from "vitest";
import { en } from "../../dashboard/src/lib/i18n/en.ts";
import { fr } from "../../dashboard/src/lib/i18n/fr.ts";

type Key = keyof typeof en;
/** Context pairs allowed to share their English text. */
const sameEnglishOnPurpose: [Key, Key, string][] = [
  ["status.done", "keys.done", "a status (« Terminée », agrees with « action ») vs the dialog's button (« Terminé »)"],
  ["field.to", "editor.windowTo", "the end of a date range (« Au ») vs the end of a daily window (« À »)"],
  ["field.data.display", "toolbar.showAs", "how a message appears (« Afficher comme ») vs a layout (« Afficher en »)"],
  [
    "fleetTable.queued",
    "actionTable.queued",
    "how many actions wait (« En file ») vs when one was queued (« Mise en file »)",
  ],
  ["reenroll.dismiss", "toasts.dismiss", "rejecting a request (« Écarter ») vs closing a notice (« Fermer »)"],
  ["type.message", "field.data.message", "the kind of action vs the text the user reads"],
  ["type.other", "dialog.action", "the name of an action type this console does not know vs the picker's label"],
  [
    "keys.scopeWord.admin",
    "shell.role.admin",
    "a kind of key (« administration ») vs a person's role (« administrateur »)",
  ],
  ["sort.hostname", "field.name", "sorting by the machine's name vs the name field of a key or user"],
];
const pairId = (a: string, b: string) => [a, b].sort().join(" = ");

/** Every pair of keys whose English text is the same. */
function sharedTexts(catalogue: Record<string, string>): string[] {
  const byText = new Map<string, string[]>();
  for (const [key, text] of Object.entries(catalogue)) byText.set(text, [...(byText.get(text) ?? []), key]);
  const pairs: string[] = [];
  for (const keys of byText.values())
    for (let i = 0; i < keys.length; i++)
      for (let j = i + 1; j < keys.length; j++) pairs.push(pairId(keys[i]!, keys[j]!));
  return pairs;
}

describe("the merged English catalogue", () => {
  test("no two keys share a text, except the listed context pairs", () => {
    const allowed = new Set(sameEnglishOnPurpose.map(([a, b]) => pairId(a, b)));
    expect(sharedTexts(en).filter((p) => !allowed.has(p))).toEqual([]);
  });

  test("the check finds a repeated text (a catalogue with one key copied fails it)", () => {
    expect(sharedTexts({ ...en, "copy.of.cpu": en["metric.cpu"] })).toContain(pairId("metric.cpu", "copy.of.cpu"));
  });

  test("each allowed pair still shares its English text, and the pairs that say French differs do differ", () => {
    for (const [a, b, why] of sameEnglishOnPurpose) {
      expect(en[a], `${a} / ${b}`).toBe(en[b]);
      if (why.includes("«")) expect(fr[a], `${a} / ${b}`).not.toBe(fr[b]);
    }
  });
});

// The pages' catalogues (dashboard/src/lib/i18n/pages.en.ts and .fr.ts): French has every English key,
// no French text is left in English unless it is the same word in both languages (listed), French
// keeps the English message's arguments and plural forms, French typography holds, and no English
// text of the pages is written again in another catalogue (components, end-user) — "no string
// written twice".
import { IntlMessageFormat } from "intl-messageformat";
import { describe, expect, test } from "vitest";
import { en } from "../../dashboard/src/lib/i18n/en.ts";
import { fr } from "../../dashboard/src/lib/i18n/fr.ts";
import { consoleTranslator } from "../../dashboard/src/lib/i18n/index.ts";
import { pagesEn, type PagesKey } from "../../dashboard/src/lib/i18n/pages.en.ts";
import { pagesFr } from "../../dashboard/src/lib/i18n/pages.fr.ts";
import { localTimes } from "../../dashboard/src/lib/policy-words.ts";

/** Texts that are the same in English and French, and why. */
const sameInBoth: Partial<Record<PagesKey, string>> = {
  "keys.active": "“active” (a key's state) is spelt the same in French",
  "keys.scopeWord.agent": "“agent” (a key's scope) is the same word in French",
};
/** Page texts whose English also stands in another catalogue with another meaning (French differs). */
const sameEnglishOtherMeaning: Partial<Record<PagesKey, string>> = {
  "keys.done": "the button closing the new key's dialog; status.done is an action's status (Terminée)",
  "keys.scopeWord.admin": "a key's scope (administration); shell.role.admin is a person's role (administrateur)",
};

const keys = Object.keys(pagesEn) as PagesKey[];
const french = consoleTranslator("fr");
const english = consoleTranslator("en");

/** Every `{name` of a message: its arguments, plural or not. */
const argumentNames = (text: string) => [...new Set([...text.matchAll(/\{(\w+)[,}]/g)].map((m) => m[1]))].sort();

describe("the pages' catalogues", () => {
  test("French has every English key and no other", () => {
    expect(keys.length).toBeGreaterThan(150);
    expect(Object.keys(pagesFr).sort()).toEqual([...keys].sort());
  });

  test("no French text is the English one, unless listed as the same word in both languages", () => {
    const leftInEnglish = keys.filter((k) => pagesFr[k] === pagesEn[k] && !(k in sameInBoth));
    expect(leftInEnglish).toEqual([]);
    for (const k of Object.keys(sameInBoth) as PagesKey[]) expect(pagesFr[k], k).toBe(pagesEn[k]);
  });

  test("French takes the same arguments, and a count is a plural in French wherever it is in English", () => {
    for (const k of keys) {
      expect(argumentNames(pagesFr[k]), k).toEqual(argumentNames(pagesEn[k]));
      expect(pagesFr[k].includes(", plural,"), k).toBe(pagesEn[k].includes(", plural,"));
      // Both parse as ICU messages (a stray quote or brace would throw here).
      expect(() => new IntlMessageFormat(pagesFr[k], "fr", undefined, { ignoreTag: true }), k).not.toThrow();
    }
  });

  test("plural messages read right for 1 and for many, numbers in each language's style", () => {
    expect(english("fleet.selected", { n: 1 })).toBe("1 machine selected");
    expect(english("fleet.selected", { n: 2000 })).toBe("2,000 machines selected");
    expect(french("fleet.selected", { n: 1 })).toBe("1 machine sélectionnée");
    expect(french("fleet.selected", { n: 2000 })).toBe("2\u202f000 machines sélectionnées");
    expect(french("bulkJob.confirmText", { n: 1 })).toMatch(/^1 machine qui n'a pas encore commencé ne recevra pas/);
    expect(french("bulkJob.confirmText", { n: 3 })).toMatch(
      /^3 machines qui n'ont pas encore commencé ne recevront pas/,
    );
    expect(french("bulkJob.finished", { done: 1200, total: 2000 })).toBe("1\u202f200 sur 2\u202f000 terminées");
    expect(english("bulkJob.cancelled", { n: 1 })).toBe("1 action cancelled");
    expect(french("bulkJob.cancelled", { n: 4 })).toBe("4 actions annulées");
  });

  test("French typography: no plain space before ; : ? ! nor inside « »", () => {
    for (const k of keys) expect(pagesFr[k], k).not.toMatch(/ [;:?!]|« | »/);
    expect(french("bulkJob.confirmTitle")).toBe("Annuler le reste de cet envoi\u202f?");
    expect(french("keys.once", { name: "CI" })).toContain("«\u00a0CI\u00a0»");
  });

  test("en.ts and fr.ts serve the pages' texts as written (no other catalogue overrides them)", () => {
    for (const k of keys) {
      expect(en[k], k).toBe(pagesEn[k]);
      expect(fr[k], k).toBe(pagesFr[k]);
    }
  });

  test("no English text of the pages is written again in another catalogue", () => {
    const elsewhere = new Map(
      Object.entries(en)
        .filter(([k]) => !Object.hasOwn(pagesEn, k))
        .map(([k, v]) => [v, k]),
    );
    const twice = keys
      .filter((k) => elsewhere.has(pagesEn[k]) && !(k in sameEnglishOtherMeaning))
      .map((k) => `${k} = ${elsewhere.get(pagesEn[k])}: ${pagesEn[k]}`);
    expect(twice).toEqual([]);
    const within = new Map<string, PagesKey>();
    for (const k of keys) {
      expect(within.get(pagesEn[k]), `${k} repeats another page key`).toBeUndefined();
      within.set(pagesEn[k], k);
    }
  });
});

describe("the server's sentences on the action and bulk job pages", () => {
  test("their times of another day read in the console's language; today's as a time of day", () => {
    const now = new Date(2026, 10, 25, 23, 0);
    const tomorrow = new Date(2026, 10, 26, 5, 46).toISOString();
    const today = new Date(2026, 10, 25, 22, 46).toISOString();
    expect(localTimes(`rebooted at ${tomorrow}`, now, french)).toBe("rebooted at 26 nov. 2026, 05:46");
    expect(localTimes(`rebooted at ${tomorrow}`, now, english)).toBe("rebooted at 26 Nov 2026, 05:46");
    expect(localTimes(`next prompt ${today}`, now, french)).toBe("next prompt 22:46");
  });
});

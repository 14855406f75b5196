// The components' catalogues (dashboard/src/lib/i18n/components.en.ts and .fr.ts): French has every
// English key and no more, no French text is left in English (unless the word is the same in both
// languages, listed below), both sides take the same ICU arguments and format, French typography
// holds, and no other catalogue spread into en.ts / fr.ts overrides one of these keys.
import { IntlMessageFormat } from "intl-messageformat";
import { describe, expect, test } from "vitest";
import { componentsEn } from "../../dashboard/src/lib/i18n/components.en.ts";
import { componentsFr } from "../../dashboard/src/lib/i18n/components.fr.ts";
import { en } from "../../dashboard/src/lib/i18n/en.ts";
import { fr } from "../../dashboard/src/lib/i18n/fr.ts";

/** Keys whose text is the same word in English and French. */
const sameInBoth = new Set([
  "type.message", // Message
  "type.other", // Action
  "count.machines", // 1 machine, 2 machines
  "count.agents", // 1 agent, 2 agents
  "field.data.message", // Message
  "field.machineId", // Machine
  "field.machineIds", // Machines
  "field.cursor", // Page
  "card.actions", // Actions
  "reenroll.agent", // agent 1.2.0
  "dialog.title", // Actions · …
  "dialog.action", // Action
  "fleetTable.agent", // Agent
  "card.label", // Machine {machine}
  "pager.label", // Pages
  "pager.range", // 1–50
]);

const keys = Object.keys(componentsEn) as (keyof typeof componentsEn)[];
type Ast = { type: number; value?: unknown; options?: Record<string, { value: Ast }> }[];
/** The ICU argument names of a message ("{n, plural, …}" → n), sorted, read from its parsed form. */
function argsOf(message: string): string[] {
  const names = new Set<string>();
  const walk = (ast: Ast) => {
    for (const el of ast) {
      // 1 argument, 2 number, 3 date, 4 time, 5 select, 6 plural (intl-messageformat's TYPE)
      if (el.type >= 1 && el.type <= 6 && typeof el.value === "string") names.add(el.value);
      for (const o of Object.values(el.options ?? {})) walk(o.value);
    }
  };
  walk(new IntlMessageFormat(message, "en", undefined, { ignoreTag: true }).getAst());
  return [...names].sort();
}

describe("the components' catalogues", () => {
  test("French has exactly the English keys", () => {
    expect(Object.keys(componentsFr).sort()).toEqual([...keys].sort());
    expect(keys.length).toBeGreaterThan(300);
  });

  test("no French text is the English one, except the words listed as the same in both languages", () => {
    const same = keys.filter((k) => componentsFr[k] === componentsEn[k]);
    expect(same.filter((k) => !sameInBoth.has(k))).toEqual([]);
    // The list holds no stale entries: each is a key, and really the same in both.
    for (const k of sameInBoth) {
      expect(Object.hasOwn(componentsEn, k), k).toBe(true);
      expect(componentsFr[k as keyof typeof componentsFr]).toBe(componentsEn[k as keyof typeof componentsEn]);
    }
  });

  test("both languages take the same arguments, and every message formats", () => {
    const sample = { n: 2, max: 3, d: 1, h: 4, deadline: "yes" };
    for (const k of keys) {
      expect(argsOf(componentsFr[k]), k).toEqual(argsOf(componentsEn[k]));
      const values = Object.fromEntries(
        argsOf(componentsEn[k]).map((a) => [a, sample[a as keyof typeof sample] ?? `‹${a}›`]),
      );
      for (const [lang, text] of [
        ["en", componentsEn[k]],
        ["fr", componentsFr[k]],
      ] as const) {
        const out = String(new IntlMessageFormat(text, lang, undefined, { ignoreTag: true }).format(values));
        expect(out, `${lang} ${k}`).not.toMatch(/[{}]/);
      }
    }
  });

  test("French typography: a no-break space before : and in « », a narrow one before ; ? !", () => {
    for (const k of keys) {
      const text = componentsFr[k].replace(/https?:|data:|HH:MM/g, "");
      expect(text, k).not.toMatch(/ [:;?!]|« | »/);
      expect(text, k).not.toMatch(/[^\u00a0\u202f\s(]:\s|[^\u202f\s];/);
    }
  });

  test("no other catalogue spread into en.ts / fr.ts overrides a component key", () => {
    for (const k of keys) {
      expect(en[k], k).toBe(componentsEn[k]);
      expect(fr[k], k).toBe(componentsFr[k]);
    }
  });
});

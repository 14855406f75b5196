// The console's translator: its own catalogues (en.ts, fr.ts) through intl-messageformat, plus the
// agent's (tray-agent/src/core/i18n) for the end-user words both show (urgency, durations), so no
// string is written twice. Plain TypeScript (no runes): the language store is language.svelte.ts.
import { IntlMessageFormat } from "intl-messageformat";
import { createTranslator, pickLanguage, type Translator } from "../../../../tray-agent/src/core/i18n/index.ts";
import { en, type ConsoleKey } from "./en.ts";
import { fr } from "./fr.ts";

export type { ConsoleKey } from "./en.ts";
const catalogues: Record<string, Record<ConsoleKey, string>> = { en, fr };
/** The console's languages with their own names (never translated). */
export const consoleLanguages = [
  { code: "en", name: "English" },
  { code: "fr", name: "Français" },
] as const;
export type ConsoleLanguage = (typeof consoleLanguages)[number]["code"];

export type ConsoleTranslator = {
  readonly lang: ConsoleLanguage;
  (key: ConsoleKey, values?: Record<string, string | number>): string;
  /** The agent's translator in the same language (urgency, durations, "Restart now"). */
  readonly agent: Translator;
};

const cache = new Map<string, ConsoleTranslator>();

/** A translator for a language ("fr-CA" → fr; unknown → English). */
export function consoleTranslator(language: string): ConsoleTranslator {
  const lang = pickLanguage([language]) === "fr" ? "fr" : "en";
  const known = cache.get(lang);
  if (known) return known;
  const formats = new Map<ConsoleKey, IntlMessageFormat>();
  const t = ((key: ConsoleKey, values?: Record<string, string | number>) => {
    let f = formats.get(key);
    if (!f) {
      f = new IntlMessageFormat(catalogues[lang]![key], lang, undefined, { ignoreTag: true });
      formats.set(key, f);
    }
    return String(f.format(values));
  }) as ConsoleTranslator;
  Object.defineProperty(t, "lang", { value: lang });
  Object.defineProperty(t, "agent", { value: createTranslator(lang) });
  cache.set(lang, t);
  return t;
}

/** English, the default of every words function. */
export const english = consoleTranslator("en");

// End-user texts in English and French through intl-messageformat (ICU plurals, dates): the language
// is the OS's (or --locale), English when the OS's is not translated. Catalogues: en.ts, fr.ts.
import { IntlMessageFormat } from "intl-messageformat";
import { en, type MessageKey } from "./en.ts";
import { fr } from "./fr.ts";

export type { MessageKey } from "./en.ts";

const catalogues: Record<string, Record<MessageKey, string>> = { en, fr };
/** The languages the windows are translated into. */
export const languages = Object.keys(catalogues);

/** The first candidate (e.g. "fr-CA", "fr_FR.UTF-8") whose language is translated; else "en". */
export function pickLanguage(candidates: readonly (string | null | undefined)[]): string {
  for (const c of candidates) {
    const lang = c?.toLowerCase().split(/[-_.@]/)[0];
    if (lang && lang in catalogues) return lang;
  }
  return "en";
}

/** The OS's locale candidates: LC_ALL, LC_MESSAGES, LANG, then the runtime's default. */
export function osLocales(env: Record<string, string | undefined> = process.env): string[] {
  return [env.LC_ALL, env.LC_MESSAGES, env.LANG, Intl.DateTimeFormat().resolvedOptions().locale].filter(
    (x): x is string => !!x && x !== "C" && x !== "POSIX",
  );
}

export type Values = Record<string, string | number | Date>;
export type Translator = {
  readonly lang: string;
  (key: MessageKey, values?: Values): string;
  /** A duration in seconds as words ("10 minutes", "1 heure"). */
  duration(seconds: number): string;
  /** "5 s ago", "il y a 3 minutes". */
  ago(seconds: number): string;
};

/** A translator for a language (unknown → English). Messages are compiled once and cached. */
export function createTranslator(language: string): Translator {
  const lang = pickLanguage([language]);
  const catalogue = catalogues[lang]!;
  const cache = new Map<MessageKey, IntlMessageFormat>();
  const t = ((key: MessageKey, values?: Values) => {
    let f = cache.get(key);
    if (!f) {
      // ignoreTag: "<" in a text is a character, never markup.
      f = new IntlMessageFormat(catalogue[key], lang, undefined, { ignoreTag: true });
      cache.set(key, f);
    }
    return String(f.format(values));
  }) as Translator;
  Object.defineProperty(t, "lang", { value: lang });
  t.duration = (seconds) => {
    if (seconds % 86400 === 0) return t("duration.days", { n: seconds / 86400 });
    if (seconds % 3600 === 0) return t("duration.hours", { n: seconds / 3600 });
    return t("duration.minutes", { n: Math.round(seconds / 60) });
  };
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  t.ago = (seconds) =>
    seconds < 60
      ? rtf.format(-Math.round(seconds), "second")
      : seconds < 3600
        ? rtf.format(-Math.round(seconds / 60), "minute")
        : rtf.format(-Math.round(seconds / 3600), "hour");
  return t;
}

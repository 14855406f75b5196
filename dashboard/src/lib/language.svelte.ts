// The console's language (English or French): the one the admin picked (kept in localStorage), else
// the browser's when translated, else English. Components read `language.t` inside $derived, so a
// switch re-renders the translated texts at once; <html lang> follows.
import { consoleTranslator, type ConsoleLanguage, type ConsoleTranslator } from "./i18n/index.ts";

const KEY = "dashfleet.language";

class Language {
  t = $state<ConsoleTranslator>(consoleTranslator(initial()));

  get lang(): ConsoleLanguage {
    return this.t.lang;
  }

  set(lang: string): void {
    this.t = consoleTranslator(lang);
    try {
      localStorage.setItem(KEY, this.t.lang);
    } catch {
      // private mode: the choice lasts for this page only
    }
    document.documentElement.lang = this.t.lang;
  }
}

function initial(): string {
  try {
    return localStorage.getItem(KEY) ?? navigator.language;
  } catch {
    return navigator.language;
  }
}

export const language = new Language();
document.documentElement.lang = language.lang;

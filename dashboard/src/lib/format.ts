// Small display helpers: relative times, dates, percentages, uptimes, in the console's language (the
// translator's; English by default). Dates and numbers go through Intl.
import { english, type ConsoleTranslator } from "./i18n/index.ts";

/** The Intl locale for dates, from the console's language (as policy-words.ts): "25 Nov 2026, 14:05:09". */
const dateLocale = (t: ConsoleTranslator) => (t.lang === "fr" ? "fr-FR" : "en-GB");

/** "just now", "5 s ago", "3 min ago", "2 h ago", "4 d ago" ("il y a 5 s"…). */
export function ago(iso: string | null | undefined, now = Date.now(), t: ConsoleTranslator = english): string {
  if (!iso) return t("format.never");
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 5) return t("format.justNow");
  if (s < 60) return t("format.secondsAgo", { n: s });
  if (s < 3600) return t("format.minutesAgo", { n: Math.floor(s / 60) });
  if (s < 86400) return t("format.hoursAgo", { n: Math.floor(s / 3600) });
  return t("format.daysAgo", { n: Math.floor(s / 86400) });
}

/** Local date and time, for tooltips and tables. */
export function dateTime(iso: string | null | undefined, t: ConsoleTranslator = english): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(dateLocale(t), { dateStyle: "medium", timeStyle: "medium" });
}

/** Time of day, for chart labels. */
export function clock(iso: string, t: ConsoleTranslator = english): string {
  return new Date(iso).toLocaleTimeString(dateLocale(t), { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** "42%" ("42 %" in French). */
export function percent(v: number | null | undefined, t: ConsoleTranslator = english): string {
  if (v === null || v === undefined) return "—";
  return t.lang === "fr" ? `${Math.round(v)}\u00a0%` : `${Math.round(v)}%`;
}

/** "3 d 4 h", "2 h 10 min", "5 min" ("3 j 4 h"). */
export function uptime(seconds: number | null | undefined, t: ConsoleTranslator = english): string {
  if (seconds === null || seconds === undefined) return "—";
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d) return t("format.upDays", { d, h });
  if (h) return `${h} h ${m} min`;
  return `${m} min`;
}

/**
 * The `size` (in characters) of a search field wide enough to show its placeholder whole in any
 * language: the placeholder's length, plus two for the clear button Chromium keeps room for even while
 * the field is empty. Layouts let the field grow from there, never shrink below it.
 */
export function searchFieldSize(placeholder: string): number {
  return placeholder.length + 2;
}

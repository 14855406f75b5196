// Filters kept in the URL (Activity, Audit): set one, follow a text field 300 ms after its last
// keystroke, read a datetime-local value as ISO. One place, so every filter row behaves the same.
import { router } from "./router.svelte.ts";

/** Sets one URL filter ("" removes it); `replace` keeps typing out of the Back history. */
export function setFilter(key: string, value: string, replace = false): void {
  router.setParams({ [key]: value || undefined }, { replace });
}

const timers = new Map<string, ReturnType<typeof setTimeout>>();
/** A text filter follows the URL 300 ms after the last keystroke. */
export function typedFilter(key: string, value: string): void {
  clearTimeout(timers.get(key));
  timers.set(
    key,
    setTimeout(() => setFilter(key, value.trim(), true), 300),
  );
}

/** A datetime-local value ("2026-11-25T20:30", the admin's time) as ISO, or undefined. */
export function localIso(local: string | undefined): string | undefined {
  const t = local ? Date.parse(local) : NaN;
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

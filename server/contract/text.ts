// Short human-readable names (hostnames, OS strings, display names, key, org and view names, message
// titles) are shown in lists next to other names. Finding 14 of the hostile review: they accepted
// control characters, bidirectional overrides (which make "exe.txt" read as "txt.exe" and can flip
// the rest of a table row) and text of zero-width characters only (an invisible name). One schema
// refuses all three, with a message naming the field (zod puts the field's path in front).
import { z } from "zod";

/** C0 and C1 control characters and DEL: never part of a name (tabs and newlines included). */
const CONTROL = /\p{Cc}/u;
/** Bidirectional embeddings, overrides and isolates: U+202A–U+202E and U+2066–U+2069. */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;
/**
 * What does not show on its own: format characters (zero-width space, joiners, BOM, word joiner…),
 * separators and whitespace, combining marks, and the Hangul fillers that render as blanks.
 */
const INVISIBLE = /[\p{Cf}\p{Z}\p{M}\s\u115F\u1160\u3164\uFFA0]/gu;

/** Why `text` is not a safe name, or null. */
export function unsafeTextReason(text: string): string | null {
  if (CONTROL.test(text)) return "must not contain control characters";
  if (BIDI_CONTROL.test(text))
    return "must not contain bidirectional override characters (U+202A–U+202E, U+2066–U+2069)";
  if (text.length > 0 && text.replace(INVISIBLE, "").length === 0) return "must contain visible characters";
  return null;
}

/**
 * A short name: trimmed, 1..max characters (0..max with `allowEmpty`, e.g. to clear a display name),
 * no control characters, no bidi overrides, not only invisible characters.
 */
export function safeText(max: number, opts: { allowEmpty?: boolean; required?: string } = {}) {
  const base = z.string().trim();
  return (opts.allowEmpty ? base : base.min(1, opts.required ?? "must not be empty"))
    .max(max)
    .superRefine((text, ctx) => {
      const reason = unsafeTextReason(text);
      if (reason) ctx.addIssue({ code: "custom", message: reason });
    });
}

/**
 * `text` cut to at most `max` UTF-16 units without splitting a character: a plain slice can cut an emoji
 * in half, and the lone surrogate left is text no database stores (an agent's result with an emoji at
 * unit 199 made reportResult a 500 on both and the result was lost).
 */
export function cutText(text: string, max: number): string {
  const cut = text.slice(0, max);
  return cut.length === max && /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/** The common case: a name of at most 255 characters. */
export const SafeText = safeText(255);

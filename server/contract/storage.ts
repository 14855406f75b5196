// What both databases store and compare alike. SQLite's integers are 64-bit and its times are ISO text;
// PostgreSQL's Int columns are int4 and its timestamps have no year 0. An input past these bounds was
// stored on SQLite and a 500 on PostgreSQL (or a 500 on both): the contract refuses it by name instead.
import { z } from "zod";

/** Largest value of a Prisma `Int` column on PostgreSQL (int4). */
export const INT4_MAX = 2_147_483_647;

/**
 * Why no database stores `text` alike, or null: a lone UTF-16 surrogate (JSON's "\ud800" makes one;
 * Prisma's engine cannot encode it) or U+0000 (SQLite stores it, PostgreSQL refuses it even as a
 * parameter).
 */
export function unstorableTextReason(text: string): string | null {
  if (/\p{Surrogate}/u.test(text)) return "text must be valid Unicode (no lone surrogates)";
  if (text.includes("\u0000")) return "text must not contain NUL characters (U+0000)";
  return null;
}

/** First and last instants both databases hold: 0001-01-01 to 9999-12-31 in UTC (4-digit years). */
const FIRST_MS = new Date("0001-01-01T00:00:00.000Z").getTime();
const LAST_MS = new Date("9999-12-31T23:59:59.999Z").getTime();

/** True when `time` (a Date or an ISO text) is an instant of the years 0001–9999 in UTC. */
export function storableTime(time: Date | string): boolean {
  const ms = typeof time === "string" ? Date.parse(time) : time.getTime();
  return ms >= FIRST_MS && ms <= LAST_MS;
}

/**
 * An ISO 8601 time with an offset, within the years 0001–9999 once in UTC: "0000-01-01T00:00:00Z" (no
 * year 0 on PostgreSQL) and "9999-12-31T23:59:59-14:00" (year 10000 in UTC) were a 500 as a filter.
 */
export const StoredTime = z.iso
  .datetime({ offset: true })
  .refine((t) => storableTime(t), "must be between 0001-01-01 and 9999-12-31 (UTC)");

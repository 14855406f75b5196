// One error path: Prisma's known errors become domain errors with a clear message (mapped to tRPC and
// REST codes at the edge, server/domain/errors.ts); text checks and storage failures.
import { TRPCError } from "@trpc/server";
import { cutText, unstorableTextReason } from "../contract/index.ts";
import { DomainError } from "../domain/errors.ts";

/** Maps a unique violation to conflict, a missing record to not-found, a broken reference to invalid; rethrows anything else. */
export function mapPrismaError(err: unknown, what = "record"): never {
  const code = err && typeof err === "object" && "code" in err ? err.code : undefined;
  if (code === "P2002") throw new DomainError("conflict", `That ${what} already exists`, { cause: err });
  if (code === "P2025") throw new DomainError("not-found", `No such ${what}`, { cause: err });
  if (code === "P2003")
    throw new DomainError("invalid", `The ${what} refers to something that does not exist`, { cause: err });
  throw err;
}

/** Runs a query and maps Prisma's known errors. */
export async function withPrismaErrors<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof TRPCError || err instanceof DomainError) throw err;
    mapPrismaError(err, what);
  }
}

/**
 * Refuses text no database can store, naming where it is ("input.claimToken: …"):
 * - a lone UTF-16 surrogate (JSON's "\ud800" escape makes one): zod accepts it, but Prisma's query
 *   engine cannot encode it and would fail with a 500;
 * - U+0000 (NUL): SQLite stores it, but PostgreSQL's text and jsonb refuse it ("invalid byte
 *   sequence"), even as a mere WHERE parameter. Found by the fuzz suite on PostgreSQL. Refused on
 *   both databases, so the API answers the same whichever one is behind it.
 * Keys are checked as well as values. Deeper than 64 levels no schema reaches, so nothing there is stored.
 */
export function assertWellFormedText(value: unknown, path = "", depth = 0): void {
  if (typeof value === "string") {
    const reason = unstorableTextReason(value);
    if (reason) throw new TRPCError({ code: "BAD_REQUEST", message: `${path || "input"}: ${reason}` });
  } else if (value && typeof value === "object" && depth < 64) {
    for (const [k, v] of Object.entries(value)) {
      const at = path ? `${path}.${printableKey(k)}` : printableKey(k);
      assertWellFormedText(k, `a field name in ${path || "input"}`, depth + 1);
      assertWellFormedText(v, at, depth + 1);
    }
  }
}

/** A field name as it can be shown in an error message (no control characters, at most 40 characters). */
function printableKey(key: string): string {
  const shown = key.replace(/[\p{Cc}\p{Surrogate}]/gu, "?");
  return shown.length > 40 ? `${cutText(shown, 40)}…` : shown;
}

/**
 * The database cannot write (disk full, read-only file or file system, I/O error): the sentence to
 * tell agents and admins (retry later), or null for any other error.
 */
export function storageFailure(err: unknown): string | null {
  const text: string[] = [];
  for (let e: unknown = err, i = 0; e && typeof e === "object" && i < 6; e = (e as { cause?: unknown }).cause, i++) {
    const o = e as { message?: unknown; code?: unknown; kind?: unknown };
    for (const v of [o.message, o.code, o.kind])
      if (typeof v === "string" || typeof v === "number") text.push(String(v));
  }
  const all = text.join(" ");
  if (/database or disk is full|SQLITE_FULL|ENOSPC/i.test(all))
    return "The server's disk is full: nothing new can be saved until space is freed. Nothing already saved is lost; retry later.";
  if (/readonly database|read-only|SQLITE_READONLY|EROFS/i.test(all))
    return "The server's database is read-only: nothing new can be saved until it is writable again. Retry later.";
  if (/disk I\/O error|SQLITE_IOERR/i.test(all)) return "The server could not write to its disk. Retry later.";
  return null;
}

/** The Prisma error code of an error or of one of its causes ("P2028"), if any. */
function prismaCode(err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e && typeof e === "object" && i < 6; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^P\d{4}$/.test(code)) return code;
  }
  return undefined;
}

/** Prisma's "Unable to start a transaction in the given time": every pooled connection stayed busy. */
const BUSY_MESSAGE = "The server's database is busy: nothing was changed; retry in a moment.";

/** storageFailure (or a database too busy to start a transaction) as a clear 503 instead of an opaque 500. Null for any other error. */
export function storageError(err: unknown): TRPCError | null {
  if (prismaCode(err) === "P2028")
    return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: BUSY_MESSAGE, cause: err });
  const message = storageFailure(err);
  return message === null ? null : new TRPCError({ code: "SERVICE_UNAVAILABLE", message, cause: err });
}

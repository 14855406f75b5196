// One error path: Prisma's known errors become tRPC errors with a clear message.
import { TRPCError } from "@trpc/server";

/** Maps a unique violation to CONFLICT and a missing record to NOT_FOUND; rethrows anything else. */
export function mapPrismaError(err: unknown, what = "record"): never {
  const code = err && typeof err === "object" && "code" in err ? (err).code : undefined;
  if (code === "P2002") throw new TRPCError({ code: "CONFLICT", message: `That ${what} already exists`, cause: err });
  if (code === "P2025") throw new TRPCError({ code: "NOT_FOUND", message: `No such ${what}`, cause: err });
  if (code === "P2003") throw new TRPCError({ code: "BAD_REQUEST", message: `The ${what} refers to something that does not exist`, cause: err });
  throw err;
}

/** Runs a query and maps Prisma's known errors. */
export async function withPrismaErrors<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof TRPCError) throw err;
    mapPrismaError(err, what);
  }
}

const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Refuses text that is not valid Unicode (a lone UTF-16 surrogate, which JSON's "\ud800" escape can
 * produce): zod accepts it, but Prisma's query engine cannot encode it and would fail with a 500.
 * Deeper than 64 levels no schema reaches, so nothing there is stored.
 */
export function assertWellFormedText(value: unknown, depth = 0): void {
  if (typeof value === "string") {
    if (LONE_SURROGATE.test(value)) throw new TRPCError({ code: "BAD_REQUEST", message: "input: text must be valid Unicode (no lone surrogates)" });
  } else if (value && typeof value === "object" && depth < 64) {
    for (const [k, v] of Object.entries(value)) {
      assertWellFormedText(k, depth + 1);
      assertWellFormedText(v, depth + 1);
    }
  }
}

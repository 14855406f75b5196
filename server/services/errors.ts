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

// The edge's mapping of database failures that are not the caller's fault: a clear 503, never a 500.
import { describe, expect, it } from "vitest";
import { storageError } from "../../server/services/errors.ts";

describe("storageError", () => {
  it("answers a transaction that could not start in time (Prisma P2028, every pooled connection busy) with 503 busy", () => {
    const err = Object.assign(new Error("Transaction API error: Unable to start a transaction in the given time."), {
      code: "P2028",
    });
    const mapped = storageError(err);
    expect(mapped?.code).toBe("SERVICE_UNAVAILABLE");
    expect(mapped?.message).toMatch(/busy.*retry/);
    // Also when wrapped as the cause of another error.
    expect(storageError(new Error("claim failed", { cause: err }))?.code).toBe("SERVICE_UNAVAILABLE");
  });

  it("answers a full disk with 503 and leaves other errors (unique violation, plain bugs) alone", () => {
    expect(storageError(new Error("SqliteError: database or disk is full"))?.message).toMatch(/disk is full/);
    expect(storageError(Object.assign(new Error("Unique constraint failed"), { code: "P2002" }))).toBeNull();
    expect(storageError(new TypeError("x is undefined"))).toBeNull();
  });
});

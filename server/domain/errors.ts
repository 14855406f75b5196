// Domain errors: what services throw. They speak the domain (a kind and a sentence for the user);
// the edge (tRPC's base procedure in trpc.ts, the REST shim in http/rest.ts) maps each kind to a
// transport code in one place, `toTRPCError` below. Services never import @trpc/server.
import { TRPCError } from "@trpc/server";

export type DomainErrorKind =
  /** Bad input; `field` names the field ("data.message", "cursor"). */
  | "invalid"
  | "not-found"
  /** The thing exists but is in a state that forbids this (e.g. cancel a finished action). */
  | "conflict"
  | "unauthenticated"
  | "forbidden"
  /** A budget is spent; `retryAfterSeconds` says when to come back. */
  | "rate-limited"
  /** The server cannot take this now (disk full, overloaded queue); nothing was lost. */
  | "unavailable"
  | "too-large";

export class DomainError extends Error {
  override readonly name = "DomainError";
  /** Read by the edge for the Retry-After header and the error's data (rate limits). */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    readonly extra: { field?: string; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.retryAfterSeconds = extra.retryAfterSeconds;
  }
}

/** Shorthands, so a throw reads as a sentence: `throw notFound("No such action")`. */
export const invalid = (field: string, message: string, cause?: unknown) => new DomainError("invalid", `${field}: ${message}`, { field, cause });
export const notFound = (message: string) => new DomainError("not-found", message);
export const conflict = (message: string) => new DomainError("conflict", message);
export const forbidden = (message: string) => new DomainError("forbidden", message);
export const unauthenticated = (message: string) => new DomainError("unauthenticated", message);
export const rateLimited = (message: string, retryAfterSeconds: number) => new DomainError("rate-limited", message, { retryAfterSeconds });
export const unavailable = (message: string, cause?: unknown) => new DomainError("unavailable", message, { cause });

const codes: { readonly [K in DomainErrorKind]: TRPCError["code"] } = {
  invalid: "BAD_REQUEST",
  "not-found": "NOT_FOUND",
  conflict: "CONFLICT",
  unauthenticated: "UNAUTHORIZED",
  forbidden: "FORBIDDEN",
  "rate-limited": "TOO_MANY_REQUESTS",
  unavailable: "SERVICE_UNAVAILABLE",
  "too-large": "PAYLOAD_TOO_LARGE",
};

/** The one mapping from the domain to the transport. The DomainError stays the cause (retry time). */
export function toTRPCError(err: DomainError): TRPCError {
  return new TRPCError({ code: codes[err.kind], message: err.message, cause: err });
}

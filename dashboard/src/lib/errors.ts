// One error path for the console: turns a failed call into a toast by its tRPC code, and hands
// BAD_REQUEST field issues back to the form that shows them inline.
import { TRPCClientError } from "@trpc/client";
import type { ZodError } from "zod";
import { toasts } from "./toasts.svelte.ts";
import { errorWords, issueWords } from "./words.ts";

/** Field path ("data.message") → message, for inline form errors. */
export type FieldErrors = Record<string, string>;

/** A zod error's issues as field errors (the first message for each field), for checks before sending. */
export function fieldErrors(error: ZodError): FieldErrors {
  const fields: FieldErrors = {};
  for (const i of error.issues) fields[i.path.map(String).join(".") || "form"] ??= issueWords(i.message);
  return fields;
}

type ErrorData = {
  code?: string;
  fieldIssues?: { path: string; message: string }[] | null;
  retryAfterSeconds?: number;
};

let onUnauthorized: () => boolean = () => true;
/** Called once by the session manager: what to do when the session has ended (true if it was open). */
export function setUnauthorizedHandler(fn: () => boolean): void {
  onUnauthorized = fn;
}

/** The tRPC code of an error ("NOT_FOUND"...), or null for network and other errors. */
export function errorCodeOf(err: unknown): string | null {
  if (err instanceof TRPCClientError) return (err.data as ErrorData | undefined)?.code ?? null;
  return null;
}

/**
 * Reports an error. Returns field errors when the server named bad fields (the caller shows them
 * next to the inputs, so no toast); otherwise shows a toast and returns null.
 */
export function handleError(err: unknown, what = "That"): FieldErrors | null {
  if (!(err instanceof TRPCClientError)) {
    toasts.push("error", `${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
  const data = err.data as ErrorData | undefined;
  switch (data?.code) {
    case "BAD_REQUEST": {
      const issues = data.fieldIssues ?? [];
      if (issues.length) {
        const fields: FieldErrors = {};
        for (const i of issues) fields[i.path || "form"] ??= issueWords(i.message);
        return fields;
      }
      toasts.push("error", errorWords(err.message));
      return null;
    }
    case "UNAUTHORIZED":
      // Several polls fail at once when a session ends: say it once.
      if (onUnauthorized()) toasts.push("info", "Your session has ended. Please sign in again.");
      return null;
    case "FORBIDDEN":
      toasts.push("error", `Not allowed: ${errorWords(err.message)}`);
      return null;
    case "TOO_MANY_REQUESTS":
      toasts.push(
        "error",
        `${err.message ? errorWords(err.message).replace(/\.?$/, ".") : "Too many requests."}${data.retryAfterSeconds ? ` Try again in ${data.retryAfterSeconds} s.` : ""}`,
      );
      return null;
    case "NOT_FOUND":
    case "CONFLICT":
    case "PAYLOAD_TOO_LARGE":
      toasts.push("error", errorWords(err.message));
      return null;
    case "SERVICE_UNAVAILABLE":
      toasts.push(
        "error",
        `${what} failed: the server is busy or cannot write right now. Nothing was lost; try again.`,
      );
      return null;
    case "INTERNAL_SERVER_ERROR":
      toasts.push("error", `${what} failed on the server. Try again.`);
      return null;
    default:
      toasts.push(
        "error",
        data?.code ? `${what} failed: ${errorWords(err.message)}` : "Cannot reach the server. Check your connection.",
      );
      return null;
  }
}

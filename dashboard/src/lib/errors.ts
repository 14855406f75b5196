// One error path for the console: turns a failed call into a toast by its tRPC code, and hands
// BAD_REQUEST field issues back to the form that shows them inline. Words in the console's language.
import { TRPCClientError } from "@trpc/client";
import type { ZodError } from "zod";
import { language } from "./language.svelte.ts";
import { toasts } from "./toasts.svelte.ts";
import { errorWords, issueWords } from "./words.ts";

/** Field path ("data.message") → message, for inline form errors. */
export type FieldErrors = Record<string, string>;

/** A zod error's issues as field errors (the first message for each field), for checks before sending. */
export function fieldErrors(error: ZodError): FieldErrors {
  const fields: FieldErrors = {};
  for (const i of error.issues) fields[i.path.map(String).join(".") || "form"] ??= issueWords(i.message, language.t);
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
export function handleError(err: unknown, what?: string): FieldErrors | null {
  const t = language.t;
  what ??= t("errors.that");
  const words = (message: string) => errorWords(message, t);
  if (!(err instanceof TRPCClientError)) {
    toasts.push("error", t("errors.failed", { what, detail: err instanceof Error ? err.message : String(err) }));
    return null;
  }
  const data = err.data as ErrorData | undefined;
  switch (data?.code) {
    case "BAD_REQUEST": {
      const issues = data.fieldIssues ?? [];
      if (issues.length) {
        const fields: FieldErrors = {};
        for (const i of issues) fields[i.path || "form"] ??= issueWords(i.message, t);
        return fields;
      }
      toasts.push("error", words(err.message));
      return null;
    }
    case "UNAUTHORIZED":
      // Several polls fail at once when a session ends: say it once.
      if (onUnauthorized()) toasts.push("info", t("errors.sessionEnded"));
      return null;
    case "FORBIDDEN":
      toasts.push("error", t("errors.notAllowed", { detail: words(err.message) }));
      return null;
    case "TOO_MANY_REQUESTS":
      toasts.push(
        "error",
        `${err.message ? words(err.message).replace(/\.?$/, ".") : t("errors.tooMany")}${data.retryAfterSeconds ? ` ${t("errors.retryIn", { n: data.retryAfterSeconds })}` : ""}`,
      );
      return null;
    case "NOT_FOUND":
    case "CONFLICT":
    case "PAYLOAD_TOO_LARGE":
      toasts.push("error", words(err.message));
      return null;
    case "SERVICE_UNAVAILABLE":
      toasts.push("error", t("errors.busy", { what }));
      return null;
    case "INTERNAL_SERVER_ERROR":
      toasts.push("error", t("errors.internal", { what }));
      return null;
    default:
      toasts.push(
        "error",
        data?.code ? t("errors.failed", { what, detail: words(err.message) }) : t("errors.unreachable"),
      );
      return null;
  }
}

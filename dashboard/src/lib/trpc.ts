// The console's one tRPC client: same-origin POSTs to /trpc carrying the session cookie. Every request
// goes through the connection tracker, which drives the "connection lost" banner.
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../../../server/routers/_app.ts";
import { connection } from "./connection.svelte.ts";

/** Typed client for every procedure of the API. */
export const trpc = createTRPCClient<AppRouter>({
  links: [
    httpBatchLink({
      url: "/trpc",
      maxURLLength: 2000,
      // The server refuses batches of more than 20 calls.
      maxItems: 20,
      fetch: (url, init) => connection.fetch(url, { ...init, credentials: "same-origin" }),
    }),
  ],
});

export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;

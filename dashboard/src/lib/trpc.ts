// The console's one tRPC client: same-origin POSTs to /trpc carrying the session cookie.
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../../../server/routers/_app.ts";

/** Typed client for every procedure of the API. */
export const trpc = createTRPCClient<AppRouter>({
  links: [
    httpBatchLink({
      url: "/trpc",
      maxURLLength: 2000,
      fetch: (url, init) => fetch(url, { ...init, credentials: "same-origin" }),
    }),
  ],
});

export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;

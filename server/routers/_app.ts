// The root router: one sub-router per domain. `AppRouter` is the type every client uses.
import { router } from "../trpc.ts";
import { actionsRouter } from "./actions.ts";
import { agentRouter } from "./agent.ts";
import { authRouter } from "./auth.ts";
import { bulkRouter } from "./bulk.ts";
import { fleetRouter } from "./fleet.ts";
import { keysRouter } from "./keys.ts";
import { machinesRouter } from "./machines.ts";
import { orgsRouter } from "./orgs.ts";
import { settingsRouter } from "./settings.ts";
import { viewsRouter } from "./views.ts";

export const appRouter = router({
  auth: authRouter,
  orgs: orgsRouter,
  keys: keysRouter,
  fleet: fleetRouter,
  actions: actionsRouter,
  agent: agentRouter,
  machines: machinesRouter,
  bulk: bulkRouter,
  views: viewsRouter,
  settings: settingsRouter,
});

export type AppRouter = typeof appRouter;

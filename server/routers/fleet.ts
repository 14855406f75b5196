// fleet router (being written).
import { router } from "../trpc.ts";

export const fleetRouter = router({});

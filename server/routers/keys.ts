// keys router (being written).
import { router } from "../trpc.ts";

export const keysRouter = router({});

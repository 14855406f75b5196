// auth router (being written).
import { router } from "../trpc.ts";

export const authRouter = router({});

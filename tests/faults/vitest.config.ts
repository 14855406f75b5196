// `npm run test:faults`: every fault suite, the long rounds (*.long.test.ts) included, which the
// default configuration leaves out of `npm test`, and the fuzzing suite with ten times the inputs.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.."),
  test: {
    include: ["tests/faults/**/*.test.ts", "tests/security/fuzz.test.ts"],
    env: { DASHFLEET_FUZZ_RUNS: "400" },
    exclude: ["node_modules/**"],
    testTimeout: 900_000,
    hookTimeout: 120_000,
    pool: "forks",
    // The fault suites start and kill servers: one file at a time keeps them from starving each other.
    maxWorkers: 1,
  },
});

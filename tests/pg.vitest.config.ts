// The integration subset that runs against PostgreSQL as well as SQLite (`npm run test:pg`): the same
// test files, with every test server on a fresh database of one throwaway cluster (pg.global-setup.ts).
import { defineConfig } from "vitest/config";

export const PG_SUBSET = [
  "tests/integration/server-basics.test.ts",
  "tests/integration/queue-lifecycle.test.ts",
  "tests/integration/fleet-paging.test.ts",
  "tests/integration/bulk.test.ts",
  "tests/integration/fleet.test.ts",
  "tests/integration/push.test.ts",
  "tests/integration/queue-batching.test.ts",
  "tests/integration/rest-compat.test.ts",
  "tests/integration/retention.test.ts",
  "tests/integration/retention-history.test.ts",
];

export default defineConfig({
  test: {
    include: PG_SUBSET,
    globalSetup: ["tests/pg.global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
  },
});

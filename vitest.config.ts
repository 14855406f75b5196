// Test runner configuration: every suite under tests/ (unit, integration, e2e, faults, security).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Long fault rounds run with `npm run test:faults` (CI runs both).
    exclude: ["tests/faults/**/*.long.test.ts", "node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Two cores: two files at a time keeps server-start timings honest.
    maxWorkers: 2,
  },
});

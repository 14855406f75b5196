// The suites that run against PostgreSQL as well as SQLite (part of `npm test`, and alone as
// `npm run test:pg`): the same test files, with every test server on a fresh database of one throwaway
// cluster (pg.global-setup.ts). Files that start their own cluster (tests/integration/pg-*.test.ts and
// the PostgreSQL fault and restore tests) run in the SQLite pass of `npm test` already.
// Left out, and why: cli.test (its CLI children work on SQLite files of their own), web.test (reads the
// SQLite file's bytes to prove secrets are stored hashed), retention-storage (SQLite's file size and
// incremental vacuum; PostgreSQL's autovacuum does that job), the browser suites (e2e, enduser: the
// dashboard and windows do not depend on the database beyond the API these files already cover).
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
  "tests/integration/action-views.test.ts",
  "tests/integration/auth.test.ts",
  "tests/integration/fleet-views.test.ts",
  "tests/integration/keys.test.ts",
  "tests/integration/org-settings.test.ts",
  "tests/integration/orgs.test.ts",
  "tests/integration/progress.test.ts",
  "tests/integration/action-findings.test.ts",
  "tests/integration/claim-reads.test.ts",
  "tests/integration/bulk-decisions.test.ts",
  "tests/integration/enrollment-retire.test.ts",
  "tests/integration/health-forget.test.ts",
  "tests/integration/fleet-backfill.test.ts",
  "tests/integration/agent-core.test.ts",
  "tests/integration/agent-headless.test.ts",
  "tests/security/cookies.test.ts",
  "tests/security/dashboard-browser.test.ts",
  "tests/security/email-enumeration.test.ts",
  "tests/security/fuzz-selectors.test.ts",
  "tests/security/fuzz.test.ts",
  "tests/security/identity-limits.test.ts",
  "tests/security/identity.test.ts",
  "tests/security/isolation.test.ts",
  "tests/security/login-limits.test.ts",
  "tests/security/pg-differences.test.ts",
  "tests/security/request-limits.test.ts",
  "tests/security/review-findings.test.ts",
  "tests/security/static-files.test.ts",
  "tests/security/text-safety.test.ts",
  "tests/security/trusted-proxy.test.ts",
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

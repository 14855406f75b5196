// Global setup of the PostgreSQL run (tests/pg.vitest.config.ts): one throwaway cluster for the run;
// every test server then gets its own database on it (tests/helpers/pg.ts, pgTestDatabase).
import { PG_TEST_CLUSTER_ENV, startPgCluster } from "./helpers/pg.ts";

export default async function setup(): Promise<() => Promise<void>> {
  const cluster = await startPgCluster();
  // Test workers are started after this and inherit the variable.
  process.env[PG_TEST_CLUSTER_ENV] = cluster.url;
  return () => cluster.stop();
}

// Configuration: parsed once from the environment with zod at start-up. Nothing else reads process.env.
import net from "node:net";
import path from "node:path";
import { z } from "zod";

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no"])
  .transform((v) => v === "1" || v === "true" || v === "yes");

/** A retention period in days: at most 100 years (see DASHFLEET_RETAIN_RAW_HOURS). */
const retainDays = (min: number, fallback: number) =>
  z.coerce.number().int().min(min).max(36_500, "at most 36500 days (100 years)").default(fallback);

/** More processes than this on one host only add contention (each holds PG_POOL_MAX connections). */
export const MAX_WORKERS = 64;

const ConfigSchema = z.object({
  DASHFLEET_DB: z.string().min(1).default("data/fleet.db"),
  /** postgres://… selects PostgreSQL (docs/deploy.md); unset, the SQLite file at DASHFLEET_DB. */
  DASHFLEET_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must start with postgres:// or postgresql://")
    .optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Loopback by default: set HOST=0.0.0.0 to let agents on other machines reach the server. */
  HOST: z.string().min(1).default("127.0.0.1"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Create a demo organization (and print its credentials) when the database has none. */
  DASHFLEET_DEMO: bool.default(true),
  /** Mark the session cookie Secure (set when served over HTTPS). */
  DASHFLEET_SECURE_COOKIES: bool.default(false),
  /** Where the built dashboard lives. */
  DASHFLEET_DASHBOARD_DIR: z.string().default("dashboard/dist"),
  /** How long an agent holds a delivered action before it returns to pending. */
  DASHFLEET_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** How long an acknowledged action may run before it is marked unknown. */
  DASHFLEET_EXECUTE_LIMIT_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(3600),
  /** Interval the server asks agents to report at. */
  DASHFLEET_REPORT_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  /** Largest request body accepted, in bytes. */
  DASHFLEET_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(10 * 1024 * 1024)
    .default(256 * 1024),
  /** Rate limits per minute: queue per key or user, pending and report per machine, login per address. */
  DASHFLEET_QUEUE_PER_MINUTE: z.coerce.number().int().min(1).default(100),
  DASHFLEET_AGENT_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  DASHFLEET_LOGIN_PER_MINUTE: z.coerce.number().int().min(1).default(10),
  /** Enrollment attempts per minute, per agent key and per client address. */
  DASHFLEET_ENROLL_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  /** Most machines an organization may enroll (unset: unlimited); Organization.machineQuota overrides it. */
  DASHFLEET_MACHINE_QUOTA: z.coerce.number().int().min(0).optional(),
  /** Push streams (agent.actionStream) per machine token: a new one closes the oldest. */
  DASHFLEET_STREAMS_PER_MACHINE: z.coerce.number().int().min(1).max(100).default(2),
  /** Push streams held open by one server process; beyond it new ones get 503 and agents poll. */
  DASHFLEET_STREAMS_PER_PROCESS: z.coerce.number().int().min(1).default(50_000),
  /** Retention (server/services/retention.ts): raw metric reports in hours; 5-minute and hourly rollups in days. */
  // At most 100 years: a cut-off further back ("999999 days" meant as forever) fell before year 1, which
  // neither database compares against, and every retention round failed.
  DASHFLEET_RETAIN_RAW_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(876_000, "at most 876000 hours (100 years)")
    .default(48),
  DASHFLEET_RETAIN_5M_DAYS: retainDays(1, 30),
  DASHFLEET_RETAIN_1H_DAYS: retainDays(1, 400),
  /** Finished actions (with their events) in days after they finished; unfinished ones are never pruned. */
  DASHFLEET_RETAIN_ACTIONS_DAYS: retainDays(1, 90),
  DASHFLEET_RETAIN_AUDIT_DAYS: retainDays(1, 365),
  /** Days an expired session row is kept after its expiry (0: pruned at the next round). */
  DASHFLEET_RETAIN_SESSIONS_DAYS: retainDays(0, 0),
  /** How often the retention job runs (0: never; tests drive it by hand). */
  DASHFLEET_RETAIN_EVERY_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    // Node's timers take at most 2^31-1 ms; a longer interval fires every millisecond instead.
    .max(24 * 86_400, "at most 2073600 seconds (24 days)")
    .default(300),
  /**
   * Reverse proxies whose X-Forwarded-For is believed (comma-separated IP addresses, e.g. 127.0.0.1,::1).
   * Unset, the client address is the connection's peer: behind a proxy every client would share the
   * proxy's address, and with it the per-address sign-in and enrollment limits.
   */
  DASHFLEET_TRUSTED_PROXIES: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((a) => a.trim())
        .filter(Boolean),
    )
    .refine((list) => list.every((a) => net.isIP(a) !== 0), "must be IP addresses separated by commas"),
  /** Server processes on this host (server/cluster.ts); more than 1 needs PostgreSQL. */
  DASHFLEET_WORKERS: z
    .string()
    .regex(/^\s*[1-9][0-9]*\s*$/, "must be a whole number of server processes, 1 or more")
    .transform(Number)
    .pipe(z.number().max(MAX_WORKERS, `must be at most ${MAX_WORKERS}`))
    .default(1),
});

/** The parsed configuration. */
export type Config = {
  dbFile: string;
  /** PostgreSQL connection URL when set (then dbFile is unused). */
  databaseUrl?: string;
  port: number;
  host: string;
  logLevel: z.infer<typeof ConfigSchema>["LOG_LEVEL"];
  demo: boolean;
  secureCookies: boolean;
  dashboardDir: string;
  leaseSeconds: number;
  executeLimitSeconds: number;
  reportIntervalSeconds: number;
  maxBodyBytes: number;
  limits: { queuePerMinute: number; agentPerMinute: number; loginPerMinute: number };
  identity: {
    enrollPerMinute: number;
    machineQuota: number | null;
    streamsPerMachine: number;
    streamsPerProcess: number;
  };
  /** Server processes (DASHFLEET_WORKERS): 1 runs no cluster; more fork workers sharing the port. */
  workers: number;
  /** Proxies whose X-Forwarded-For names the client (DASHFLEET_TRUSTED_PROXIES); empty: none. */
  trustedProxies: string[];
  retention: {
    rawHours: number;
    fiveMinuteDays: number;
    hourlyDays: number;
    actionsDays: number;
    auditDays: number;
    sessionsDays: number;
    everySeconds: number;
  };
};

/** Parses the environment (or overrides from tests); throws a readable error naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const c = parsed.data;
  // Several processes on one SQLite file are refused rather than left to fail under load: SQLite has
  // one writer, and this server makes its writes safe by running them one at a time in-process
  // (server/serialAdapter.ts). Across processes that queue becomes SQLite's file lock, so every writer
  // would wait up to the busy timeout and fail with SQLITE_BUSY at a burst; the incremental-vacuum
  // connection and start-up VACUUM assume no other writer; and wake-ups and cache invalidations
  // between processes travel over PostgreSQL LISTEN/NOTIFY. One process already uses SQLite's one writer fully.
  if (c.DASHFLEET_WORKERS > 1 && !c.DASHFLEET_DATABASE_URL)
    throw new Error(
      `Invalid configuration:\n  DASHFLEET_WORKERS: ${c.DASHFLEET_WORKERS} server processes need PostgreSQL (set DASHFLEET_DATABASE_URL=postgres://…, see docs/deploy.md); with SQLite (DASHFLEET_DB) run one process: SQLite has a single writer and the server serializes its writes inside one process`,
    );
  return {
    dbFile: path.resolve(c.DASHFLEET_DB),
    databaseUrl: c.DASHFLEET_DATABASE_URL,
    port: c.PORT,
    host: c.HOST,
    logLevel: c.LOG_LEVEL,
    demo: c.DASHFLEET_DEMO,
    secureCookies: c.DASHFLEET_SECURE_COOKIES,
    dashboardDir: path.resolve(c.DASHFLEET_DASHBOARD_DIR),
    leaseSeconds: c.DASHFLEET_LEASE_SECONDS,
    executeLimitSeconds: c.DASHFLEET_EXECUTE_LIMIT_SECONDS,
    reportIntervalSeconds: c.DASHFLEET_REPORT_INTERVAL_SECONDS,
    maxBodyBytes: c.DASHFLEET_MAX_BODY_BYTES,
    workers: c.DASHFLEET_WORKERS,
    trustedProxies: c.DASHFLEET_TRUSTED_PROXIES,
    limits: {
      queuePerMinute: c.DASHFLEET_QUEUE_PER_MINUTE,
      agentPerMinute: c.DASHFLEET_AGENT_PER_MINUTE,
      loginPerMinute: c.DASHFLEET_LOGIN_PER_MINUTE,
    },
    identity: {
      enrollPerMinute: c.DASHFLEET_ENROLL_PER_MINUTE,
      machineQuota: c.DASHFLEET_MACHINE_QUOTA ?? null,
      streamsPerMachine: c.DASHFLEET_STREAMS_PER_MACHINE,
      streamsPerProcess: c.DASHFLEET_STREAMS_PER_PROCESS,
    },
    retention: {
      rawHours: c.DASHFLEET_RETAIN_RAW_HOURS,
      fiveMinuteDays: c.DASHFLEET_RETAIN_5M_DAYS,
      hourlyDays: c.DASHFLEET_RETAIN_1H_DAYS,
      actionsDays: c.DASHFLEET_RETAIN_ACTIONS_DAYS,
      auditDays: c.DASHFLEET_RETAIN_AUDIT_DAYS,
      sessionsDays: c.DASHFLEET_RETAIN_SESSIONS_DAYS,
      everySeconds: c.DASHFLEET_RETAIN_EVERY_SECONDS,
    },
  };
}

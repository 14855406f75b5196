// PostgreSQL: one queue group commit as ONE statement. Through Prisma's pg adapter an interactive or
// batch transaction costs a round trip per statement (BEGIN, three INSERTs, the NOTIFY, COMMIT), and a
// sequence number taken before it one more per call. A single statement is its own transaction (atomic:
// every row and the NOTIFY, or none), so the batch's actions, events, audit rows, their sequence
// numbers and the wake-up of the other processes all go in one round trip.
// It goes through a connection of its own (PgQueueWriter), not Prisma: Prisma's query compiler (wasm)
// copies the batch's parameters in and out on every raw statement, measured at ~3 ms of the server's
// CPU per commit of ~34 calls, a fifth of the server's CPU per queued action.
import pg from "pg";
import type { Db } from "../db.ts";
import { PG_NEXT_ACTION_SEQ } from "./dispatch.ts";
import type { QueueJob } from "./queueing.ts";

/**
 * The statement. Rows travel as JSON (one parameter whatever the batch size; PostgreSQL allows 65,535
 * bound values). Sequence numbers: actions without one (`seq: null`) get `nextval` here, in the order
 * of the batch (a machine's actions keep the order their calls arrived in): n numbers are drawn, sorted,
 * and the k-th smallest goes to the k-th unnumbered row, whatever order PostgreSQL evaluates rows in.
 * The numbers are drawn inside the statement, so a call answered before another is sent always has the
 * lower number, in any process (the sequence is shared, CACHE 1). Timestamps are ISO strings in UTC,
 * read as `timestamp(3)` (the zone letter is ignored: Prisma stores UTC wall time). The ActionEvent
 * rows' foreign key is checked at the end of the statement, after the Action rows are in.
 */
const SQL = `WITH
  drawn AS (SELECT ${PG_NEXT_ACTION_SEQ} AS seq FROM generate_series(1, CAST($2 AS integer))),
  numbered AS (SELECT seq, row_number() OVER (ORDER BY seq) AS k FROM drawn),
  a AS (
    INSERT INTO "Action" ("id", "seq", "orgId", "machineRef", "type", "payload", "status", "createdBy", "createdAt", "expiresAt", "deliveryCount", "bulkId")
    SELECT r."id", COALESCE(r."seq", n.seq), r."orgId", r."machineRef", r."type", r."payload", 'pending', r."createdBy", r."createdAt", r."expiresAt", 0, r."bulkId"
    FROM json_to_recordset(CAST($1 AS json)) AS r("id" text, "seq" integer, "k" integer, "orgId" text, "machineRef" text, "type" text, "payload" text, "createdBy" text, "createdAt" timestamp(3), "expiresAt" timestamp(3), "bulkId" text)
    LEFT JOIN numbered n ON n.k = r."k"
  ),
  e AS (
    INSERT INTO "ActionEvent" ("actionId", "status", "at", "detail")
    SELECT "actionId", "status", "at", "detail"
    FROM json_to_recordset(CAST($3 AS json)) AS x("actionId" text, "status" text, "at" timestamp(3), "detail" text)
  ),
  l AS (
    INSERT INTO "AuditLog" ("orgId", "actor", "action", "target", "detail", "at")
    SELECT "orgId", "actor", "action", "target", "detail", "at"
    FROM json_to_recordset(CAST($4 AS json)) AS x("orgId" text, "actor" text, "action" text, "target" text, "detail" text, "at" timestamp(3))
  )
SELECT pg_notify($5, p) FROM json_array_elements_text(CAST($6 AS json)) AS p`;

/** The channel and payloads that wake the other processes (delivered at the commit). */
export type Announcement = { channel: string; payloads: string[] };

/**
 * The queue's own connection to PostgreSQL: one (the group commit runs one statement at a time), the
 * statement prepared once on it. A connection cut by the database is dropped and the next commit opens
 * another. A statement cut mid-way fails its batch like any database error; it may have committed, and
 * the group commit's retry of each job alone then stops at the actions' primary keys (never stored twice).
 */
export class PgQueueWriter {
  readonly #pool: pg.Pool;

  constructor(url: string) {
    this.#pool = new pg.Pool({
      connectionString: url,
      max: 1,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
      application_name: "dashfleet-queue",
    });
    // Without a listener an idle connection's error would end the process.
    this.#pool.on("error", () => {});
  }

  /** Writes the jobs of one group commit in one statement. */
  async write(jobs: QueueJob[], notify: Announcement): Promise<void> {
    await this.#pool.query({ name: "dashfleet_queue_write", text: SQL, values: queueParams(jobs, notify) });
  }

  /** Open connections (0 or 1). */
  get connections(): number {
    return this.#pool.totalCount;
  }

  /** Ends the connection (after the queue's last commit). */
  close(): Promise<void> {
    return this.#pool.end();
  }
}

/** The same statement through Prisma (a queue built without a writer of its own). */
export async function writeQueueJobsPg(
  db: Pick<Db, "$executeRawUnsafe">,
  jobs: QueueJob[],
  notify: Announcement,
): Promise<void> {
  await db.$executeRawUnsafe(SQL, ...queueParams(jobs, notify));
}

/** The statement's six parameters: rows as JSON, how many numbers to draw, the notification. */
function queueParams(jobs: QueueJob[], notify: Announcement): unknown[] {
  let unnumbered = 0;
  const actions = jobs.flatMap((j) =>
    j.actions.map((a) => ({
      id: a.id,
      seq: a.seq,
      k: a.seq === null ? ++unnumbered : null,
      orgId: a.orgId,
      machineRef: a.machineRef,
      type: a.type,
      payload: a.payload,
      createdBy: a.createdBy,
      createdAt: a.createdAt.toISOString(),
      expiresAt: a.expiresAt.toISOString(),
      bulkId: a.bulkId ?? null,
    })),
  );
  const events = jobs.flatMap((j) => j.events.map((e) => ({ ...e, at: e.at.toISOString() })));
  const audits = jobs.map((j) => ({ ...j.audit, at: j.audit.at.toISOString() }));
  return [
    JSON.stringify(actions),
    unnumbered,
    JSON.stringify(events),
    JSON.stringify(audits),
    notify.channel,
    JSON.stringify(notify.payloads),
  ];
}

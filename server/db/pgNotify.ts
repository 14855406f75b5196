// PostgreSQL LISTEN/NOTIFY between server processes: wake-ups of agents' push streams and cache
// invalidations. Senders NOTIFY inside the transaction that makes the change (PostgreSQL delivers a
// notification exactly when its transaction commits, and never for a rolled-back one), or right after
// a commit for wake-ups that have no transaction of their own. Each process holds ONE dedicated
// connection that LISTENs (a `pg.Client` of its own: a pooled connection would be handed to other
// queries and its notifications lost between them). After a lost connection it reconnects with
// backoff and then tells its subscribers (`onReconnect`), who reload what they may have missed.
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Logger } from "pino";

/** Machines that may have deliverable work (payload: `workPayloads`). */
export const WORK_CHANNEL = "dashfleet_work";
/** Cache invalidations (payload: one JSON `{ k, t }`). */
export const INVALIDATION_CHANNEL = "dashfleet_invalidation";
/** PostgreSQL refuses a payload of 8000 bytes or more. */
export const NOTIFY_PAYLOAD_MAX_BYTES = 7999;

/** The machines of one work notification and the process that sent it (which ignores its own). */
export type WorkNotice = { origin: string; refs: string[] };

/**
 * Splits a wake-up of many machines (a bulk to a whole fleet) into as few payloads as fit the limit:
 * `{"o":origin,"m":[ref,…]}`, about 200 machine ids each.
 */
export function workPayloads(origin: string, refs: readonly string[], maxBytes = NOTIFY_PAYLOAD_MAX_BYTES): string[] {
  const head = `{"o":${JSON.stringify(origin)},"m":[`;
  const tail = "]}";
  const fixed = Buffer.byteLength(head) + tail.length;
  const out: string[] = [];
  let items: string[] = [];
  let size = fixed;
  for (const ref of refs) {
    const item = JSON.stringify(ref);
    const bytes = Buffer.byteLength(item);
    if (fixed + bytes > maxBytes) throw new Error(`machine ref too long for a notification: ${ref.slice(0, 40)}…`);
    const added = bytes + (items.length > 0 ? 1 : 0);
    if (items.length > 0 && size + added > maxBytes) {
      out.push(head + items.join(",") + tail);
      items = [];
      size = fixed;
    }
    size += bytes + (items.length > 0 ? 1 : 0);
    items.push(item);
  }
  if (items.length > 0) out.push(head + items.join(",") + tail);
  return out;
}

/** Reads a work payload; null for anything else (a notification from some other program on the channel). */
export function parseWorkPayload(payload: string | undefined): WorkNotice | null {
  if (!payload) return null;
  try {
    const v = JSON.parse(payload) as { o?: unknown; m?: unknown };
    if (typeof v.o !== "string" || !Array.isArray(v.m) || !v.m.every((r) => typeof r === "string")) return null;
    return { origin: v.o, refs: v.m };
  } catch {
    return null;
  }
}

/** The Prisma client or transaction a notification is sent through (the statement joins its transaction). */
type RawClient = { $executeRawUnsafe: (sql: string, ...values: unknown[]) => PromiseLike<number> };

/**
 * One statement sending every payload on `channel`: `pg_notify` once per element of a JSON array, so a
 * bulk's hundreds of payloads cost one round trip. Inside a transaction they are delivered at its commit.
 */
export function notifyStatement<C extends RawClient>(
  client: C,
  channel: string,
  payloads: readonly string[],
): ReturnType<C["$executeRawUnsafe"]> {
  return client.$executeRawUnsafe(
    `SELECT pg_notify($1, p) FROM json_array_elements_text(CAST($2 AS json)) AS p`,
    channel,
    JSON.stringify(payloads),
  ) as ReturnType<C["$executeRawUnsafe"]>;
}

export type PgListenerOptions = {
  log?: Logger | undefined;
  /** First reconnect delay; doubles per failed attempt up to maxBackoffMs (with jitter). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A `SELECT 1` this often finds a connection that died silently (no FIN: a network cut)... */
  heartbeatMs?: number;
  /** ...when it is not answered within this. */
  heartbeatTimeoutMs?: number;
  /** The clock that dates a loss (handed to onReconnect). */
  now?: () => number;
};

/** close() waits this long for a clean goodbye before cutting the socket. */
const CLOSE_TIMEOUT_MS = 1000;

/** The LISTEN connection of one server process. */
export class PgListener {
  /** Identifies this process in work payloads, so it can skip its own (it has woken its streams already). */
  readonly origin = randomBytes(6).toString("base64url");
  readonly #handlers = new Map<string, ((payload: string | undefined) => void)[]>();
  readonly #reconnectHandlers: ((lostAt: number) => Promise<void> | void)[] = [];
  #client: pg.Client | null = null;
  #backendPid: number | null = null;
  #closed = false;
  #attempt = 0;
  #lostAt: number | null = null;
  #retry: NodeJS.Timeout | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #reconnects = 0;
  readonly #min: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(
    private readonly url: string,
    private readonly opts: PgListenerOptions = {},
  ) {
    this.#min = opts.minBackoffMs ?? 100;
    this.#max = opts.maxBackoffMs ?? 5000;
    this.#now = opts.now ?? Date.now;
  }

  /** Subscribes to a channel (before start(); the channels are LISTENed on every (re)connect). */
  on(channel: string, handler: (payload: string | undefined) => void): void {
    const list = this.#handlers.get(channel) ?? [];
    list.push(handler);
    this.#handlers.set(channel, list);
  }

  /**
   * Called after a lost connection is back (and LISTENing again) with the time it was lost: whatever
   * was notified in between is gone, so subscribers reload from the database.
   */
  onReconnect(handler: (lostAt: number) => Promise<void> | void): void {
    this.#reconnectHandlers.push(handler);
  }

  /** Opens the connection; throws when the database cannot be reached (the server does not start). */
  async start(): Promise<void> {
    await this.#connect();
  }

  /** The server process id of the LISTEN connection (tests end it with pg_terminate_backend). */
  get backendPid(): number | null {
    return this.#backendPid;
  }

  /** How many times the connection was lost and opened again. */
  get reconnects(): number {
    return this.#reconnects;
  }

  get connected(): boolean {
    return this.#client !== null;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      keepAlive: true,
      application_name: "dashfleet-listen",
      connectionTimeoutMillis: 10_000,
    });
    // Registered before connect: an 'error' without a listener would crash the process.
    client.on("error", (err) => this.#lost(client, err));
    client.on("end", () => this.#lost(client));
    client.on("notification", (n) => {
      for (const h of this.#handlers.get(n.channel) ?? []) {
        try {
          h(n.payload);
        } catch (err) {
          this.opts.log?.error({ err, channel: n.channel }, "notification handler failed");
        }
      }
    });
    try {
      await client.connect();
      for (const channel of this.#handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      if (this.#closed) throw new Error("closed while connecting");
      this.#backendPid = rows[0]?.pid ?? null;
      this.#client = client;
    } catch (err) {
      client.removeAllListeners("end");
      await endWithin(client, CLOSE_TIMEOUT_MS);
      throw err;
    }
    const every = this.opts.heartbeatMs ?? 10_000;
    this.#heartbeat = setInterval(() => void this.#beat(client), every);
    this.#heartbeat.unref();
  }

  async #beat(client: pg.Client): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error("LISTEN connection heartbeat timed out")),
        this.opts.heartbeatTimeoutMs ?? 5000,
      );
    });
    try {
      await Promise.race([client.query("SELECT 1"), timeout]);
    } catch (err) {
      // A silent network cut: drop the socket, which ends the client and starts a reconnect.
      this.#lost(client, err as Error);
      destroySocket(client);
    } finally {
      clearTimeout(timer);
    }
  }

  #lost(client: pg.Client, err?: Error): void {
    if (client !== this.#client) return;
    this.#client = null;
    this.#backendPid = null;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    void endWithin(client, CLOSE_TIMEOUT_MS);
    if (this.#closed) return;
    this.#lostAt ??= this.#now();
    this.opts.log?.warn({ err }, "PostgreSQL LISTEN connection lost; reconnecting");
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const base = Math.min(this.#max, this.#min * 2 ** this.#attempt);
    this.#attempt += 1;
    const delay = base * (0.5 + Math.random() / 2);
    this.#retry = setTimeout(() => void this.#reconnect(), delay);
    this.#retry.unref();
  }

  async #reconnect(): Promise<void> {
    this.#retry = null;
    if (this.#closed) return;
    try {
      await this.#connect();
    } catch (err) {
      if (this.#closed) return;
      this.opts.log?.warn({ err, attempt: this.#attempt }, "PostgreSQL LISTEN reconnect failed");
      this.#scheduleReconnect();
      return;
    }
    this.#attempt = 0;
    this.#reconnects += 1;
    const lostAt = this.#lostAt ?? this.#now();
    this.#lostAt = null;
    this.opts.log?.info("PostgreSQL LISTEN connection back; reloading what may have been missed");
    for (const h of this.#reconnectHandlers) {
      try {
        await h(lostAt);
      } catch (err) {
        this.opts.log?.error({ err }, "reload after LISTEN reconnect failed");
      }
    }
  }

  /** Ends the connection (UNLISTEN is implied); never waits more than about a second. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#retry = this.#heartbeat = null;
    const client = this.#client;
    this.#client = null;
    if (client) await endWithin(client, CLOSE_TIMEOUT_MS);
  }
}

/** Ends a client politely, or cuts its socket after `ms` (a dead network never answers the goodbye). */
async function endWithin(client: pg.Client, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      destroySocket(client);
      resolve();
    }, ms);
  });
  await Promise.race([client.end().catch(() => undefined), cut]);
  clearTimeout(timer);
}

/** Cuts a client's socket (node-postgres keeps it on `connection.stream`, not in its typings). */
function destroySocket(client: pg.Client): void {
  (client.connection as unknown as { stream?: { destroy: () => void } }).stream?.destroy();
}

// The agent's push stream (GET /trpc/agent.actionStream with a machine token), answered without tRPC's
// SSE machinery. tRPC holds a Fetch Request, abort signals, web streams (a readable, two transforms, a
// text encoder), an async generator and a ping timer per stream: about 100 KB of server memory each, too
// much for 100,000 connected agents. Here a stream is the response itself, one dispatch listener and a
// slot in a shared ping wheel. The wire protocol is tRPC's, byte for byte (what the agent's
// httpSubscriptionLink reads): a "connected" event carrying the client options, `data: {"kind":"wake"}`
// events, "ping" events, and a "return" event when the server ends the stream (replaced by a newer
// stream of the same machine, or the machine retired). The caps are the same StreamRegistry's. Anything
// else (another URL form, no or another credential) falls through to tRPC, which answers it with its
// own errors, and agent.actionStream in routers/agent.ts stays the reference implementation.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AppDeps } from "../context.ts";
import { DomainError } from "../domain/errors.ts";
import { appRouter } from "../routers/_app.ts";
import { bearerOf } from "./context.ts";

/** The URL the agent's subscription link opens (no input). */
export const PUSH_STREAM_PATH = "/trpc/agent.actionStream";

// tRPC's SSE options (server/trpc.ts) stay the one source of the ping interval and the client options.
const sse = appRouter._def._config.sse;
const PING_MS = sse?.ping?.enabled ? (sse.ping.intervalMs ?? 1000) : 0;
/** The ping wheel turns this often; each stream sits in one of pingMs / TICK_MS slots, so pings are spread. */
const TICK_MS = 1000;

const CONNECTED = Buffer.from(`event: connected\ndata: ${JSON.stringify(sse?.client ?? {})}\n\n\n`);
const WAKE = Buffer.from(`data: ${JSON.stringify({ kind: "wake" })}\n\n\n`);
const PING = Buffer.from("event: ping\ndata: \n\n\n");
const RETURN = Buffer.from("event: return\ndata: \n\n\n");
const HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  vary: "trpc-accept, accept",
  "x-accel-buffering": "no",
};

/** One open stream: its response, and whether a wake waits for the socket to drain. */
class PushStream {
  wakeOwed = false;
  closed = false;
  off: () => void = () => {};
  release: () => void = () => {};
  readonly wake = () => this.send(WAKE);

  constructor(
    readonly res: ServerResponse,
    readonly slot: Set<PushStream>,
  ) {}

  /** Writes one event; a wake while the client is not reading is sent once, when it drains. */
  send(event: Buffer): void {
    if (this.closed) return;
    if (this.res.writableNeedDrain) {
      if (event === WAKE && !this.wakeOwed) {
        this.wakeOwed = true;
        this.res.once("drain", () => {
          this.wakeOwed = false;
          this.send(WAKE);
        });
      }
      return; // a ping can be skipped: the client is not idle, it is slow
    }
    this.res.write(event);
  }

  /** The server ends it (replaced or retired): tRPC's "return" event, then the response ends. */
  end(): void {
    if (this.closed) return;
    this.res.end(RETURN);
    this.cleanup();
  }

  cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    this.slot.delete(this);
    this.off();
    this.release();
  }
}

export type PushStreams = {
  /** Answers the request as a push stream and returns true, or returns false and leaves it to tRPC. */
  answer(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Streams open through this handler. */
  count(): number;
  /** Stops the ping wheel (the streams themselves end with their connections). */
  close(): void;
};

/** `pingMs` (tests only) replaces the interval from tRPC's options; the wheel then turns every pingMs. */
export function createPushStreams(deps: AppDeps, opts: { pingMs?: number } = {}): PushStreams {
  const pingMs = opts.pingMs ?? PING_MS;
  const tickMs = pingMs > 0 ? Math.min(TICK_MS, pingMs) : TICK_MS;
  const SLOTS = Math.max(1, Math.round(pingMs / tickMs));
  const slots = Array.from({ length: SLOTS }, () => new Set<PushStream>());
  let next = 0; // the slot a new stream joins: streams spread evenly over the wheel
  let hand = 0; // the slot pinged on the next tick
  let open = 0;
  let wheel: NodeJS.Timeout | null = null;

  const tick = () => {
    const slot = slots[hand]!;
    hand = (hand + 1) % SLOTS;
    for (const s of slot) s.send(PING);
  };

  return {
    async answer(req, res) {
      if (req.method !== "GET" || req.url !== PUSH_STREAM_PATH) return false;
      const bearer = bearerOf(req);
      const p = bearer ? await deps.services.principals.fromBearer(bearer) : null;
      if (p?.kind !== "machine") return false; // tRPC answers UNAUTHORIZED / FORBIDDEN in its shape
      if (req.socket.destroyed) return true; // the client left during the lookup (its close event is past)

      const { streams, dispatch } = deps.services;
      let held;
      try {
        held = streams.open(p.machineRef);
      } catch (err) {
        if (!(err instanceof DomainError && err.kind === "unavailable")) throw err;
        // Past the process cap: plain 503 in tRPC's error shape, before any stream starts (as fastPoll.ts did).
        const body = JSON.stringify({
          error: { message: err.message, code: -32603, data: { code: "SERVICE_UNAVAILABLE", httpStatus: 503 } },
        });
        res.writeHead(503, { "content-type": "application/json", "retry-after": "60" }).end(body);
        return true;
      }

      const slot = slots[next]!;
      next = (next + 1) % SLOTS;
      const s = new PushStream(res, slot);
      s.release = () => {
        held.release();
        if (--open === 0 && wheel) {
          clearInterval(wheel);
          wheel = null;
        }
      };
      open += 1;
      if (pingMs > 0 && !wheel) {
        wheel = setInterval(tick, tickMs);
        wheel.unref();
      }
      slot.add(s);
      res.on("close", () => s.cleanup()); // the client went away, or the server closed the connection
      held.signal.addEventListener("abort", () => s.end(), { once: true });

      res.writeHead(200, HEADERS);
      res.write(CONNECTED);
      s.off = dispatch.onWork(p.machineRef, s.wake);
      // Work already deliverable at connect (queued while the agent was away): one wake now.
      if (dispatch.mayHaveWork(p.machineRef)) s.send(WAKE);
      return true;
    },
    count: () => open,
    close() {
      if (wheel) clearInterval(wheel);
      wheel = null;
    },
  };
}

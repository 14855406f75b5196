// The push channel, agent side: a tRPC subscription to agent.actionStream over server-sent events.
// It only wakes the agent (which then claims through agent.pendingActions as usual), so delivery stays
// exactly-once in the claim and polling remains the fallback. Plain Node: no electron import.
import { createTRPCClient, httpSubscriptionLink, TRPCClientError } from "@trpc/client";
// Node 20 has no global EventSource; this one also lets us send the Authorization header.
import { EventSource } from "eventsource";
import type { AppRouter } from "../../../server/routers/_app.ts";

/** What the agent core accepts as `push`: start listening, call onWake on every wake, close to stop. */
export type PushFactory = (onWake: () => void) => { close(): void };

export type PushOptions = {
  /** Server base URL, e.g. "http://127.0.0.1:3000" (without /trpc). */
  serverUrl: string;
  machineToken: string;
  log?: { info?: (msg: string) => void; warn?: (msg: string) => void };
  /** First reconnect delay after the stream fails (doubles up to maxBackoffMs). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
};

/**
 * Returns a push factory for the agent core. The stream reconnects by itself with backoff; onWake is
 * called on every event and after every (re)connect, because a wake sent while the stream was down is
 * not replayed. A server without actionStream (the original design) answers NOT_FOUND: the channel
 * then stays closed and the agent simply keeps polling.
 */
export function createPushChannel(opts: PushOptions): PushFactory {
  const minBackoff = opts.minBackoffMs ?? 1000;
  const maxBackoff = opts.maxBackoffMs ?? 60_000;
  const base = opts.serverUrl.replace(/\/+$/, "");
  const authorization = `Bearer ${opts.machineToken}`;

  return (onWake) => {
    const client = createTRPCClient<AppRouter>({
      links: [
        httpSubscriptionLink({
          url: `${base}/trpc`,
          EventSource,
          eventSourceOptions: {
            // The EventSource API has no headers; the ponyfill's fetch hook adds the machine token.
            fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization } }),
          },
        }),
      ],
    });

    let closed = false;
    let backoff = minBackoff;
    let timer: NodeJS.Timeout | null = null;
    let sub: { unsubscribe(): void } | null = null;

    const retryLater = () => {
      sub = null;
      if (closed || timer) return;
      timer = setTimeout(() => {
        timer = null;
        start();
      }, backoff);
      timer.unref?.();
      backoff = Math.min(maxBackoff, backoff * 2);
    };

    const start = () => {
      if (closed) return;
      sub = client.agent.actionStream.subscribe(undefined, {
        onStarted: () => {
          backoff = minBackoff;
          opts.log?.info?.("push channel connected");
          onWake();
        },
        onData: () => onWake(),
        onError: (err) => {
          sub = null;
          if (closed) return;
          const code = err instanceof TRPCClientError ? (err.data as { code?: string } | undefined)?.code : undefined;
          if (code === "NOT_FOUND") {
            opts.log?.info?.("server has no push channel; polling only");
            return;
          }
          opts.log?.warn?.(`push channel failed (${code ?? err.message}); retrying in ${Math.round(backoff / 1000)} s`);
          retryLater();
        },
        onComplete: () => {
          // The server ended the stream (e.g. shutting down): come back after a pause.
          retryLater();
        },
      });
    };
    start();

    return {
      close() {
        closed = true;
        if (timer) clearTimeout(timer);
        sub?.unsubscribe();
        sub = null;
      },
    };
  };
}

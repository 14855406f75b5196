// Whether the server answers. Every tRPC request reports here (lib/trpc.ts wraps fetch): a request
// that gets no HTTP answer, or a gateway/unavailable status, marks the connection lost; any other
// answer marks it back. While lost, the console shows a "connection lost — retrying" banner and
// treats what it shows as stale: online badges say "Unknown", counters are dimmed, and nothing
// claims "online, last seen 9 s ago" from data a dead server sent.

/** HTTP statuses that mean "no server behind this" (a proxy answering for it), not an API error. */
const UNREACHABLE = new Set([502, 503, 504]);

class Connection {
  /** True once a request has failed to reach the server, until one succeeds. */
  lost = $state(false);
  /** When the last answer came (ms since epoch); the stale data is "as of" this time. */
  lastAnswerAt = $state<number | null>(null);
  /** When the connection was lost. */
  lostAt = $state<number | null>(null);

  /** Reports the outcome of one request. */
  report(ok: boolean): void {
    if (ok) {
      this.lastAnswerAt = Date.now();
      if (this.lost) {
        this.lost = false;
        this.lostAt = null;
      }
    } else if (!this.lost) {
      this.lost = true;
      this.lostAt = Date.now();
    }
  }

  /** A fetch that reports to this connection. */
  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    try {
      const res = await fetch(input, init);
      this.report(!UNREACHABLE.has(res.status));
      return res;
    } catch (err) {
      // Aborted requests (a newer query replaced this one) say nothing about the server.
      if (!(err instanceof DOMException && err.name === "AbortError")) this.report(false);
      throw err;
    }
  };
}

/** The console's one connection state. */
export const connection = new Connection();

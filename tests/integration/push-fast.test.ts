// The lean push stream (server/http/fastPush.ts) against the contract of agent.actionStream: the same
// bytes as tRPC's SSE path (connected, wake, ping, return), a wake for a queued action and at connect
// when work waits, the end of a replaced or retired machine's stream, the per-machine and per-process
// caps, pings, and everything it does not own left to tRPC. The handler runs on its own HTTP server
// over a real test server's services (so pings can come every 200 ms); the agent's own client over the
// real server's routing is in push.test.ts.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPushStreams, PUSH_STREAM_PATH, type PushStreams } from "../../server/http/fastPush.ts";
import { createPushChannel } from "../../tray-agent/src/core/push.ts";
import { enroll, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

const PER_PROCESS = 4;
let server: TestServer;
let org: TestOrg;
let push: PushStreams;
let front: http.Server;
let frontUrl = "";
/** Requests the handler left to tRPC (here: answered 599, so a test sees the fall-through). */
let fellThrough = 0;

beforeAll(async () => {
  server = await startTestServer({ env: { DASHFLEET_STREAMS_PER_PROCESS: String(PER_PROCESS) } });
  org = await server.createOrg();
  push = createPushStreams(server.deps, { pingMs: 200 });
  front = http.createServer((req, res) => {
    void push.answer(req, res).then((answered) => {
      if (answered) return;
      fellThrough += 1;
      res.writeHead(599).end();
    });
  });
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
});
afterAll(async () => {
  push.close();
  front.closeAllConnections();
  await new Promise((r) => front.close(r));
  await server.stop();
});

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An open event stream: its status, the raw text so far, and its events split as an EventSource does. */
async function openStream(base: string, token: string | null, path = PUSH_STREAM_PATH) {
  const ctl = new AbortController();
  const res = await fetch(`${base}${path}`, {
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), accept: "text/event-stream" },
    signal: ctl.signal,
  });
  let text = "";
  let ended = false;
  const done = (async () => {
    try {
      const decoder = new TextDecoder();
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) text += decoder.decode(chunk);
    } catch {
      // aborted by the test
    }
    ended = true;
  })();
  const events = () =>
    text
      .split(/\n\n+/)
      .filter((e) => e.length > 0)
      .map((e) => e.replace(/^\n+/, ""));
  return {
    status: res.status,
    headers: res.headers,
    text: () => text,
    events,
    wakes: () => events().filter((e) => e === 'data: {"kind":"wake"}').length,
    ended: () => ended,
    done,
    close: () => ctl.abort(),
  };
}

const queue = (machineId: string) =>
  server.client(org.adminKey).actions.queue.mutate({ machineId, type: "message", data: { message: "hi" } });

describe("lean push stream", () => {
  it("speaks tRPC's SSE protocol byte for byte: connected, then a wake for a queued action", async () => {
    const token = await enroll(server, org.agentKey, "fp-proto");
    const lean = await openStream(frontUrl, token);
    // The same machine through the real server's tRPC path (a trailing "?" is not the fast path's URL).
    const viaTrpc = await openStream(server.url, token, `${PUSH_STREAM_PATH}?`);
    try {
      expect(lean.status).toBe(200);
      expect(lean.headers.get("content-type")).toBe(viaTrpc.headers.get("content-type"));
      expect(lean.headers.get("cache-control")).toBe(viaTrpc.headers.get("cache-control"));
      await until(() => lean.events().length >= 1 && viaTrpc.events().length >= 1);
      expect(lean.events()[0]).toBe(viaTrpc.events()[0]);
      expect(lean.events()[0]).toMatch(/^event: connected\ndata: \{.*"reconnectAfterInactivityMs"/);
      expect(lean.wakes()).toBe(0);
      await queue("fp-proto");
      await until(() => lean.wakes() === 1 && viaTrpc.wakes() === 1);
      // Identical text, event for event (pings aside: they come on each path's own schedule).
      const noPing = (t: string) => t.replaceAll("event: ping\ndata: \n\n\n", "");
      expect(noPing(lean.text())).toBe(noPing(viaTrpc.text()));
    } finally {
      lean.close();
      viaTrpc.close();
    }
    await until(() => push.count() === 0 && server.deps.services.streams.count() === 0);
  });

  it("serves the tray agent's own push client (its URL is exactly the one the handler owns)", async () => {
    const token = await enroll(server, org.agentKey, "fp-agent");
    const before = fellThrough;
    let wakes = 0;
    let connects = 0;
    const channel = createPushChannel({
      serverUrl: frontUrl,
      machineToken: token,
      minBackoffMs: 60_000,
      log: { info: (m) => void (m === "push channel connected" && (connects += 1)) },
    })(() => (wakes += 1));
    try {
      await until(() => connects === 1 && push.count() === 1);
      const afterConnect = wakes; // the client wakes itself once on connect
      await queue("fp-agent");
      await until(() => wakes === afterConnect + 1);
      expect(fellThrough).toBe(before);
    } finally {
      channel.close();
    }
    await until(() => push.count() === 0);
  });

  it("wakes at connect when work already waits, and once per queued action after that", async () => {
    const token = await enroll(server, org.agentKey, "fp-waiting");
    await queue("fp-waiting");
    const s = await openStream(frontUrl, token);
    try {
      await until(() => s.wakes() === 1);
      await queue("fp-waiting");
      await until(() => s.wakes() === 2);
      // Another machine's action does not wake this stream.
      await enroll(server, org.agentKey, "fp-other");
      await queue("fp-other");
      await new Promise((r) => setTimeout(r, 200));
      expect(s.wakes()).toBe(2);
    } finally {
      s.close();
    }
    await until(() => push.count() === 0);
  });

  it("sends tRPC's ping event to an idle stream", async () => {
    const token = await enroll(server, org.agentKey, "fp-ping");
    const s = await openStream(frontUrl, token);
    try {
      await until(() => s.events().filter((e) => e === "event: ping\ndata: ").length >= 2, 3000);
      expect(s.wakes()).toBe(0);
    } finally {
      s.close();
    }
    await until(() => push.count() === 0);
  });

  it("ends the oldest stream of a machine with tRPC's return event when a third opens", async () => {
    const token = await enroll(server, org.agentKey, "fp-replace");
    const s1 = await openStream(frontUrl, token);
    const s2 = await openStream(frontUrl, token);
    await until(() => push.count() === 2);
    const s3 = await openStream(frontUrl, token);
    try {
      await s1.done;
      expect(s1.events().at(-1)).toBe("event: return\ndata: ");
      expect(s2.ended()).toBe(false);
      expect(push.count()).toBe(2);
      // The newest streams still wake.
      await queue("fp-replace");
      await until(() => s2.wakes() === 1 && s3.wakes() === 1);
      expect(s1.wakes()).toBe(0);
    } finally {
      for (const s of [s1, s2, s3]) s.close();
    }
    await until(() => push.count() === 0 && server.deps.services.streams.count() === 0);
  });

  it("ends a retired machine's streams, and its token then opens none", async () => {
    const token = await enroll(server, org.agentKey, "fp-retire");
    const s = await openStream(frontUrl, token);
    await until(() => push.count() === 1);
    await server.client(org.adminKey).machines.retire.mutate({ machineId: "fp-retire" });
    await s.done;
    expect(s.events().at(-1)).toBe("event: return\ndata: ");
    expect(push.count()).toBe(0);
    const before = fellThrough;
    const again = await openStream(frontUrl, token);
    await again.done;
    expect(again.status).toBe(599); // left to tRPC, which answers UNAUTHORIZED
    expect(fellThrough).toBe(before + 1);
  });

  it("refuses streams past the process cap with 503 and Retry-After; a machine at its share still replaces its oldest", async () => {
    const [a, b, c] = await Promise.all([1, 2, 3].map((i) => enroll(server, org.agentKey, `fp-cap-${i}`)));
    // Two machines with two streams each fill the process (4 here).
    const open = [];
    for (const t of [a!, a!, b!, b!]) open.push(await openStream(frontUrl, t));
    try {
      await until(() => push.count() === PER_PROCESS);
      const refused = await openStream(frontUrl, c!);
      await refused.done;
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("60");
      expect(JSON.parse(refused.text())).toMatchObject({
        error: { data: { code: "SERVICE_UNAVAILABLE", httpStatus: 503 } },
      });
      expect(refused.text()).toMatch(/maximum of 4 push streams/);
      // A reconnecting agent (at its share of 2) replaces its oldest stream instead of being refused.
      const third = await openStream(frontUrl, a!);
      open.push(third);
      expect(third.status).toBe(200);
      await open[0]!.done;
      expect(open[0]!.events().at(-1)).toBe("event: return\ndata: ");
      expect(push.count()).toBe(PER_PROCESS);
    } finally {
      for (const s of open) s.close();
    }
    await until(() => push.count() === 0 && server.deps.services.streams.count() === 0);
  });

  it("forgets a stream whose client hung up", async () => {
    const token = await enroll(server, org.agentKey, "fp-hangup");
    const s = await openStream(frontUrl, token);
    await until(() => push.count() === 1);
    s.close();
    await until(() => push.count() === 0 && server.deps.services.streams.count() === 0);
    // A queued action after the hang-up goes nowhere (no write to a dead response) and is still claimable.
    const { id } = await queue("fp-hangup");
    const { actions } = await server.client(token).agent.pendingActions.query();
    expect(actions.map((a) => a.id)).toEqual([id]);
  });

  it("leaves to tRPC what it does not own: no credential, an agent key, another URL form, another method", async () => {
    const before = fellThrough;
    const token = await enroll(server, org.agentKey, "fp-fallthrough");
    for (const [t, path] of [
      [null, PUSH_STREAM_PATH],
      [org.agentKey, PUSH_STREAM_PATH],
      [token, `${PUSH_STREAM_PATH}?input=%7B%7D`],
    ] as const) {
      const s = await openStream(frontUrl, t, path);
      await s.done;
      expect(s.status).toBe(599);
    }
    const post = await fetch(`${frontUrl}${PUSH_STREAM_PATH}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(post.status).toBe(599);
    expect(fellThrough).toBe(before + 4);
    expect(push.count()).toBe(0);
  });
});

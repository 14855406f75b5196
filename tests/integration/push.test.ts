// The push channel (agent.actionStream over server-sent events), with the agent's real push client:
// a queued action wakes the subscribed agent and is claimed exactly once, a dropped stream comes back
// and still delivers, and one machine's wake or action never reaches another machine.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeliveredAction } from "../../server/contract/index.ts";
import { createPushChannel } from "../../tray-agent/src/core/push.ts";
import { enroll, errorCode, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let org: TestOrg;

beforeAll(async () => {
  server = await startTestServer();
  org = await server.createOrg();
});
afterAll(async () => {
  await server.stop();
});

/** Waits until `check` holds (the push path is asynchronous); fails after `ms`. */
async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A minimal agent: claims through pendingActions on every wake, and records what it holds. */
function pushAgent(url: string, token: string) {
  const api = server.client(token);
  const held: Array<Omit<DeliveredAction, "data"> & { data?: unknown }> = [];
  let wakes = 0;
  let connects = 0;
  let claiming = Promise.resolve();
  const push = createPushChannel({
    serverUrl: url,
    machineToken: token,
    minBackoffMs: 100,
    maxBackoffMs: 500,
    log: { info: (m) => void (m === "push channel connected" && (connects += 1)) },
  });
  const channel = push(() => {
    wakes += 1;
    // Claims run one after another, as the agent core's poller does.
    claiming = claiming.then(async () => {
      const { actions } = await api.agent.pendingActions.query();
      held.push(...actions);
    });
  });
  return {
    api,
    held,
    get wakes() {
      return wakes;
    },
    get connects() {
      return connects;
    },
    settled: () => claiming,
    close: () => channel.close(),
  };
}

/** A TCP proxy in front of the server whose connections the test can cut, and whose port it can close. */
async function cuttableProxy(target: number) {
  const sockets = new Set<net.Socket>();
  let listener: net.Server | null = null;
  let port = 0;
  const open = () =>
    new Promise<void>((resolve) => {
      listener = net.createServer((client) => {
        const upstream = net.connect(target, "127.0.0.1");
        client.pipe(upstream).pipe(client);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => s.destroy());
        }
      });
      listener.listen(port, "127.0.0.1", () => {
        port = (listener!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  await open();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    /** Stops accepting and cuts every open connection. */
    async down() {
      await new Promise<void>((r) => {
        listener!.close(() => r());
        for (const s of sockets) s.destroy();
      });
    },
    up: open,
  };
}

describe("push channel", () => {
  it("wakes a subscribed agent for a queued action, which it then holds exactly once", async () => {
    const token = await enroll(server, org.agentKey, "push-one");
    const agent = pushAgent(server.url, token);
    try {
      await until(() => agent.connects >= 1);
      const admin = server.client(org.adminKey);
      const { id } = await admin.actions.queue.mutate({
        machineId: "push-one",
        type: "message",
        data: { message: "hello" },
      });
      await until(() => agent.held.length >= 1);
      // Later wakes and claims (another queue, a poll) do not hand the same action out again.
      const { id: second } = await admin.actions.queue.mutate({
        machineId: "push-one",
        type: "message",
        data: { message: "again" },
      });
      await until(() => agent.held.length >= 2);
      await agent.settled();
      const { actions } = await agent.api.agent.pendingActions.query();
      expect(actions).toEqual([]);
      expect(agent.held.map((a) => a.id)).toEqual([id, second]);
      const view = await admin.actions.get.query({ id });
      expect(view.status).toBe("delivered");
      expect(view.deliveryCount).toBe(1);
    } finally {
      agent.close();
    }
  });

  it("reconnects after the stream drops and still delivers an action queued while it was down", async () => {
    const token = await enroll(server, org.agentKey, "push-reconnect");
    const proxy = await cuttableProxy(server.port);
    const agent = pushAgent(proxy.url, token);
    try {
      await until(() => agent.connects >= 1);
      await proxy.down();
      const admin = server.client(org.adminKey);
      const { id } = await admin.actions.queue.mutate({
        machineId: "push-reconnect",
        type: "message",
        data: { message: "while away" },
      });
      // Claims go straight to the server; only the stream runs through the proxy. Nothing is held yet,
      // because the wake for this action was sent while the stream was down.
      await new Promise((r) => setTimeout(r, 200));
      expect(agent.held).toEqual([]);
      await proxy.up();
      await until(() => agent.connects >= 2);
      await until(() => agent.held.length >= 1);
      expect(agent.held.map((a) => a.id)).toEqual([id]);
      // And the reconnected stream carries new wakes.
      const { id: after } = await admin.actions.queue.mutate({
        machineId: "push-reconnect",
        type: "message",
        data: { message: "after" },
      });
      await until(() => agent.held.length >= 2);
      expect(agent.held.map((a) => a.id)).toEqual([id, after]);
    } finally {
      agent.close();
      await proxy.down();
    }
  });

  it("never sends machine A's wake to machine B, and B's claim never returns A's action", async () => {
    const tokenA = await enroll(server, org.agentKey, "push-a");
    const tokenB = await enroll(server, org.agentKey, "push-b");
    const a = pushAgent(server.url, tokenA);
    const b = pushAgent(server.url, tokenB);
    try {
      await until(() => a.connects >= 1 && b.connects >= 1);
      await b.settled();
      const bWakesBefore = b.wakes;
      const admin = server.client(org.adminKey);
      const { id } = await admin.actions.queue.mutate({
        machineId: "push-a",
        type: "message",
        data: { message: "for A only" },
      });
      await until(() => a.held.length >= 1);
      // Give a stray wake time to arrive before asserting it did not.
      await new Promise((r) => setTimeout(r, 300));
      await b.settled();
      expect(a.held.map((x) => x.id)).toEqual([id]);
      expect(b.wakes).toBe(bWakesBefore);
      expect(b.held).toEqual([]);
      expect((await b.api.agent.pendingActions.query()).actions).toEqual([]);
      // Even knowing the id and claim token, B cannot acknowledge A's action.
      expect(await errorCode(b.api.agent.ack.mutate({ actionId: id, claimToken: a.held[0]!.claimToken }))).toBe(
        "NOT_FOUND",
      );
    } finally {
      a.close();
      b.close();
    }
  });

  it("accepts only a machine token on the stream", async () => {
    const errors: string[] = [];
    const push = createPushChannel({
      serverUrl: server.url,
      machineToken: org.agentKey,
      minBackoffMs: 60_000,
      log: { warn: (m) => errors.push(m) },
    });
    const channel = push(() => {});
    try {
      await until(() => errors.length >= 1);
      expect(errors[0]).toContain("FORBIDDEN");
    } finally {
      channel.close();
    }
  });
});

// The LISTEN connection on its own (server/db/pgNotify.ts), against a real PostgreSQL behind a TCP
// proxy the test controls: notifications arrive, a connection that dies silently (the network drops
// every packet, no FIN) is found by the heartbeat and replaced, the subscribers are told to reload,
// and notifications arrive again; close() ends it even while the network is dead.
import net from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgListener } from "../../server/db/pgNotify.ts";
import { startPgCluster, type PgCluster } from "../helpers/pg.ts";

let cluster: PgCluster;
let url: string;

beforeAll(async () => {
  cluster = await startPgCluster();
  url = await cluster.createDatabase();
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A TCP proxy to the cluster that can silently drop every packet (a network cut without FIN). */
async function silentProxy(target: number) {
  const sockets = new Set<net.Socket>();
  let dropping = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on("data", (chunk) => void (dropping || to.write(chunk)));
      from.on("close", () => {
        sockets.delete(from);
        to.destroy();
      });
      from.on("error", () => from.destroy());
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => void (dropping = true),
    /** The network is back; connections opened during the cut are gone (as after a real outage). */
    heal: () => {
      dropping = false;
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function notify(channel: string, payload: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query("SELECT pg_notify($1, $2)", [channel, payload]);
  } finally {
    await c.end();
  }
}

describe("the LISTEN connection", () => {
  it("finds a silently dead connection by its heartbeat, reconnects, has subscribers reload, and hears again", async () => {
    const proxy = await silentProxy(cluster.port);
    const viaProxy = url.replace(`:${cluster.port}/`, `:${proxy.port}/`);
    const listener = new PgListener(viaProxy, {
      // A timeout well above a loaded machine's event-loop stalls: with 300 ms, a stall let the timeout
      // fire before the waiting answer was read, a spurious reconnect before the cut (reconnects 2).
      heartbeatMs: 200,
      heartbeatTimeoutMs: 1500,
      minBackoffMs: 50,
      maxBackoffMs: 200,
    });
    const heard: string[] = [];
    const reloads: number[] = [];
    listener.on("test_channel", (p) => heard.push(p ?? ""));
    listener.onReconnect((lostAt) => void reloads.push(lostAt));
    try {
      await listener.start();
      await notify("test_channel", "one");
      await until(() => heard.includes("one"), 10_000);

      const cutAt = Date.now();
      proxy.cut();
      await until(() => !listener.connected, 10_000);
      // Sent while the network is dead: lost for this listener (the reload covers it).
      await notify("test_channel", "lost");
      proxy.heal();
      await until(() => listener.connected && listener.reconnects === 1, 15_000);
      expect(reloads).toHaveLength(1);
      expect(reloads[0]).toBeGreaterThanOrEqual(cutAt);
      expect(heard).not.toContain("lost");

      await notify("test_channel", "two");
      await until(() => heard.includes("two"), 10_000);
    } finally {
      await listener.close();
      await proxy.close();
    }
  });

  it("close() returns promptly even when the network is dead, and no reconnect follows", async () => {
    const proxy = await silentProxy(cluster.port);
    const listener = new PgListener(url.replace(`:${cluster.port}/`, `:${proxy.port}/`), { minBackoffMs: 20 });
    try {
      await listener.start();
      proxy.cut();
      const started = Date.now();
      await listener.close();
      expect(Date.now() - started).toBeLessThan(3000);
      proxy.heal();
      await new Promise((r) => setTimeout(r, 300));
      expect(listener.connected).toBe(false);
      expect(listener.reconnects).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it("start() fails when the database cannot be reached (the server does not start half-connected)", async () => {
    const listener = new PgListener(url.replace(`:${cluster.port}/`, ":1/"));
    await expect(listener.start()).rejects.toThrow();
    await listener.close();
  });
});

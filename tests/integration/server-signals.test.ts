// The server process and its signals: `systemctl reload` (SIGHUP) must not take a single process
// down (several workers replace themselves on it: tests/faults/pg-workers.test.ts); SIGTERM stops it.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawnTsx, type NodeChild } from "../helpers/child.ts";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`);
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

let server: NodeChild | undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-signals-"));
afterAll(async () => {
  await server?.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("a single server process", () => {
  it("keeps serving on SIGHUP (saying why) and stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    server = spawnTsx("server/index.ts", [], {
      env: {
        DASHFLEET_DB: path.join(dir, "fleet.db"),
        PORT: String(port),
        HOST: "127.0.0.1",
        DASHFLEET_DEMO: "false",
        LOG_LEVEL: "info",
      },
    });
    const started = Date.now();
    while (!(await healthy(url))) {
      if (Date.now() - started > 60_000) throw new Error(`server did not start:\n${server.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const { pid } = (await (await fetch(`${url}/healthz`)).json()) as { pid: number };
    server.child.kill("SIGHUP");
    // Wait until the process has handled the signal (its log line), not a fixed second: on a loaded
    // machine the child may not even have run by then. Then it must still be the same, serving process.
    const handled = Date.now();
    while (!/SIGHUP ignored.*restart it to load new code/.test(server.output())) {
      if (server.child.exitCode !== null || server.child.signalCode !== null)
        throw new Error(`the server ended on SIGHUP:\n${server.output()}`);
      if (Date.now() - handled > 30_000) throw new Error(`SIGHUP not handled in 30 s:\n${server.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(server.child.exitCode).toBeNull();
    expect(await healthy(url)).toBe(true);
    expect(((await (await fetch(`${url}/healthz`)).json()) as { pid: number }).pid).toBe(pid);
    expect(server.child.exitCode).toBeNull();
    await server.stop(15_000);
    expect(await server.exited).toEqual({ code: 0, signal: null });
  }, 90_000);
});

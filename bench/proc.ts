// Process helpers shared by the bench entry points (run.ts, push.ts): a free port on 127.0.0.1 and
// waiting for a started server's /healthz.
import type { ChildProcess } from "node:child_process";
import http from "node:http";
import net from "node:net";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once /healthz answers 200; fails if the child exits first or after 60 s. */
export async function waitHealthy(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((r) => {
      http
        .get({ host: "127.0.0.1", port, path: "/healthz" }, (res) => (res.resume(), r(res.statusCode === 200)))
        .on("error", () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("server did not become healthy");
}

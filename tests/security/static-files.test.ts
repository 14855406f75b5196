// The dashboard's static files, served by sirv: the same security headers and CSP as every answer,
// hashed assets cached forever, client routes answered with index.html, and (code review) a file that
// disappears between the look-up and the read (`npm run build` while serving) cuts short only that
// answer: the process keeps serving.
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CSP } from "../../server/http/static.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let distDir: string;

beforeAll(async () => {
  distDir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-static-"));
  fs.mkdirSync(path.join(distDir, "assets"));
  fs.writeFileSync(
    path.join(distDir, "index.html"),
    '<!doctype html><script type="module" src="/assets/app-1.js"></script>',
  );
  fs.writeFileSync(path.join(distDir, "assets", "app-1.js"), "document.title = 'ok';");
  fs.writeFileSync(path.join(distDir, "favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
  server = await startTestServer({ sweep: false, env: { DASHFLEET_DASHBOARD_DIR: distDir } });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  fs.rmSync(distDir, { recursive: true, force: true });
});

async function get(p: string, init?: RequestInit) {
  const res = await fetch(`${server.url}${p}`, init);
  return { res, body: await res.text() };
}

describe("static files", () => {
  it("serves index.html, client routes and assets with the CSP, types and caching of before", async () => {
    for (const p of ["/", "/fleet/some-machine", "/settings/keys"]) {
      const { res, body } = await get(p);
      expect(res.status, p).toBe(200);
      expect(body).toContain("/assets/app-1.js");
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(res.headers.get("content-security-policy")).toBe(CSP);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    }
    const asset = await get("/assets/app-1.js");
    expect(asset.body).toBe("document.title = 'ok';");
    expect(asset.res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(asset.res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(asset.res.headers.get("content-security-policy")).toBe(CSP);
    expect((await get("/favicon.svg")).res.headers.get("content-type")).toBe("image/svg+xml");
  });

  it("answers a missing asset 404, other methods 405, and never serves outside the folder", async () => {
    expect((await get("/assets/missing-2.js")).res.status).toBe(404);
    expect((await get("/", { method: "POST" })).res.status).toBe(405);
    for (const p of [
      "/../../../../etc/passwd",
      "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "/assets/..%2f..%2f..%2fetc%2fpasswd",
    ]) {
      const { body } = await get(p);
      expect(body, p).not.toContain("root:");
    }
  });

  it("sees a rebuild at once: new hashed assets are served without a restart", async () => {
    fs.writeFileSync(path.join(distDir, "assets", "app-2.js"), "document.title = 'rebuilt';");
    const { res, body } = await get("/assets/app-2.js");
    expect(res.status).toBe(200);
    expect(body).toBe("document.title = 'rebuilt';");
  });

  it("survives a file removed between the look-up and the read, and keeps serving", async () => {
    const victim = path.join(distDir, "assets", "vanishing.js");
    fs.writeFileSync(victim, "x".repeat(10_000));
    // The race of `npm run build` while serving, made certain: the file goes just before it is opened.
    const original = fs.createReadStream;
    const patched = ((file: fs.PathLike, opts?: unknown) => {
      if (String(file) === victim) fs.rmSync(victim, { force: true });
      return original(file, opts as Parameters<typeof original>[1]);
    }) as typeof fs.createReadStream;
    fs.createReadStream = patched;
    syncBuiltinESMExports();
    let outcome: string;
    try {
      const res = await fetch(`${server.url}/assets/vanishing.js`);
      const body = await res.text();
      outcome = body.length === 10_000 ? "served" : `status ${res.status}, ${body.length} bytes`;
    } catch (err) {
      outcome = `cut short: ${(err as Error).message}`;
    } finally {
      fs.createReadStream = original;
      syncBuiltinESMExports();
    }
    expect(outcome).not.toBe("served");
    expect(fs.existsSync(victim)).toBe(false);
    // The process is alive and serving.
    expect((await get("/healthz")).res.status).toBe(200);
    expect((await get("/")).res.status).toBe(200);
    expect((await get("/assets/app-1.js")).body).toBe("document.title = 'ok';");
  });

  it("says how to build when the dashboard is not built", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-nobuild-"));
    const bare = await startTestServer({ sweep: false, env: { DASHFLEET_DASHBOARD_DIR: empty } });
    try {
      const res = await fetch(`${bare.url}/`);
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/npm run build/);
      expect(res.headers.get("content-security-policy")).toBe(CSP);
    } finally {
      await bare.stop();
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

// Web-facing defences over plain HTTP: the dashboard's Content-Security-Policy, the session cookie's
// attributes, cross-site requests refused, login rate-limited, no first-run setup once an org exists,
// and secrets stored only as hashes (a copy of the database lets no one in), compared in constant time.
import crypto from "node:crypto";
import type * as nodeCrypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { appRouter } from "../../server/routers/_app.ts";
import { dashboardCopy } from "../helpers/dashboard-copy.ts";
import { prepareDb, readRows, spawnServer } from "../helpers/fleet-sim.ts";
import { enroll, startTestServer, type TestOrg, type TestServer } from "../helpers/server.ts";
import { signIn } from "../helpers/session.ts";

// Count constant-time comparisons made by the server code running in this process.
vi.mock("node:crypto", async (importOriginal) => {
  const real = await importOriginal<typeof nodeCrypto>();
  const timingSafeEqual = vi.fn(real.timingSafeEqual);
  return { ...real, default: { ...real, timingSafeEqual }, timingSafeEqual };
});

let server: TestServer;
let org: TestOrg;
let distDir: string;

beforeAll(async () => {
  // A stand-in dashboard build (the CSP comes from the server, whatever the build holds).
  distDir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-dist-"));
  fs.mkdirSync(path.join(distDir, "assets"));
  fs.writeFileSync(
    path.join(distDir, "index.html"),
    '<!doctype html><script type="module" src="/assets/app.js"></script>',
  );
  fs.writeFileSync(path.join(distDir, "assets", "app.js"), "document.title = 'ok';");
  server = await startTestServer({ env: { DASHFLEET_DASHBOARD_DIR: distDir, DASHFLEET_LOGIN_PER_MINUTE: "10" } });
  org = await server.createOrg("Web Org");
}, 180_000);

afterAll(async () => {
  await server?.stop();
  fs.rmSync(distDir, { recursive: true, force: true });
});

describe("dashboard headers", () => {
  it("serves every page, asset and API answer with a CSP that forbids inline script", async () => {
    for (const p of ["/", "/fleet/some-machine", "/assets/app.js", "/trpc/auth.me", "/api/actions/pending"]) {
      const res = await fetch(`${server.url}${p}`);
      await res.arrayBuffer();
      const csp = res.headers.get("content-security-policy") ?? "";
      const scriptSrc = /script-src ([^;]+)/.exec(csp)?.[1] ?? /default-src ([^;]+)/.exec(csp)?.[1] ?? "";
      expect(scriptSrc, p).toBeTruthy();
      expect(scriptSrc, p).not.toMatch(/'unsafe-inline'|'unsafe-eval'|\*|data:|'strict-dynamic'/);
      expect(csp).toMatch(/object-src 'none'/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(csp).toMatch(/base-uri 'none'/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  it("the real dashboard build has no inline script, so the policy costs it nothing", async () => {
    const copy = await dashboardCopy();
    const html = fs.readFileSync(path.join(copy, "index.html"), "utf8");
    fs.rmSync(copy, { recursive: true, force: true });
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) {
      expect(s[1]).toMatch(/\bsrc=/);
      expect(s[2]!.trim()).toBe("");
    }
    expect(html).not.toMatch(/\son[a-z]+=/i); // no inline event handlers either
    // A vite build of its own (tests/helpers/browser.ts): 28 s on a loaded two-core machine here.
  }, 180_000);
});

describe("session cookie and cross-site requests", () => {
  it("sets the session cookie httpOnly, SameSite=Strict, path /, with a lifetime", async () => {
    const s = await signIn(server, org.ownerEmail, org.password);
    const attrs = s.setCookie.split(";").map((a) => a.trim().toLowerCase());
    expect(attrs[0]).toMatch(/^dashfleet_session=dfs_/);
    expect(attrs).toContain("httponly");
    expect(attrs).toContain("samesite=strict");
    expect(attrs).toContain("path=/");
    expect(attrs.some((a) => a.startsWith("max-age="))).toBe(true);
  });

  it("refuses mutations (and reads) carried by a session cookie from another site", async () => {
    const s = await signIn(server, org.ownerEmail, org.password);
    await enroll(server, org.agentKey, "csrf-m1");
    const post = (headers: Record<string, string>) =>
      fetch(`${server.url}/trpc/actions.queue`, {
        method: "POST",
        headers: { cookie: s.cookie, "content-type": "application/json", ...headers },
        body: JSON.stringify({ machineId: "csrf-m1", type: "reboot", data: {} }),
      });
    const hostile: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "null" },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site", origin: "http://other.localhost:1234" },
      { origin: "https://evil.example", "sec-fetch-site": "same-origin" },
    ];
    for (const h of hostile) {
      const res = await post(h);
      expect(res.status, JSON.stringify(h)).toBe(401);
      await res.arrayBuffer();
    }
    // A form post (text/plain, the classic CSRF) is refused too.
    const form = await fetch(`${server.url}/trpc/actions.queue`, {
      method: "POST",
      headers: { cookie: s.cookie, "content-type": "text/plain", origin: "https://evil.example" },
      body: JSON.stringify({ machineId: "csrf-m1", type: "reboot", data: {} }),
    });
    expect(form.status).toBeGreaterThanOrEqual(400);
    expect(form.status).toBeLessThan(500);
    const read = await fetch(`${server.url}/trpc/fleet.list`, {
      headers: { cookie: s.cookie, "sec-fetch-site": "cross-site" },
    });
    expect(read.status).toBe(401);
    expect(await server.deps.db.action.count({ where: { orgId: org.orgId } })).toBe(0);
    // The same cookie from the dashboard's own origin works.
    const own = await post({ origin: server.url, "sec-fetch-site": "same-origin" });
    expect(own.status).toBe(200);
  });

  it("rate-limits login per address: after 10 tries a minute even the right password waits", async () => {
    const limited = await startTestServer({ env: { DASHFLEET_LOGIN_PER_MINUTE: "10" } });
    try {
      const victim = await limited.createOrg("Guessed Org");
      const codes: number[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await fetch(`${limited.url}/trpc/auth.login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: victim.ownerEmail, password: `guess ${i}` }),
        });
        codes.push(res.status);
        await res.arrayBuffer();
      }
      expect(codes.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(codes.slice(10)).toEqual([429, 429]);
      const right = await fetch(`${limited.url}/trpc/auth.login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: victim.ownerEmail, password: victim.password }),
      });
      expect(right.status).toBe(429);
      expect(right.headers.get("set-cookie")).toBeNull();
      const body = (await right.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(/Too many sign-in attempts/);
    } finally {
      await limited.stop();
    }
    // Its own server and 13 scrypt sign-ins: over a minute on a loaded two-core machine (timed out here).
  }, 180_000);
});

describe("first run", () => {
  it("has no setup procedure: only sign-in, sign-out and who-am-I answer without credentials", async () => {
    const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>;
    const open: string[] = [];
    for (const [p, proc] of Object.entries(procedures)) {
      const ac = new AbortController();
      const res =
        proc._def.type === "mutation"
          ? await fetch(`${server.url}/trpc/${p}`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: "{}",
            })
          : await fetch(`${server.url}/trpc/${p}`, { signal: ac.signal });
      if (proc._def.type === "subscription") {
        // A subscription answers inside its event stream: the first event must be the refusal.
        const first = await res.body!.getReader().read();
        ac.abort();
        if (!new TextDecoder().decode(first.value).includes("UNAUTHORIZED")) open.push(p);
      } else {
        await res.arrayBuffer();
        if (![401, 403].includes(res.status)) open.push(p);
      }
    }
    expect(open.sort()).toEqual(["auth.login", "auth.logout", "auth.me"]);
  });

  it("does not create the demo organization once an organization exists", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-firstrun-"));
    try {
      const dbFile = path.join(dir, "fleet.db");
      await prepareDb(dbFile, ["Existing Org"]);
      const s = await spawnServer(dbFile, { env: { DASHFLEET_DEMO: "true", LOG_LEVEL: "info" } });
      await s.stop();
      expect(readRows<{ name: string }>(dbFile, "SELECT name FROM Organization").map((o) => o.name)).toEqual([
        "Existing Org",
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // A server process of its own: 33 s to start and stop on a loaded two-core machine here.
  }, 180_000);
});

describe("secrets at rest", () => {
  it("stores keys, tokens, sessions and passwords only as hashes; a database copy lets no one in", async () => {
    const token = await enroll(server, org.agentKey, "rest-m1");
    const session = await signIn(server, org.ownerEmail, org.password);
    const sessionValue = decodeURIComponent(session.cookie.split("=")[1]!);
    // Everything on disk: the database file and its WAL.
    await server.deps.db.$queryRawUnsafe("PRAGMA wal_checkpoint(PASSIVE)");
    const bytes = Buffer.concat(
      [server.dbFile, `${server.dbFile}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)),
    ).toString("latin1");
    for (const secret of [org.adminKey, org.agentKey, token, sessionValue, org.password]) {
      expect(bytes.includes(secret)).toBe(false);
      expect(bytes.includes(secret.slice(4, 24))).toBe(false); // not even a fragment past the prefix
    }
    // What a thief of the file holds: hashes. Sent as credentials, they open nothing.
    const keys = readRows<{ keyHash: string; prefix: string }>(server.dbFile, "SELECT keyHash, prefix FROM ApiKey");
    const machines = readRows<{ tokenHash: string }>(
      server.dbFile,
      "SELECT tokenHash FROM Machine WHERE tokenHash IS NOT NULL",
    );
    const sessions = readRows<{ tokenHash: string }>(server.dbFile, "SELECT tokenHash FROM Session");
    const users = readRows<{ passwordHash: string }>(server.dbFile, "SELECT passwordHash FROM User");
    expect(users.every((u) => u.passwordHash.startsWith("scrypt$"))).toBe(true);
    const stolen = [
      ...keys.flatMap((k) => [k.keyHash, `dfk_${k.keyHash}`, k.prefix]),
      ...machines.flatMap((m) => [m.tokenHash, `dfm_${m.tokenHash}`]),
    ];
    for (const s of stolen) {
      const res = await fetch(`${server.url}/trpc/fleet.list`, { headers: { authorization: `Bearer ${s}` } });
      expect(res.status).toBe(401);
      await res.arrayBuffer();
      const agentRes = await fetch(`${server.url}/api/actions/pending?machine_id=rest-m1`, {
        headers: { authorization: `Bearer ${s}` },
      });
      expect(agentRes.status).toBe(401);
      await agentRes.arrayBuffer();
    }
    for (const s of sessions) {
      const res = await fetch(`${server.url}/trpc/fleet.list`, {
        headers: { cookie: `dashfleet_session=${s.tokenHash}` },
      });
      expect(res.status).toBe(401);
      await res.arrayBuffer();
    }
    // And the secret itself differs from its stored form.
    expect(keys.map((k) => k.keyHash)).toContain(crypto.createHash("sha256").update(org.adminKey).digest("hex"));
  });

  it("compares keys, tokens, sessions and passwords with crypto.timingSafeEqual", async () => {
    const spy = vi.mocked(crypto.timingSafeEqual);
    const token = await enroll(server, org.agentKey, "ct-m1");
    const check = async (what: string, run: () => Promise<unknown>) => {
      server.deps.services.principals.invalidate(); // no cache: resolve from the database
      spy.mockClear();
      await run();
      expect(spy.mock.calls.length, what).toBeGreaterThan(0);
      for (const [a, b] of spy.mock.calls) expect((a as Buffer).length, what).toBe((b as Buffer).length);
    };
    await check("admin key", () => server.client(org.adminKey).fleet.list.query({}));
    await check("machine token", () => server.client(token).agent.pendingActions.query({}));
    const s = await signIn(server, org.ownerEmail, org.password);
    await check("session", () => s.client.auth.me.query());
    await check("password", () =>
      fetch(`${server.url}/trpc/auth.login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: org.ownerEmail, password: "a wrong password" }),
      }).then((r) => r.arrayBuffer()),
    );
  });
});

// Configuration: parsed once from the environment by zod, with defaults, readable errors that name the
// variable, and the values the server and the CLI act on.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../server/config.ts";
import { errorCode, startTestServer } from "../helpers/server.ts";

describe("loadConfig", () => {
  it("has safe defaults: loopback, demo on, Secure cookies off (plain HTTP), 10 logins a minute", () => {
    const c = loadConfig({});
    expect(c.host).toBe("127.0.0.1");
    expect(c.port).toBe(3000);
    expect(c.dbFile).toBe(path.resolve("data/fleet.db"));
    expect(c.demo).toBe(true);
    expect(c.secureCookies).toBe(false);
    expect(c.reportIntervalSeconds).toBe(10);
    expect(c.limits).toEqual({ queuePerMinute: 100, agentPerMinute: 60, loginPerMinute: 10 });
  });

  it("reads numbers and booleans and resolves the database path", () => {
    const c = loadConfig({
      DASHFLEET_DB: "x/y.db",
      PORT: "8080",
      DASHFLEET_DEMO: "no",
      DASHFLEET_SECURE_COOKIES: "true",
      DASHFLEET_LOGIN_PER_MINUTE: "3",
    });
    expect(c.dbFile).toBe(path.resolve("x/y.db"));
    expect(c.port).toBe(8080);
    expect(c.demo).toBe(false);
    expect(c.secureCookies).toBe(true);
    expect(c.limits.loginPerMinute).toBe(3);
  });

  it("refuses bad values with a message naming each variable", () => {
    expect(() => loadConfig({ PORT: "99999" })).toThrow(/PORT/);
    expect(() => loadConfig({ DASHFLEET_SECURE_COOKIES: "maybe" })).toThrow(/DASHFLEET_SECURE_COOKIES/);
    expect(() => loadConfig({ DASHFLEET_LOGIN_PER_MINUTE: "0", LOG_LEVEL: "loud" })).toThrow(
      /DASHFLEET_LOGIN_PER_MINUTE[\s\S]*LOG_LEVEL|LOG_LEVEL[\s\S]*DASHFLEET_LOGIN_PER_MINUTE/,
    );
  });
});

describe("configuration reaches the server", () => {
  it("fleet.list reports the configured interval and the login limit applies", async () => {
    const server = await startTestServer({
      env: { DASHFLEET_REPORT_INTERVAL_SECONDS: "42", DASHFLEET_LOGIN_PER_MINUTE: "1" },
    });
    try {
      const org = await server.createOrg();
      expect((await server.client(org.adminKey).fleet.list.query()).reportIntervalSeconds).toBe(42);
      const c = server.client();
      expect(await errorCode(c.auth.login.mutate({ email: org.ownerEmail, password: "wrong password" }))).toBe(
        "UNAUTHORIZED",
      );
      expect(await errorCode(c.auth.login.mutate({ email: org.ownerEmail, password: "wrong password" }))).toBe(
        "TOO_MANY_REQUESTS",
      );
    } finally {
      await server.stop();
    }
  });
});

// Agent configuration: the original design's flags, precedence (flags > env > user file > installer
// file > defaults), readable errors, data directories per platform, and the stable machine id.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  defaultDataDir,
  deriveMachineId,
  loadAgentConfig,
  readState,
  systemConfigFile,
  writeState,
  writeUserConfig,
} from "../../tray-agent/src/core/config.ts";
import { AGENT_VERSION } from "../../tray-agent/src/core/version.ts";
import { tempDataDir } from "../helpers/agent.ts";

const load = (argv: string[], env: Record<string, string> = {}, systemFile: string | null = null) =>
  loadAgentConfig({ argv, env, systemFile });

describe("agent configuration", () => {
  it("accepts the original design's flags: --server --token --machine-id --interval", () => {
    const dir = tempDataDir();
    const c = load([
      "--server",
      "http://localhost:5000/",
      "--token",
      "dfk_test_token",
      "--machine-id",
      "test-pc",
      "--interval",
      "5",
      "--data-dir",
      dir,
    ]);
    expect(c).toMatchObject({
      server: "http://localhost:5000",
      token: "dfk_test_token",
      machineId: "test-pc",
      intervalSeconds: 5,
      pollIntervalSeconds: 30,
      dataDir: dir,
      allowReboot: false,
      push: true,
    });
  });

  it("defaults: report every 10 s, poll every 30 s, derived machine id, no reboot without a user", () => {
    const c = load(["--data-dir", tempDataDir()]);
    expect(c).toMatchObject({
      server: null,
      token: null,
      machineId: null,
      intervalSeconds: 10,
      pollIntervalSeconds: 30,
      allowReboot: false,
      postponeSeconds: 600,
      backoffMaxSeconds: 60,
    });
  });

  it("flags beat the environment, which beats the user's file, which beats the installer's file", () => {
    const dir = tempDataDir();
    const sys = path.join(dir, "system.json");
    fs.writeFileSync(
      sys,
      JSON.stringify({
        server: "https://sys.example",
        token: "dfk_from_installer",
        pollIntervalSeconds: 45,
        intervalSeconds: 20,
      }),
    );
    fs.writeFileSync(
      path.join(dir, "config.json"),
      JSON.stringify({ server: "https://user.example", intervalSeconds: 15 }),
    );
    const c = load(["--data-dir", dir, "--interval", "7"], { DASHFLEET_SERVER: "https://env.example" }, sys);
    expect(c).toMatchObject({
      server: "https://env.example",
      token: "dfk_from_installer",
      intervalSeconds: 7,
      pollIntervalSeconds: 45,
    });
    expect(c.sources).toEqual([sys, path.join(dir, "config.json")]);
    const fromFiles = load(["--data-dir", dir], {}, sys);
    expect(fromFiles).toMatchObject({ server: "https://user.example", intervalSeconds: 15 });
  });

  it("rejects bad values with a message naming the flag", () => {
    const dir = tempDataDir();
    expect(() => load(["--data-dir", dir, "--interval", "0"])).toThrow(/--interval/);
    expect(() => load(["--data-dir", dir, "--server", "ftp://x"])).toThrow(/--server/);
    expect(() => load(["--data-dir", dir, "--machine-id", "has space"])).toThrow(/--machine-id/);
    expect(() => load(["--data-dir", dir, "--bogus"])).toThrow(ConfigError);
    fs.writeFileSync(path.join(dir, "config.json"), "{ not json");
    expect(() => load(["--data-dir", dir])).toThrow(/config\.json: not valid JSON/);
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ sever: "typo" }));
    expect(() => load(["--data-dir", dir])).toThrow(/config\.json/);
  });

  it("--labels a,b (or DASHFLEET_LABELS) become enrollment labels; bad labels name the flag; --locale and branding", () => {
    const dir = tempDataDir();
    expect(load(["--data-dir", dir, "--labels", "Kiosk, paris,,kiosk"]).labels).toEqual(["kiosk", "paris"]);
    expect(load(["--data-dir", dir], { DASHFLEET_LABELS: "lab" }).labels).toEqual(["lab"]);
    expect(load(["--data-dir", dir]).labels).toEqual([]);
    expect(() => load(["--data-dir", dir, "--labels", "bad label!"])).toThrow(/^--labels: /);
    expect(load(["--data-dir", dir, "--locale", "fr-CA"]).locale).toBe("fr-CA");
    expect(() => load(["--data-dir", dir, "--locale", "../../x"])).toThrow(/^--locale: /);
    fs.writeFileSync(
      path.join(dir, "config.json"),
      JSON.stringify({ branding: { orgName: "Acme IT", supportText: "Call 4242" }, labels: ["from-file"] }),
    );
    const c = load(["--data-dir", dir]);
    expect(c.branding).toEqual({ orgName: "Acme IT", supportText: "Call 4242" });
    expect(c.labels).toEqual(["from-file"]);
  });

  it("the Electron shell tolerates Chromium's own switches (strict: false)", () => {
    const c = loadAgentConfig({
      argv: ["--no-sandbox", "--server", "https://a.example", "--data-dir", tempDataDir()],
      env: {},
      systemFile: null,
      strict: false,
    });
    expect(c.server).toBe("https://a.example");
  });

  it("writes the user's config file (first run) and the agent's state, readable by the user only", () => {
    const dir = tempDataDir();
    writeUserConfig(dir, { server: "https://fleet.example", token: "dfk_first_run_key" });
    expect(load(["--data-dir", dir])).toMatchObject({ server: "https://fleet.example", token: "dfk_first_run_key" });
    writeState(dir, { machineId: "m-1", machineToken: "dfm_x", server: "https://fleet.example" });
    expect(readState(dir)).toMatchObject({ machineId: "m-1", machineToken: "dfm_x" });
    if (process.platform !== "win32") expect(fs.statSync(path.join(dir, "state.json")).mode & 0o077).toBe(0);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("per-platform data directories and installer config files", () => {
    expect(defaultDataDir("linux", {}, "/home/ann")).toBe("/home/ann/.config/dashfleet-agent");
    expect(defaultDataDir("linux", { XDG_CONFIG_HOME: "/x" }, "/home/ann")).toBe("/x/dashfleet-agent");
    expect(defaultDataDir("darwin", {}, "/Users/ann")).toBe("/Users/ann/Library/Application Support/DashFleet Agent");
    expect(defaultDataDir("win32", { APPDATA: "C:\\Users\\ann\\AppData\\Roaming" }, "C:\\Users\\ann")).toBe(
      "C:\\Users\\ann\\AppData\\Roaming\\DashFleet Agent",
    );
    expect(systemConfigFile("linux")).toBe("/etc/dashfleet/agent.json");
    expect(systemConfigFile("win32", { ProgramData: "C:\\ProgramData" })).toBe(
      "C:\\ProgramData\\DashFleet\\agent.json",
    );
  });

  it("derives a stable machine id from the OS id (hashed, never raw) that differs for clones with the same host name", () => {
    const a = deriveMachineId("Ann's Laptop", "4c4c4544-0042-3510-8052-b4c04f4d4d32");
    expect(a).toBe(deriveMachineId("Ann's Laptop", "4c4c4544-0042-3510-8052-b4c04f4d4d32"));
    expect(a).toMatch(/^ann-s-laptop-[0-9a-f]{12}$/);
    expect(a).not.toContain("4c4c4544");
    expect(deriveMachineId("Ann's Laptop", "other-uuid")).not.toBe(a);
  });

  it("the agent version matches tray-agent/package.json", () => {
    const pkg = JSON.parse(
      fs.readFileSync(path.resolve(import.meta.dirname, "../../tray-agent/package.json"), "utf8"),
    ) as { version: string };
    expect(AGENT_VERSION).toBe(pkg.version);
  });
});

// Installer scripts write secrets owner-only: the headless service script (run under a prefix, as a
// packager or this test does) writes the config 0600 and the data folder 0700 and refuses values that
// would break the JSON; the Windows installer writes the user's own config with owner-only ACLs.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigFile } from "../../tray-agent/src/core/config.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SCRIPT = path.join(ROOT, "tray-agent/installer/linux-service.sh");

function install(prefix: string, ...args: string[]) {
  return spawnSync("sh", [SCRIPT, ...args], { env: { ...process.env, ROOT: prefix }, encoding: "utf8" });
}
const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

describe("installers", () => {
  it("linux-service.sh: config 0600 (a valid agent config file), data folder 0700, also over a too-open existing folder", () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-install-"));
    fs.mkdirSync(path.join(prefix, "var/lib/dashfleet-agent"), { recursive: true, mode: 0o777 });
    fs.chmodSync(path.join(prefix, "var/lib/dashfleet-agent"), 0o777);
    const r = install(prefix, "--server", "https://fleet.example.com", "--token", "dfk_abcdefgh");
    expect(r.status, r.stderr).toBe(0);
    const config = path.join(prefix, "etc/dashfleet/agent.json");
    expect(mode(config)).toBe("600");
    expect(mode(path.join(prefix, "var/lib/dashfleet-agent"))).toBe("700");
    expect(ConfigFile.parse(JSON.parse(fs.readFileSync(config, "utf8")))).toEqual({
      server: "https://fleet.example.com",
      token: "dfk_abcdefgh",
    });
    const unit = fs.readFileSync(path.join(prefix, "etc/systemd/system/dashfleet-agent.service"), "utf8");
    expect(unit).toContain("UMask=0077");
    expect(unit).toContain("StateDirectoryMode=0700");
    // No temporary copy of the key is left behind.
    expect(fs.readdirSync(path.join(prefix, "etc/dashfleet"))).toEqual(["agent.json"]);
  });

  it("linux-service.sh refuses a value that would inject JSON, and writes nothing", () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-install-"));
    const r = install(prefix, "--server", 'https://x", "allowReboot": true, "a": "', "--token", "dfk_abcdefgh");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("quotes, backslashes and newlines are not allowed");
    expect(fs.existsSync(path.join(prefix, "etc/dashfleet/agent.json"))).toBe(false);
    expect(install(prefix, "--server", "https://x").status).toBe(2);
  });

  it("the Windows installer writes the user's own config with owner-only access (no inheritance)", () => {
    const nsh = fs.readFileSync(path.join(ROOT, "tray-agent/installer/installer.nsh"), "utf8");
    expect(nsh).toContain('FileOpen $R4 "$APPDATA\\DashFleet Agent\\config.json" w');
    expect(nsh).toContain('icacls "$APPDATA\\DashFleet Agent\\config.json" /inheritance:r /grant:r "$R5:F"');
    expect(nsh).toContain('icacls "$APPDATA\\DashFleet Agent" /inheritance:r /grant:r "$R5:(OI)(CI)F"');
    expect(nsh).not.toContain("PROGRAMDATA");
  });
});

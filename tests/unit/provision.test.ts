// `npm test` provisions what its tests need (scripts/provision.ts, run as "pretest"): on a fresh Debian
// machine as root it installs the missing packages with apt-get; otherwise it stops with the exact
// command. And the README's test command is the one CI runs, verbatim.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  aptCommands,
  findInitdb,
  missingPackages,
  onPath,
  plan,
  REQUIREMENTS,
  testsMention,
} from "../../scripts/provision.ts";
import { ROOT } from "../helpers/child.ts";

const chromium = REQUIREMENTS.find((r) => r.pkg === "chromium")!;

describe("provisioning decisions", () => {
  it("does nothing when every package is there", () => {
    expect(plan({ missing: [], isRoot: false, hasApt: true })).toEqual({ action: "none" });
  });

  it("installs with apt-get as root", () => {
    expect(plan({ missing: [chromium], isRoot: true, hasApt: true })).toEqual({
      action: "install",
      commands: ["apt-get update", "apt-get install -y chromium"],
    });
  });

  it("stops with the exact command when not root", () => {
    const d = plan({ missing: [chromium], isRoot: false, hasApt: true });
    expect(d.action).toBe("fail");
    const message = d.action === "fail" ? d.message : "";
    expect(message).toContain("sudo apt-get update && sudo apt-get install -y chromium");
    expect(message).toContain("chromium: the browser tests");
  });

  it("says what to install where there is no apt-get", () => {
    const d = plan({ missing: [chromium], isRoot: true, hasApt: false });
    expect(d.action).toBe("fail");
    expect(d.action === "fail" && d.message).toMatch(/no apt-get.*CHROMIUM_PATH/s);
  });

  it("finds Chromium where the browser helper launches it, and apt-get on PATH", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-provision-"));
    try {
      const exe = path.join(dir, "chromium");
      fs.writeFileSync(exe, "#!/bin/sh\n", { mode: 0o755 });
      expect(missingPackages({ CHROMIUM_PATH: exe }).map((r) => r.pkg)).toEqual([]);
      expect(missingPackages({ CHROMIUM_PATH: path.join(dir, "absent") }).map((r) => r.pkg)).toEqual(["chromium"]);
      // Not executable is not installed.
      fs.chmodSync(exe, 0o644);
      expect(missingPackages({ CHROMIUM_PATH: exe }, (f) => f !== exe && fs.existsSync(f)).map((r) => r.pkg)).toEqual([
        "chromium",
      ]);
      expect(onPath("apt-get", { PATH: dir })).toBe(false);
      fs.writeFileSync(path.join(dir, "apt-get"), "#!/bin/sh\n", { mode: 0o755 });
      expect(onPath("apt-get", { PATH: `/nonexistent${path.delimiter}${dir}` })).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(aptCommands(["chromium", "postgresql"], true)).toEqual([
      "sudo apt-get update",
      "sudo apt-get install -y chromium postgresql",
    ]);
  });
});

describe("PostgreSQL", () => {
  it("is needed once a test starts its own cluster with initdb, and found under /usr/lib/postgresql/<version>/bin", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-provision-"));
    try {
      fs.mkdirSync(path.join(dir, "tests", "integration"), { recursive: true });
      fs.writeFileSync(path.join(dir, "tests", "integration", "a.test.ts"), "it('x', () => {});\n");
      expect(testsMention("initdb", path.join(dir, "tests"))).toBe(false);
      fs.writeFileSync(path.join(dir, "tests", "integration", "pg.test.ts"), "spawn(`${bin}/initdb`, ['-D', data]);\n");
      expect(testsMention("initdb", path.join(dir, "tests"))).toBe(true);

      const lib = path.join(dir, "lib", "postgresql");
      expect(findInitdb({ PATH: "" }, fs.existsSync, lib)).toBe(false);
      fs.mkdirSync(path.join(lib, "15", "bin"), { recursive: true });
      fs.writeFileSync(path.join(lib, "15", "bin", "initdb"), "#!/bin/sh\n", { mode: 0o755 });
      expect(findInitdb({ PATH: "" }, fs.existsSync, lib)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const pg = REQUIREMENTS.find((r) => r.pkg === "postgresql")!;
    expect(plan({ missing: [chromium, pg], isRoot: false, hasApt: true })).toMatchObject({
      action: "fail",
      message: expect.stringContaining("sudo apt-get install -y chromium postgresql") as unknown,
    });
  });
});

describe("the script", () => {
  const script = path.join(ROOT, "scripts/provision.ts");
  const run = (env: Record<string, string>, args: string[], asUser: boolean) =>
    spawnSync(process.execPath, ["--import", "tsx", script, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), ...env },
      encoding: "utf8",
      // As root, run it as `nobody` to see what an ordinary user sees.
      ...(asUser && process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}),
    });

  it("as an ordinary user without Chromium: exit 1 with the exact apt command, nothing installed", () => {
    const r = run({ CHROMIUM_PATH: "/nonexistent/chromium" }, [], true);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("sudo apt-get update && sudo apt-get install -y chromium");
  }, 60_000);

  it("as root without Chromium (dry run): the apt-get commands it would run", () => {
    if (process.getuid?.() !== 0) {
      // Not root here: the decision for root is covered above; the script must still refuse clearly.
      expect(run({ CHROMIUM_PATH: "/nonexistent/chromium" }, ["--dry-run"], false).stderr).toContain(
        "sudo apt-get install -y chromium",
      );
      return;
    }
    const r = run({ CHROMIUM_PATH: "/nonexistent/chromium" }, ["--dry-run"], false);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("would run: apt-get update");
    expect(r.stdout).toContain("would run: apt-get install -y chromium");
  }, 60_000);

  it("with everything present: exit 0, silent", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-provision-"));
    try {
      const exe = path.join(dir, "chromium");
      fs.writeFileSync(exe, "#!/bin/sh\n", { mode: 0o755 });
      const r = run({ CHROMIUM_PATH: exe }, [], false);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("the README's test command", () => {
  it("is line 2 of the README's commands, provisions first, and is what CI runs verbatim", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const block = /```sh\n([^`]*)```/.exec(readme)?.[1]?.split("\n") ?? [];
    const command = (line: string | undefined) => (line ?? "").replace(/\s+#.*$/, "").trim();
    expect(command(block[0])).toBe("npm ci && npm start");
    const testCommand = command(block[1]);
    expect(testCommand).toBe("npm test");
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.pretest).toContain("scripts/provision.ts");
    const ci = fs
      .readFileSync(path.join(ROOT, ".ci/run"), "utf8")
      .split("\n")
      .map((l) => l.trim());
    expect(ci).toContain(testCommand);
  });
});

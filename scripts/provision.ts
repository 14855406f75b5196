// Runs before `npm test` (package.json "pretest"): makes sure the system packages the tests need are
// installed, so the README's test command passes on a fresh Debian machine as it is. Missing packages
// are installed with apt-get when running as root (CI); otherwise the run stops with the exact command
// to type. Nothing is skipped: a test that needs a package never runs without it.
//   tsx scripts/provision.ts            check, install as root, or explain and exit 1
//   tsx scripts/provision.ts --dry-run  say what would happen, change nothing (exit 1 if missing)
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

type Env = Record<string, string | undefined>;
type Exists = (file: string) => boolean;
/** A system package the tests need. */
export type Requirement = {
  pkg: string;
  why: string;
  needed: () => boolean;
  present: (env: Env, exists: Exists) => boolean;
};

export type Decision =
  { action: "none" } | { action: "install"; commands: string[] } | { action: "fail"; message: string };

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * True when a test file under `dir` mentions `word` (this script's own test aside). PostgreSQL is
 * needed only once a suite starts its own cluster (issue 12: `initdb` + `pg_ctl`), and then at once,
 * with no list to remember to update.
 */
export function testsMention(word: string, dir = path.join(ROOT, "tests")): boolean {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of entries) {
    const file = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "artifacts" && testsMention(word, file)) return true;
    } else if (
      /\.(ts|mjs|js)$/.test(e.name) &&
      e.name !== "provision.test.ts" &&
      fs.readFileSync(file, "utf8").includes(word)
    ) {
      return true;
    }
  }
  return false;
}

/** Debian's PostgreSQL server binaries live outside PATH, under /usr/lib/postgresql/<version>/bin. */
export function findInitdb(env: Env, exists: Exists, libDir = "/usr/lib/postgresql"): boolean {
  if (onPath("initdb", env, exists)) return true;
  let versions: string[] = [];
  try {
    versions = fs.readdirSync(libDir);
  } catch {
    return false;
  }
  return versions.some((v) => exists(path.join(libDir, v, "bin", "initdb")));
}

/**
 * What the tests need from the system: each entry applies when `needed()` and is installed when
 * `present(env, exists)`.
 */
export const REQUIREMENTS: Requirement[] = [
  {
    pkg: "chromium",
    why: "the browser tests drive Debian's Chromium through playwright-core (tests/helpers/browser.ts)",
    needed: () => true,
    // The same executable the browser helper launches.
    present: (env, exists) => exists(env.CHROMIUM_PATH || "/usr/bin/chromium"),
  },
  {
    pkg: "postgresql",
    why: "the PostgreSQL suites start a throwaway cluster with initdb and pg_ctl",
    needed: () => testsMention("initdb"),
    present: (env, exists) => findInitdb(env, exists),
  },
];

/** True when `file` exists and may be executed. */
export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** True when `cmd` is an executable found on PATH. */
export function onPath(cmd: string, env: Env, exists: Exists = isExecutable): boolean {
  return (env.PATH ?? "").split(path.delimiter).some((dir) => dir && exists(path.join(dir, cmd)));
}

/** The packages of `requirements` that the tests need and that are missing. */
export function missingPackages(env: Env, exists: Exists = isExecutable, requirements = REQUIREMENTS): Requirement[] {
  return requirements.filter((r) => r.needed() && !r.present(env, exists));
}

/** The apt-get commands that install `pkgs` (as root; prefix each with sudo otherwise). */
export function aptCommands(pkgs: string[], sudo = false): string[] {
  const s = sudo ? "sudo " : "";
  return [`${s}apt-get update`, `${s}apt-get install -y ${pkgs.join(" ")}`];
}

/**
 * The decision, without side effects: nothing to do, install (as root with apt-get), or stop with a
 * message that gives the exact command.
 */
export function plan({
  missing,
  isRoot,
  hasApt,
}: {
  missing: Requirement[];
  isRoot: boolean;
  hasApt: boolean;
}): Decision {
  if (missing.length === 0) return { action: "none" };
  const pkgs = missing.map((m) => m.pkg);
  const needs = missing.map((m) => `  - ${m.pkg}: ${m.why}`).join("\n");
  if (!hasApt)
    return {
      action: "fail",
      message:
        `npm test needs system packages that are not installed:\n${needs}\n` +
        `This machine has no apt-get (the tests are set up for Debian). Install ${pkgs.join(", ")} with its package ` +
        `manager (for Chromium elsewhere, set CHROMIUM_PATH to its executable), then run npm test again.`,
    };
  if (isRoot) return { action: "install", commands: aptCommands(pkgs) };
  return {
    action: "fail",
    message:
      `npm test needs Debian packages that are not installed:\n${needs}\n` +
      `Install them as root, then run npm test again:\n\n  ${aptCommands(pkgs, true).join(" && ")}\n`,
  };
}

function main(argv: string[], env: Env): number {
  const dryRun = argv.includes("--dry-run");
  const missing = missingPackages(env);
  const decision = plan({
    missing,
    isRoot: typeof process.getuid === "function" && process.getuid() === 0,
    hasApt: onPath("apt-get", env),
  });
  if (decision.action === "none") return 0;
  if (decision.action === "fail") {
    process.stderr.write(`\n${decision.message}\n`);
    return 1;
  }
  process.stdout.write(`Installing what the tests need: ${missing.map((m) => m.pkg).join(", ")}\n`);
  for (const command of decision.commands) {
    process.stdout.write(`${dryRun ? "would run" : "running"}: ${command}\n`);
    if (dryRun) continue;
    const [exe = "", ...args] = command.split(" ");
    const run = spawnSync(exe, args, { stdio: "inherit", env: { ...env, DEBIAN_FRONTEND: "noninteractive" } });
    if (run.status !== 0) {
      process.stderr.write(
        `\n\`${command}\` failed (exit ${run.status ?? run.signal ?? "?"}); the tests cannot run without it.\n`,
      );
      return 1;
    }
  }
  if (dryRun) return 1;
  const still = missingPackages(env);
  if (still.length > 0) {
    process.stderr.write(`\nStill missing after apt-get: ${still.map((m) => m.pkg).join(", ")}\n`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2), process.env);
}

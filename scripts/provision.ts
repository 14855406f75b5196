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
export type Requirement = { pkg: string; why: string; present: (env: Env, exists: Exists) => boolean };

export type Decision =
  { action: "none" } | { action: "install"; commands: string[] } | { action: "fail"; message: string };

/**
 * What the tests need from the system. `present(env, isExecutable)` says whether it is installed.
 * PostgreSQL joins this list when a test starts its own cluster (issue 12: initdb + pg_ctl).
 */
export const REQUIREMENTS: Requirement[] = [
  {
    pkg: "chromium",
    why: "the browser tests drive Debian's Chromium through playwright-core (tests/helpers/browser.ts)",
    // The same executable the browser helper launches.
    present: (env, isExecutable) => isExecutable(env.CHROMIUM_PATH || "/usr/bin/chromium"),
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

/** The packages of `requirements` that are missing. */
export function missingPackages(env: Env, exists: Exists = isExecutable, requirements = REQUIREMENTS): Requirement[] {
  return requirements.filter((r) => !r.present(env, exists));
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

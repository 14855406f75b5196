// Platform commands, all run by argument array (execFile, never a shell). Nothing from an action
// reaches these argv lists except a message's title and text as single notify-send arguments.
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** A command as an argument array: [file, ...args]. */
export type Argv = readonly [string, ...string[]];

/** Runs one command without a shell; rejects on a non-zero exit or a missing program. */
export type Exec = (argv: Argv, opts?: { timeoutMs?: number }) => Promise<{ stdout: string; stderr: string }>;

/** The real Exec: child_process.execFile (shell: false is its default; we never pass `shell`). */
export const execArgv: Exec = (argv, opts) =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    execFile(
      file,
      args,
      { timeout: opts?.timeoutMs ?? 30_000, windowsHide: true, encoding: "utf8" },
      (err, stdout, stderr) => {
        if (err) reject(Object.assign(err as Error, { stdout, stderr }));
        else resolve({ stdout, stderr });
      },
    );
  });

/** Seconds Windows waits after `shutdown /r` (the user already saw our countdown). */
export const WINDOWS_REBOOT_DELAY_SECONDS = 5;

/** The AppleScript for a macOS restart: a constant, never built from action text. */
export const MAC_RESTART_SCRIPT = 'tell application "System Events" to restart';

/** Reboot commands to try, in order, on a platform. */
export function rebootCommands(platform: NodeJS.Platform): Argv[] {
  switch (platform) {
    case "win32":
      return [["shutdown", "/r", "/t", String(WINDOWS_REBOOT_DELAY_SECONDS)]];
    case "darwin":
      return [["osascript", "-e", MAC_RESTART_SCRIPT]];
    default:
      // systemd first (works for the logged-in user through polkit); the classic command otherwise.
      return [
        ["systemctl", "reboot"],
        ["shutdown", "-r", "+1"],
      ];
  }
}

/** Runs the first reboot command that succeeds; throws with every failure if none does. */
export async function rebootMachine(
  exec: Exec = execArgv,
  platform: NodeJS.Platform = process.platform,
): Promise<Argv> {
  const failures: string[] = [];
  for (const argv of rebootCommands(platform)) {
    try {
      await exec(argv, { timeoutMs: 30_000 });
      return argv;
    } catch (err) {
      const e = err as Error & { stderr?: string };
      failures.push(`${argv.join(" ")}: ${(e.stderr || e.message).trim().slice(0, 200)}`);
    }
  }
  throw new Error(`reboot command failed (${failures.join("; ")})`);
}

/** notify-send's argv for a message: "--" ends the options, so text starting with "-" stays text. */
export function notifySendArgv(title: string, message: string): Argv {
  return ["notify-send", "--app-name=DashFleet", "--", title, message];
}

/** Finds a program on PATH without a shell (null if absent). */
export function findOnPath(program: string, env: Record<string, string | undefined> = process.env): string | null {
  const exts = process.platform === "win32" ? (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [""];
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, program + ext);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return null;
}

/** The argv that starts this same process again (headless restart): node, its flags (tsx's loader), script, args. */
export function selfArgv(): Argv {
  return [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
}

/** Starts a detached copy of this process (headless restart); the caller exits afterwards. */
export function respawnSelf(argv: Argv = selfArgv()): void {
  const [file, ...args] = argv;
  const child = spawn(file, args, { detached: true, stdio: "inherit", windowsHide: true });
  child.unref();
}

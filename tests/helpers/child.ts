// Programs of this repo as child processes for tests: `node --import tsx <script>` is one process, so
// SIGKILL reaches the program itself (the tsx CLI would run it in a grandchild that survives the
// kill). The output is kept for failure messages; kill and stop wait for the exit.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (children run there, so scripts are given relative to it). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export type NodeChild = {
  child: ChildProcess;
  /** Resolves with the exit code or signal when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the process wrote to its piped streams (the last 100–200 kB). */
  output: () => string;
  /** SIGKILL and wait for the exit. */
  kill: () => Promise<void>;
  /** SIGTERM and wait for the exit; with `killAfterMs`, SIGKILL if it has not exited by then. */
  stop: (killAfterMs?: number) => Promise<void>;
};

/**
 * Runs `node --import tsx script ...args` from the repository root. `env` is added to this process's
 * environment, `pathFirst` is put first on PATH (fake commands); stderr is always captured, stdout
 * when `stdout` is "pipe" (the default).
 */
export function spawnTsx(
  script: string,
  args: string[],
  opts: { env?: Record<string, string>; pathFirst?: string; stdout?: "pipe" | "ignore" | "inherit" } = {},
): NodeChild {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  if (opts.pathFirst) env.PATH = `${opts.pathFirst}${path.delimiter}${process.env.PATH ?? ""}`;
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", opts.stdout ?? "pipe", "pipe"],
  });
  let out = "";
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  return {
    child,
    exited,
    output: () => out,
    async kill() {
      if (!done) child.kill("SIGKILL");
      await exited;
    },
    async stop(killAfterMs?: number) {
      if (!done) child.kill("SIGTERM");
      if (killAfterMs === undefined) return void (await exited);
      const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

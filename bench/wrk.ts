// wrk (Debian package, C, epoll) as the bench's load generator for every throughput ratio: a Node
// generator topped out near 19k requests/s here, below what a bare node:http server answers, so ratios
// against it measured the generator (issue 12). This module makes sure wrk is installed (apt-get as
// root, through scripts/provision.ts's helpers; otherwise a message with the exact command), runs it
// without blocking the caller's event loop, and parses its summary.
import { execFile, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { aptCommands, isExecutable, onPath } from "../scripts/provision.ts";

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

/** Installs wrk when missing (as root with apt-get) or throws with the exact command to type. */
export function ensureWrk(env: Record<string, string | undefined> = process.env): void {
  if (onPath("wrk", env, isExecutable)) return;
  const isRoot = process.getuid?.() === 0;
  if (!onPath("apt-get", env, isExecutable))
    throw new Error(
      "The bench drives the server with wrk, which is not installed; install it with your package manager.",
    );
  if (!isRoot)
    throw new Error(
      `The bench drives the server with wrk (a C load generator; a Node one is slower than the server), which is not installed. Install it as root, then run the bench again:\n\n  ${aptCommands(["wrk"], true).join(" && ")}\n`,
    );
  for (const command of aptCommands(["wrk"])) {
    console.error(`[bench] running: ${command}`);
    const [exe = "", ...args] = command.split(" ");
    const run = spawnSync(exe, args, { stdio: "inherit", env: { ...env, DEBIAN_FRONTEND: "noninteractive" } });
    if (run.status !== 0) throw new Error(`\`${command}\` failed (exit ${run.status ?? run.signal ?? "?"})`);
  }
  if (!onPath("wrk", env, isExecutable)) throw new Error("wrk is still missing after apt-get install");
}

export type WrkResult = {
  /** Responses counted by wrk (any status). */
  requests: number;
  seconds: number;
  rps: number;
  non2xx: number;
  /** connect/read/write/timeout errors, as wrk counts them. */
  socketErrors: number;
  p50Ms: number;
  p99Ms: number;
  /** wrk's standard output, for lines a script prints in done(). */
  stdout: string;
};

export type WrkRun = {
  url: string;
  seconds: number;
  connections: number;
  threads?: number;
  /** A Lua script in bench/ (file name) and the environment it reads. */
  script?: string;
  env?: Record<string, string>;
  headers?: Record<string, string>;
  timeoutSeconds?: number;
};

function ms(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? "");
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "ms" ? v : m[2] === "s" ? v * 1000 : v * 60_000;
}

/** Parses wrk's summary (with --latency). */
export function parseWrk(stdout: string): Omit<WrkResult, "stdout"> {
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const done = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(stdout);
  const seconds = done ? ms(`${done[2]}${done[3]}`) / 1000 : NaN;
  return {
    requests: done ? Number(done[1]) : 0,
    seconds,
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/),
    socketErrors: sock ? sock.slice(1).reduce((a, x) => a + Number(x), 0) : 0,
    p50Ms: ms(/^\s+50%\s+(\S+)/m.exec(stdout)?.[1]),
    p99Ms: ms(/^\s+99%\s+(\S+)/m.exec(stdout)?.[1]),
  };
}

/** Runs wrk once (asynchronously: a server in the caller's process keeps answering). */
export function runWrk(run: WrkRun): Promise<WrkResult> {
  const args = [
    `-t${run.threads ?? 1}`,
    `-c${run.connections}`,
    `-d${run.seconds}s`,
    `--timeout`,
    `${run.timeoutSeconds ?? 10}s`,
    "--latency",
    ...Object.entries(run.headers ?? {}).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
    ...(run.script ? ["-s", path.join(BENCH_DIR, run.script)] : []),
    run.url,
  ];
  return new Promise((resolve, reject) => {
    execFile("wrk", args, { env: { ...process.env, ...run.env }, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`wrk ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      resolve({ ...parseWrk(stdout), stdout });
    });
  });
}

/** Writes the "path<TAB>bearer" lines bench/wrk-poll.lua cycles through; returns the file. */
export function pollTargets(lines: [path: string, bearer: string][]): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-wrk-")), "targets.tsv");
  fs.writeFileSync(file, lines.map(([p, b]) => `${p}\t${b}`).join("\n") + "\n");
  return file;
}

/** The 1-, 5- and 15-minute load averages, printed beside figures taken on a shared machine. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" / ");
}

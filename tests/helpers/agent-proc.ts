// The real headless agent as a child process (so tests can SIGKILL it and start it again on the same
// data directory), with a fake notify-send on PATH that records each message it is asked to show,
// verbatim, one JSON line per call: the count of lines is the count of executions.
import fs from "node:fs";
import path from "node:path";
import { spawnTsx, type NodeChild } from "./child.ts";

export type AgentProcess = NodeChild;

/**
 * Creates `dir/bin/notify-send`: it appends its argv (as JSON) to `dir/shown.jsonl`, then sleeps
 * `seconds` (a slow desktop, so a test can kill the agent while a message is on screen).
 */
export function fakeNotifySend(dir: string, seconds = 0): { bin: string; shownFile: string } {
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin, { recursive: true });
  const shownFile = path.join(dir, "shown.jsonl");
  const script = path.join(bin, "notify-send");
  fs.writeFileSync(
    script,
    `#!${process.execPath}\n` +
      `require("node:fs").appendFileSync(${JSON.stringify(shownFile)}, JSON.stringify(process.argv.slice(2)) + "\\n");\n` +
      `setTimeout(() => {}, ${Math.round(seconds * 1000)});\n`,
  );
  fs.chmodSync(script, 0o755);
  return { bin, shownFile };
}

/** The messages the fake notify-send was asked to show (each an argv array). */
export function shown(shownFile: string): string[][] {
  if (!fs.existsSync(shownFile)) return [];
  return fs
    .readFileSync(shownFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[]);
}

/** Starts `tray-agent/src/headless.ts` with the given flags; `bin` is put first on PATH. */
export function spawnAgent(args: {
  server: string;
  token: string;
  machineId: string;
  dataDir: string;
  bin?: string;
  extra?: string[];
}): AgentProcess {
  return spawnTsx(
    "tray-agent/src/headless.ts",
    [
      "--server",
      args.server,
      "--token",
      args.token,
      "--machine-id",
      args.machineId,
      "--data-dir",
      args.dataDir,
      "--interval",
      "2",
      "--poll-interval",
      "1",
      "--no-push",
      "--log-level",
      "debug",
      ...(args.extra ?? []),
    ],
    { pathFirst: args.bin },
  );
}

/** The agent's journal entry for an action (null when absent). */
export function journalEntry(
  dataDir: string,
  actionId: string,
): { state: string; result?: { status: string; result: string } } | null {
  const file = path.join(dataDir, "journal", `${actionId.replace(/[^A-Za-z0-9_-]/g, "_")}.json`);
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as { state: string; result?: { status: string; result: string } };
  } catch {
    return null;
  }
}

/** Polls `check` every 50 ms until it returns a truthy value or `ms` pass. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, ms = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

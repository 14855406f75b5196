// One agent per data folder: the folder holds one machine's token, state and journal, so a second
// agent on it would report as the same machine and run its actions twice. agent.lock holds the owner's
// pid; a lock whose process is gone (killed, crashed, rebooted) is taken over.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ConfigError } from "./config.ts";

export type DataDirLock = { readonly file: string; release(): void };

/** In-process owners (a pid check cannot tell two agents of one process apart). */
const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the folder's lock or throws a ConfigError naming the folder and the flag to use another. */
export function lockDataDir(dataDir: string): DataDirLock {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, "agent.lock");
  const token = randomUUID();
  const refuse = (pid: number) =>
    new ConfigError(
      `another DashFleet agent (pid ${pid}) is already using the data folder ${dataDir}; ` +
        `give this one its own folder with --data-dir DIR (or DASHFLEET_DATA_DIR)`,
    );
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid} ${token}\n`, { flag: "wx", mode: 0o600 });
      heldHere.add(file);
      return {
        file,
        release() {
          heldHere.delete(file);
          try {
            if (fs.readFileSync(file, "utf8").includes(token)) fs.rmSync(file, { force: true });
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let pid = NaN;
    try {
      pid = Number.parseInt(fs.readFileSync(file, "utf8"), 10);
    } catch {
      continue; // released meanwhile: try again
    }
    if (Number.isInteger(pid) && pid > 0 && alive(pid) && (pid !== process.pid || heldHere.has(file)))
      throw refuse(pid);
    // Stale: its process is gone (or it is ours from a run that never released it).
    fs.rmSync(file, { force: true });
  }
  throw refuse(NaN);
}

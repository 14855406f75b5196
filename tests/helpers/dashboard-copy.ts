// A private, complete copy of the built dashboard for tests that serve it, so that another suite
// rebuilding dashboard/dist at the same time (vite empties the folder first) cannot pull files away
// from under a running browser test.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildDashboard, DASHBOARD_DIST } from "./browser.ts";

/** True when index.html and every /assets/ file it names are present in `dir`. */
function complete(dir: string): boolean {
  const index = path.join(dir, "index.html");
  if (!fs.existsSync(index)) return false;
  const refs = [...fs.readFileSync(index, "utf8").matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
  return refs.length > 0 && refs.every((r) => fs.existsSync(path.join(dir, r)));
}

/** Copies dashboard/dist (building it first when absent) to a temporary folder; returns that folder. */
export async function dashboardCopy(): Promise<string> {
  if (!complete(DASHBOARD_DIST)) buildDashboard();
  for (let attempt = 0; attempt < 20; attempt++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-dist-copy-"));
    try {
      fs.cpSync(DASHBOARD_DIST, dir, { recursive: true });
    } catch {
      // a rebuild removed files mid-copy: try again
    }
    if (complete(dir)) return dir;
    fs.rmSync(dir, { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("dashboard/dist never became complete (is a build failing?)");
}

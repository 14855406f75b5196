// A private, complete copy of the dashboard build for tests that serve it: of this process's own
// build (buildDashboard builds into a private folder, once per test file that asks). Why not
// dashboard/dist: two test files run at once, and a rebuild there (vite empties the folder first;
// `npm run build` by hand) could pull files away from under a running browser test; and a dist left
// from older sources would test those instead of the current ones.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildDashboard, latestDashboardBuild } from "./browser.ts";

/** True when index.html and every /assets/ file it names are present in `dir`. */
function complete(dir: string): boolean {
  const index = path.join(dir, "index.html");
  if (!fs.existsSync(index)) return false;
  const refs = [...fs.readFileSync(index, "utf8").matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
  return refs.length > 0 && refs.every((r) => fs.existsSync(path.join(dir, r)));
}

/** Copies this process's latest build (building one first when it has none) to a temporary folder; returns it. */
export async function dashboardCopy(): Promise<string> {
  const from = latestDashboardBuild() ?? buildDashboard();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-dist-copy-"));
  fs.cpSync(from, dir, { recursive: true });
  if (!complete(dir)) throw new Error(`the dashboard build in ${from} is incomplete (is a build failing?)`);
  return dir;
}

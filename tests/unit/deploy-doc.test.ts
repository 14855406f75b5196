// docs/deploy.md stays true to the code: its environment table lists exactly the variables that
// server/config.ts parses (a new variable without a row, or a row for a variable that is gone, fails),
// and every repository file it names exists.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const doc = fs.readFileSync(path.join(ROOT, "docs/deploy.md"), "utf8");
const configSource = fs.readFileSync(path.join(ROOT, "server/config.ts"), "utf8");

/** The keys of ConfigSchema: lines like `  DASHFLEET_DB: z…` or `  PORT: z…` inside the z.object. */
function configVariables(): string[] {
  const schema = configSource.slice(configSource.indexOf("const ConfigSchema = z.object({"));
  const body = schema.slice(0, schema.indexOf("\n});"));
  return [...body.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!).sort();
}

/** The first column of the "## Environment" table. */
function documentedVariables(): string[] {
  const section = doc.slice(doc.indexOf("## Environment"), doc.indexOf("\n## ", doc.indexOf("## Environment") + 1));
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` +\|/gm)].map((m) => m[1]!).sort();
}

describe("docs/deploy.md", () => {
  it("documents every configuration variable of server/config.ts, and no other", () => {
    const parsed = configVariables();
    expect(parsed.length).toBeGreaterThan(20);
    expect(parsed).toContain("DASHFLEET_WORKERS");
    expect(documentedVariables()).toEqual(parsed);
  });

  it("names only repository files that exist", () => {
    const named = [
      ...new Set(
        [...doc.matchAll(/`((?:server|tests|prisma|tray-agent|scripts)\/[\w./-]+\.(?:ts|sh|prisma|mjs))`/g)].map(
          (m) => m[1]!,
        ),
      ),
    ];
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((f) => !fs.existsSync(path.join(ROOT, f)))).toEqual([]);
  });
});

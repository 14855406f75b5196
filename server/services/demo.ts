// First run: create a demo organization and print how to sign in and connect an agent.
import { randomBytes } from "node:crypto";
import type { AppDeps } from "../context.ts";
import { createOrganization } from "./accounts.ts";
import { setLegacyAgents } from "./orgs.ts";

export const DEMO_EMAIL = "admin@demo.local";

/** Creates the demo org if the database has no organization yet; prints its credentials once. */
export async function ensureDemoOrg(deps: Pick<AppDeps, "db" | "clock">, url: string): Promise<void> {
  if ((await deps.db.organization.count()) > 0) return;
  const password = randomBytes(9).toString("base64url");
  const org = await createOrganization(deps.db, deps.clock, {
    name: "Demo",
    actor: "setup",
    owner: { email: DEMO_EMAIL, password },
  });
  // The demo org accepts the original design's agent key + machine_id protocol, so the README's curl
  // flow works as written; new organizations do not (the dashboard shows a warning badge while on).
  await setLegacyAgents(deps.db, deps.clock, { orgId: org.orgId, actor: "setup" }, true);
  console.log(
    [
      "",
      "Demo organization created (shown once; keys are stored hashed):",
      `  dashboard: ${url}  login ${DEMO_EMAIL} / ${password}`,
      `  org id:    ${org.orgId}`,
      `  admin key: ${org.adminKey}`,
      `  agent key: ${org.agentKey}   (legacy agent mode on for this demo org: the key may act for any machine id)`,
      `  agent:     npm run agent -- --server ${url} --token ${org.agentKey} --machine-id demo-1 --interval 5`,
      "",
    ].join("\n"),
  );
}

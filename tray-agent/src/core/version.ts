// The agent's version, reported at enrollment and on the first report after start. Kept equal to
// tray-agent/package.json's version (a unit test checks), so the packaged app and the reports agree.

/** This agent's version. */
export const AGENT_VERSION = "0.1.0";

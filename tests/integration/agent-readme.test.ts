// "Done when": the headless agent, started with the exact command `npm start` prints on first run
// (the one the README gives), shows up in fleet.list with metrics and answers a message action within
// one poll interval. Both run as real processes; only the data directories are temporary.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDataDir, waitFor } from "../helpers/agent.ts";
import { trpcClient } from "../helpers/server.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGTERM");
    await exited;
  }
});

/** Starts `tsx <script>` as one process (node --import tsx) and collects its output. */
function run(script: string, args: string[], env: Record<string, string>) {
  let out = "";
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  children.push(child);
  return { child, output: () => out };
}

// Agents (and here a server) as child processes: on a loaded two-core machine one took over 30 s to
// enroll and the whole test over 60 s, so the waits and the tests get more room.
describe("README flow: npm start, then the printed agent command", { timeout: 180_000 }, () => {
  it("the agent appears in fleet.list with metrics and answers a message within one poll interval", async () => {
    const dir = tempDataDir();
    // npm start = tsx server/index.ts
    const server = run("server/index.ts", [], {
      DASHFLEET_DB: path.join(dir, "fleet.db"),
      PORT: "0",
      HOST: "127.0.0.1",
      DASHFLEET_DEMO: "true",
      LOG_LEVEL: "warn",
    });
    const printed = await waitFor(
      () => /agent:\s+npm run agent -- (.+)$/m.exec(server.output()),
      "the printed agent command",
      60_000,
    );
    const adminKey = /admin key:\s+(\S+)/.exec(server.output())?.[1];
    expect(adminKey).toBeTruthy();
    const args = printed[1]!.trim().split(/\s+/);
    expect(args).toEqual(expect.arrayContaining(["--server", "--token", "--machine-id", "--interval"]));
    const url = args[args.indexOf("--server") + 1]!;
    const machineId = args[args.indexOf("--machine-id") + 1]!;

    // npm run agent -- <printed args> (= tsx tray-agent/src/headless.ts <args>), data kept in a temp dir.
    const agent = run("tray-agent/src/headless.ts", args, { DASHFLEET_DATA_DIR: path.join(dir, "agent") });
    const admin = trpcClient(url, { authorization: `Bearer ${adminKey}` });
    const m = await waitFor(
      async () => (await admin.fleet.list.query({})).machines.find((x) => x.machineId === machineId && x.metrics),
      `the machine in fleet.list (agent: ${agent.output()})`,
      90_000,
    );
    expect(m.online).toBe(true);

    const { id } = await admin.actions.queue.mutate({
      machineId,
      type: "message",
      data: { message: "Hello from the console" },
    });
    // Default poll interval: 30 s (the push channel usually makes it immediate).
    const a = await waitFor(
      async () => {
        const x = await admin.actions.get.query({ id });
        return x.status === "done" ? x : null;
      },
      "the message result",
      30_000,
    );
    expect(a.result).toBe("notification logged (no desktop)");
    // Its log is read from a pipe, possibly after the result reached the server: wait for the line.
    await waitFor(
      () => agent.output().includes("message: DashFleet: Hello from the console"),
      "the message in the log",
    );
  });
});

// `npm run cli -- backup --to FILE` while a simulated fleet queues, polls and reports: the copy passes
// integrity_check, holds every action whose queue call returned before the backup started (with every
// result reported before then), and a server started on it serves them.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  enrollFleet,
  integrityCheck,
  newLedger,
  prepareDb,
  readRows,
  recordFigures,
  runLoad,
  SimAgent,
  spawnServer,
} from "../helpers/fleet-sim.ts";
import { trpcClient } from "../helpers/server.ts";
import { waitForWork } from "./work.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashfleet-backup-"));

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("online backup under load", () => {
  it("restores to an intact database holding everything acknowledged before the backup started", async () => {
    const dbFile = path.join(dir, "fleet.db");
    const [org] = await prepareDb(dbFile);
    const server = await spawnServer(dbFile);
    const ledger = newLedger();
    const fleet = await enrollFleet(server.url, org!.agentKey, 4, "bk");
    const agents = fleet.map((m) => new SimAgent(m.machineId, m.token, ledger));
    const stop = { stopped: false };
    const load = runLoad(server.url, org!.adminKey, agents, ledger, stop);
    const rounds: { before: number; reportedBefore: number; present: number }[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        // Some work returned since the last backup (an amount, not a time: a busy machine is slower).
        const shortfall = await waitForWork(ledger, { queued: 5, reported: 2 });
        expect(shortfall).toBeNull();
        // What had returned when the backup started.
        const before = new Set(ledger.queued.keys());
        const reportedBefore = new Map(ledger.reported);
        const target = path.join(dir, `backup-${i}.db`);
        const { stdout } = await promisify(execFile)(
          process.execPath,
          ["--import", "tsx", "server/cli.ts", "backup", "--to", target, "--json"],
          {
            cwd: root,
            env: { ...process.env, DASHFLEET_DB: dbFile },
          },
        );
        expect(JSON.parse(stdout)).toMatchObject({ integrity: "ok" });
        expect(integrityCheck(target)).toBe("ok");
        const rows = readRows<{ id: string; status: string; result: string | null }>(
          target,
          "SELECT id, status, result FROM Action",
        );
        const byId = new Map(rows.map((r) => [r.id, r]));
        expect([...before].filter((id) => !byId.has(id))).toEqual([]);
        for (const [id, r] of reportedBefore)
          expect(byId.get(id)).toMatchObject({ status: r.status, result: r.result });
        rounds.push({ before: before.size, reportedBefore: reportedBefore.size, present: rows.length });
      }
    } finally {
      stop.stopped = true;
      await load;
      await server.stop();
    }
    expect(rounds.every((r) => r.before > 0)).toBe(true);

    // Restore: a server on a copy of the last backup serves the actions.
    const restored = path.join(dir, "restored.db");
    fs.copyFileSync(path.join(dir, "backup-2.db"), restored);
    const again = await spawnServer(restored);
    try {
      const admin = trpcClient(again.url, { authorization: `Bearer ${org!.adminKey}` });
      const last = rounds.at(-1)!;
      let seen = 0;
      let cursor: string | null = null;
      do {
        const page: { items: unknown[]; nextCursor: string | null } = await admin.actions.list.query({
          limit: 100,
          cursor,
        });
        seen += page.items.length;
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toBe(last.present);
    } finally {
      await again.stop();
    }
    recordFigures("backup", {
      backupsUnderLoad: rounds.length,
      actionsAcknowledgedBeforeBackups: rounds.reduce((s, r) => s + r.before, 0),
      resultsReportedBeforeBackups: rounds.reduce((s, r) => s + r.reportedBefore, 0),
      missingFromBackups: 0,
    });
  }, 180_000);
});

// The action journal: one JSON file per action in <data dir>/journal/<action id>.json, replaced
// atomically at every step. The agent writes the journal before it acts and before it reports, so
// a crash, a kill, a restart or a reboot never runs an action twice and never loses a result.
//
// States, in order:
//   received    claimed from the server, not yet acknowledged (ack may be retried with the token);
//               an action refused on arrival (invalid, unsupported) waits here with its error result
//   acked       the server said "executing"; waits its turn; it has NOT started
//   executing   running (a dialog or a confirmation may be open); if the agent dies here it is never
//               run again: the replay reports error "agent stopped while running the action" —
//               except a reboot still waiting for its user, which resumes its policy where it was
//   relaunching the user accepted a restart; the agent is relaunching (replay reports done)
//   rebooting   the reboot command was issued (replay reports done "rebooted at …" if the machine
//               booted after it, else error: a reboot that never happened is not done)
//   result      finished; the result waits to be delivered
//   reported    the server has the result (kept a while, then pruned)
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { ActionOutcome, ProgressEvent, ResultStatus } from "../../../server/contract/index.ts";
import { ensurePrivateDir, writeFileAtomic } from "./fsatomic.ts";

export const journalStates = [
  "received",
  "acked",
  "executing",
  "relaunching",
  "rebooting",
  "result",
  "reported",
] as const;
export type JournalState = (typeof journalStates)[number];

/** One journal record (the on-disk format, version 1). */
export const JournalEntry = z.object({
  v: z.literal(1),
  actionId: z.string(),
  claimToken: z.string(),
  type: z.string(),
  data: z.unknown(),
  state: z.enum(journalStates),
  receivedAt: z.string(),
  updatedAt: z.string(),
  /** For relaunching/rebooting: what the user chose, reported after the restart. */
  outcome: ActionOutcome.optional(),
  /** A reboot policy's progress (snoozes, final stage), so a restart resumes it. */
  reboot: z
    .object({ snoozes: z.number(), snoozedUntilMs: z.number().nullable(), finalEndsAtMs: z.number().nullable() })
    .optional(),
  /** For rebooting: when the reboot command was issued (the boot time is compared with it). */
  rebootRequestedAt: z.string().optional(),
  /** Progress events not yet accepted by the server, and the next event number. */
  outbox: z.array(z.object({ seq: z.number(), event: ProgressEvent })).optional(),
  nextSeq: z.number().optional(),
  /** For result/reported: what is (or was) reported. */
  result: z.object({ status: ResultStatus, result: z.string(), outcome: ActionOutcome.optional() }).optional(),
});
export type JournalEntry = z.infer<typeof JournalEntry>;

/** Reported entries older than this are removed at start-up. */
const KEEP_REPORTED_MS = 7 * 24 * 3600 * 1000;

/** The journal directory, with an in-memory copy of every entry. */
export class Journal {
  private readonly entries = new Map<string, JournalEntry>();
  readonly dir: string;

  constructor(
    dataDir: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.dir = path.join(dataDir, "journal");
  }

  /** Reads the directory. Temporary files of an interrupted write are removed; unreadable entries are set aside. */
  load(): JournalEntry[] {
    ensurePrivateDir(path.dirname(this.dir));
    ensurePrivateDir(this.dir);
    this.entries.clear();
    for (const name of fs.readdirSync(this.dir)) {
      const file = path.join(this.dir, name);
      if (name.endsWith(".tmp")) {
        fs.rmSync(file, { force: true });
        continue;
      }
      if (!name.endsWith(".json")) continue;
      try {
        const e = JournalEntry.parse(JSON.parse(fs.readFileSync(file, "utf8")));
        if (e.state === "reported" && this.now().getTime() - Date.parse(e.updatedAt) > KEEP_REPORTED_MS) {
          fs.rmSync(file, { force: true });
          continue;
        }
        this.entries.set(e.actionId, e);
      } catch {
        fs.renameSync(file, `${file}.corrupt`);
      }
    }
    return this.all();
  }

  /** All entries, oldest received first. */
  all(): JournalEntry[] {
    return [...this.entries.values()].sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
  }

  get(actionId: string): JournalEntry | undefined {
    return this.entries.get(actionId);
  }

  /** Entries in one state, oldest first. */
  inState(state: JournalState): JournalEntry[] {
    return this.all().filter((e) => e.state === state);
  }

  /** Writes an entry durably (it is on disk when this returns). */
  put(entry: Omit<JournalEntry, "v" | "updatedAt" | "receivedAt"> & { receivedAt?: string }): JournalEntry {
    const now = this.now().toISOString();
    const full: JournalEntry = {
      v: 1,
      ...entry,
      receivedAt: entry.receivedAt ?? this.entries.get(entry.actionId)?.receivedAt ?? now,
      updatedAt: now,
    };
    writeFileAtomic(this.fileOf(entry.actionId), `${JSON.stringify(full)}\n`, 0o600);
    this.entries.set(entry.actionId, full);
    return full;
  }

  /** Moves an entry to a new state (with optional extra fields). */
  update(
    actionId: string,
    patch: Partial<
      Pick<
        JournalEntry,
        "state" | "claimToken" | "outcome" | "result" | "reboot" | "outbox" | "nextSeq" | "rebootRequestedAt"
      >
    >,
  ): JournalEntry {
    const e = this.entries.get(actionId);
    if (!e) throw new Error(`journal: no entry ${actionId}`);
    return this.put({ ...e, ...patch });
  }

  /** Forgets an entry (an action the server took back before it ran). */
  remove(actionId: string): void {
    fs.rmSync(this.fileOf(actionId), { force: true });
    this.entries.delete(actionId);
  }

  private fileOf(actionId: string): string {
    // Ids come from the server; keep the file name safe whatever they contain.
    return path.join(this.dir, `${actionId.replace(/[^A-Za-z0-9_-]/g, "_")}.json`);
  }
}

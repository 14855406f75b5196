// Fleet state: the machines of the organization, polled every 2 s while the tab is visible, plus the
// search, filters and sort of the fleet view, and the cards selected for a bulk action.
import { healthBand } from "../../../server/contract/index.ts";
import { errorCodeOf, handleError } from "./errors.ts";
import { trpc, type RouterOutputs } from "./trpc.ts";

/** One machine as the fleet view shows it. */
export type MachineRow = RouterOutputs["fleet"]["list"]["machines"][number];

/** One CPU/memory sample for the small charts. */
export type UsagePoint = { at: string; cpu: number; memory: number };
/** How many samples a card's chart keeps. */
const CARD_POINTS = 40;

export type OnlineFilter = "all" | "online" | "offline";
export type HealthFilter = "all" | "good" | "warn" | "bad";
export type SortKey = "hostname" | "health" | "lastSeen" | "cpu" | "memory";

class Fleet {
  machines = $state<MachineRow[]>([]);
  loaded = $state(false);
  /** Set when the last refresh failed; cleared by the next good one. */
  error = $state<string | null>(null);

  search = $state("");
  online = $state<OnlineFilter>("all");
  health = $state<HealthFilter>("all");
  sort = $state<SortKey>("hostname");
  selected = $state<string[]>([]);
  /** Recent samples per machine: seeded once from fleet.machine, then extended by each poll. */
  histories = $state<Record<string, UsagePoint[]>>({});
  #seeded = new Set<string>();

  /** The machines that pass the search and filters, sorted. */
  visible = $derived.by(() => {
    const q = this.search.trim().toLowerCase();
    const rows = this.machines.filter(
      (m) =>
        (!q || m.hostname.toLowerCase().includes(q) || m.machineId.toLowerCase().includes(q)) &&
        (this.online === "all" || (this.online === "online") === m.online) &&
        (this.health === "all" || healthBand(m.health) === this.health),
    );
    const by: Record<SortKey, (a: MachineRow, b: MachineRow) => number> = {
      hostname: (a, b) => a.hostname.localeCompare(b.hostname),
      health: (a, b) => a.health - b.health,
      lastSeen: (a, b) => Date.parse(b.lastSeenAt) - Date.parse(a.lastSeenAt),
      cpu: (a, b) => (b.metrics?.cpuPercent ?? -1) - (a.metrics?.cpuPercent ?? -1),
      memory: (a, b) => (b.metrics?.memoryPercent ?? -1) - (a.metrics?.memoryPercent ?? -1),
    };
    return rows.sort(by[this.sort]);
  });

  onlineCount = $derived(this.machines.filter((m) => m.online).length);

  /** Fetches the fleet once; errors show as a banner (the poller retries), not a toast per tick. */
  async refresh(): Promise<void> {
    try {
      const r = await trpc.fleet.list.query();
      this.machines = r.machines;
      for (const m of r.machines)
        if (m.metrics)
          this.#append(m.machineId, { at: m.metrics.at, cpu: m.metrics.cpuPercent, memory: m.metrics.memoryPercent });
      this.error = null;
      const ids = new Set(r.machines.map((m) => m.machineId));
      if (this.selected.some((id) => !ids.has(id))) this.selected = this.selected.filter((id) => ids.has(id));
    } catch (err) {
      this.error = "Cannot load the fleet. Retrying…";
      // One toast, not one per tick; an ended session always signs the console out.
      if (!this.loaded || errorCodeOf(err) === "UNAUTHORIZED") handleError(err, "Loading the fleet");
    } finally {
      this.loaded = true;
    }
  }

  /** Loads a machine's recent history once (cards call it on mount; tRPC batches the calls). */
  async seedHistory(machineId: string): Promise<void> {
    if (this.#seeded.has(machineId)) return;
    this.#seeded.add(machineId);
    try {
      const r = await trpc.fleet.machine.query({ machineId });
      const older = r.history.map((h) => ({ at: h.at, cpu: h.cpuPercent, memory: h.memoryPercent }));
      const newer = (this.histories[machineId] ?? []).filter((p) => !older.some((o) => o.at === p.at));
      this.histories[machineId] = [...older, ...newer].slice(-CARD_POINTS);
    } catch {
      // The card still shows live samples as they arrive; allow another try later.
      this.#seeded.delete(machineId);
    }
  }

  #append(machineId: string, p: UsagePoint): void {
    const list = this.histories[machineId];
    if (!list) this.histories[machineId] = [p];
    else if (list.at(-1)?.at !== p.at) this.histories[machineId] = [...list, p].slice(-CARD_POINTS);
  }

  /** Forgets everything (sign-out): the next user must not see this org's machines. */
  reset(): void {
    this.machines = [];
    this.loaded = false;
    this.error = null;
    this.selected = [];
    this.histories = {};
    this.#seeded.clear();
  }

  isSelected(machineId: string): boolean {
    return this.selected.includes(machineId);
  }

  toggle(machineId: string): void {
    this.selected = this.isSelected(machineId)
      ? this.selected.filter((id) => id !== machineId)
      : [...this.selected, machineId];
  }

  selectVisible(): void {
    this.selected = [...new Set([...this.selected, ...this.visible.map((m) => m.machineId)])];
  }

  clearSelection(): void {
    this.selected = [];
  }

  byId(machineId: string): MachineRow | undefined {
    return this.machines.find((m) => m.machineId === machineId);
  }
}

/** The one fleet state of the console. */
export const fleet = new Fleet();

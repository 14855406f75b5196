// Recent CPU/memory samples for the card view's small charts. Only the card view (a toggle meant for
// small fleets) asks for a machine's history, once per card; the table never does.
import { trpc } from "./trpc.ts";

/** One CPU/memory sample for the small charts. */
export type UsagePoint = { at: string; cpu: number; memory: number };
/** How many samples a card's chart keeps. */
const CARD_POINTS = 40;

class CardHistories {
  byMachine = $state<Record<string, UsagePoint[]>>({});
  #seeded = new Set<string>();

  /** Loads a machine's recent history once (tRPC batches the cards' calls). */
  async seed(machineId: string): Promise<void> {
    if (this.#seeded.has(machineId)) return;
    this.#seeded.add(machineId);
    try {
      const r = await trpc.fleet.machine.query({ machineId });
      const older = r.history.map((h) => ({ at: h.at, cpu: h.cpuPercent, memory: h.memoryPercent }));
      const newer = (this.byMachine[machineId] ?? []).filter((p) => !older.some((o) => o.at === p.at));
      this.byMachine[machineId] = [...older, ...newer].slice(-CARD_POINTS);
    } catch {
      // The card still shows live samples as they arrive; allow another try later.
      this.#seeded.delete(machineId);
    }
  }

  /** Adds the latest sample a poll brought. */
  append(machineId: string, p: UsagePoint): void {
    const list = this.byMachine[machineId];
    if (!list) this.byMachine[machineId] = [p];
    else if (list.at(-1)?.at !== p.at) this.byMachine[machineId] = [...list, p].slice(-CARD_POINTS);
  }

  reset(): void {
    this.byMachine = {};
    this.#seeded.clear();
  }
}

export const cardHistories = new CardHistories();

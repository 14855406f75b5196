// Fleet state: the visible page of machines (fleet.list, keyset-paged) and the header counters
// (fleet.summary). Live updates cost little at any fleet size: each tick re-asks only for the page on
// screen and the counters, in one batched request; no per-row history. The selection is either picked
// machines (kept with their names across pages) or "every machine matching this filter", which is
// sent as the filter itself, never as N loaded rows.
import type { FleetFilter, FleetPage, FleetSummary, MachineView } from "../../../server/contract/index.ts";
import { errorCodeOf, handleError } from "./errors.ts";
import { cleanFilter, listInput, type FleetView } from "./fleet-query.ts";
import { language } from "./language.svelte.ts";
import { trpc } from "./trpc.ts";

export type { MachineView } from "../../../server/contract/index.ts";

/** A machine picked for an action: enough to name it in the dialog. */
export type Picked = { machineId: string; name: string };

/** Who an action goes to: picked machines, or every machine matching a filter (counted by the server). */
export type Target = { kind: "machines"; machines: Picked[] } | { kind: "filter"; filter: FleetFilter; count: number };

class Fleet {
  /** The rows on screen. */
  rows = $state<MachineView[]>([]);
  /** Machines matching the current filter (from fleet.list). */
  total = $state(0);
  nextCursor = $state<string | null>(null);
  /** Cursors of the pages before this one (the first page's is null): "Previous" pops one. */
  #cursors: (string | null)[] = [];
  cursor = $state<string | null>(null);
  pageIndex = $state(0);
  /** Counters for the whole organization. */
  summary = $state<FleetSummary | null>(null);
  reportIntervalSeconds = $state(10);
  loaded = $state(false);
  /** Set when the last refresh failed; cleared by the next good one. */
  error = $state<string | null>(null);

  /** The view the rows belong to (from the URL). */
  view = $state<FleetView | null>(null);
  #viewKey = "";
  #latest = 0;

  /** Picked machines by id (kept while paging and filtering). */
  picked = $state<Record<string, Picked>>({});
  /** True when "all N matching this filter" is selected. */
  allMatching = $state(false);

  pickedCount = $derived(Object.keys(this.picked).length);
  selectionCount = $derived(this.allMatching ? this.total : this.pickedCount);

  /**
   * Shows `view`: when its filters or sort changed, starts again at the first page (and loads it).
   * Returns whether it loaded.
   */
  setView(view: FleetView): boolean {
    const key = JSON.stringify(listInput(view, null));
    this.view = view;
    if (key === this.#viewKey) return false;
    const filterChanged = JSON.stringify(cleanFilter(view.filter)) !== this.#filterKey;
    this.#viewKey = key;
    this.#filterKey = JSON.stringify(cleanFilter(view.filter));
    this.#cursors = [];
    this.cursor = null;
    this.pageIndex = 0;
    if (filterChanged) this.allMatching = false;
    void this.refresh({ counters: false });
    return true;
  }
  #filterKey = "";

  /**
   * One refresh: the visible page and (on a poll) the counters, in one batched HTTP request. A filter,
   * sort or page change asks for the page alone, so its answer does not wait for the counters.
   */
  async refresh(opts: { counters?: boolean } = { counters: true }): Promise<void> {
    const view = this.view;
    if (!view) return;
    const request = ++this.#latest;
    try {
      // The first load asks for the rows alone and the counters right after, so the first row does
      // not wait for the counters (one batched request would answer only when both are ready).
      const first = this.summary === null;
      const [page, summary]: [FleetPage, FleetSummary | null] = await Promise.all([
        trpc.fleet.list.query(listInput(view, this.cursor)),
        opts.counters && !first ? trpc.fleet.summary.query() : Promise.resolve(null),
      ]);
      if (first && request === this.#latest) void this.refreshSummary();
      // A slow answer for an old filter or page must not replace the newer one.
      if (request !== this.#latest) return;
      this.rows = page.machines;
      this.total = page.total;
      this.nextCursor = page.nextCursor;
      this.reportIntervalSeconds = page.reportIntervalSeconds;
      if (summary) this.summary = summary;
      this.error = null;
    } catch (err) {
      if (request !== this.#latest) return;
      this.error = "Cannot load the fleet. Retrying…";
      // One toast, not one per tick; an ended session always signs the console out.
      if (!this.loaded || errorCodeOf(err) === "UNAUTHORIZED") handleError(err, language.t("load.fleet"));
    } finally {
      if (request === this.#latest) this.loaded = true;
    }
  }

  /** Only the counters (pages other than the fleet keep the nav count current). */
  async refreshSummary(): Promise<void> {
    try {
      this.summary = await trpc.fleet.summary.query();
    } catch (err) {
      if (errorCodeOf(err) === "UNAUTHORIZED") handleError(err, language.t("load.fleet"));
    }
  }

  nextPage(): void {
    if (!this.nextCursor) return;
    this.#cursors.push(this.cursor);
    this.cursor = this.nextCursor;
    this.pageIndex++;
    void this.refresh({ counters: false });
  }

  previousPage(): void {
    if (this.#cursors.length === 0) return;
    this.cursor = this.#cursors.pop() ?? null;
    this.pageIndex--;
    void this.refresh({ counters: false });
  }

  firstPage(): void {
    if (this.pageIndex === 0) return;
    this.#cursors = [];
    this.cursor = null;
    this.pageIndex = 0;
    void this.refresh({ counters: false });
  }

  isPicked(machineId: string): boolean {
    return this.allMatching || machineId in this.picked;
  }

  toggle(m: MachineView): void {
    if (this.allMatching) {
      // Leaving "all matching": keep the visible page picked, minus this one.
      this.allMatching = false;
      this.picked = Object.fromEntries(
        this.rows.filter((r) => r.machineId !== m.machineId).map((r) => [r.machineId, pick(r)]),
      );
      return;
    }
    if (m.machineId in this.picked) delete this.picked[m.machineId];
    else this.picked[m.machineId] = pick(m);
  }

  /** Picks (or unpicks) every row on the visible page. */
  togglePage(on: boolean): void {
    this.allMatching = false;
    const next = { ...this.picked };
    for (const r of this.rows) {
      if (on) next[r.machineId] = pick(r);
      else delete next[r.machineId];
    }
    this.picked = next;
  }

  selectAllMatching(): void {
    this.allMatching = true;
  }

  clearSelection(): void {
    this.picked = {};
    this.allMatching = false;
  }

  /** The current selection as an action target. */
  target(): Target | null {
    if (this.allMatching && this.view)
      return { kind: "filter", filter: cleanFilter(this.view.filter), count: this.total };
    const machines = Object.values(this.picked);
    return machines.length ? { kind: "machines", machines } : null;
  }

  /** Forgets everything (sign-out): the next user must not see this org's machines. */
  reset(): void {
    this.#latest++;
    this.rows = [];
    this.total = 0;
    this.summary = null;
    this.loaded = false;
    this.error = null;
    this.view = null;
    this.#viewKey = "";
    this.#filterKey = "";
    this.clearSelection();
  }
}

function pick(m: MachineView): Picked {
  return { machineId: m.machineId, name: m.name };
}

/** The one fleet state of the console. */
export const fleet = new Fleet();

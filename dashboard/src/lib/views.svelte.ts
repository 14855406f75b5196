// Saved fleet views of the signed-in user (views.*): a name for a filter, a sort and the chosen columns.
import { defaultSortDir, type SavedView, type SavedViewQuery } from "../../../server/contract/index.ts";
import { handleError, type FieldErrors } from "./errors.ts";
import { cleanFilter, defaultColumns, type FleetView } from "./fleet-query.ts";
import { language } from "./language.svelte.ts";
import { toasts } from "./toasts.svelte.ts";
import { trpc } from "./trpc.ts";

class SavedViews {
  items = $state<SavedView[]>([]);
  loaded = $state(false);

  async load(): Promise<void> {
    try {
      this.items = (await trpc.views.list.query()).items;
    } catch (err) {
      handleError(err, language.t("views.loading"));
    } finally {
      this.loaded = true;
    }
  }

  /** Saves the view under `name` (replacing one of that name); field errors come back for the form. */
  async save(name: string, view: FleetView): Promise<FieldErrors | null> {
    const query: SavedViewQuery = {
      ...cleanFilter(view.filter),
      sort: view.sort,
      dir: view.dir,
      limit: view.limit,
      columns: view.columns,
    };
    try {
      await trpc.views.save.mutate({ name, query });
      toasts.push("success", language.t("views.saved", { name }));
      await this.load();
      return null;
    } catch (err) {
      return handleError(err, language.t("views.saving")) ?? {};
    }
  }

  async remove(name: string): Promise<void> {
    try {
      await trpc.views.delete.mutate({ name });
      toasts.push("info", language.t("views.deleted", { name }));
      await this.load();
    } catch (err) {
      handleError(err, language.t("views.deleting"));
    }
  }

  reset(): void {
    this.items = [];
    this.loaded = false;
  }
}

/** The signed-in user's saved views. */
export const savedViews = new SavedViews();

/** A saved view's query as a fleet view (cards off; the table shows its columns). */
export function viewOf(saved: SavedView): FleetView {
  const { sort = "hostname", dir, limit, columns, ...filter } = saved.query;
  return {
    filter: cleanFilter(filter),
    sort,
    dir: dir ?? defaultSortDir[sort],
    limit: limit ?? 50,
    columns: columns ?? [...defaultColumns],
    cards: false,
  };
}

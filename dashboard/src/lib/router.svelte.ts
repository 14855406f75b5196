// Hash routing (see routes.ts for the shapes). The hash keeps every route a plain request for
// index.html, so the server needs no route list. Filters are written to the hash with `setParams`:
// a deliberate change (a select, a page) is a new history entry, so Back undoes it; typing in the
// search box replaces the entry instead of adding one per keystroke.
import { parseHash, toHash, type Page, type Route } from "./routes.ts";

export type { Route } from "./routes.ts";

class Router {
  route = $state<Route>(parseHash(location.hash));
  constructor() {
    addEventListener("hashchange", () => (this.route = parseHash(location.hash)));
  }

  /** Rewrites the current page's query parameters (`undefined` or "" removes one). */
  setParams(changes: Record<string, string | undefined>, opts: { replace?: boolean } = {}): void {
    const params: Record<string, string | undefined> = { ...this.route.params, ...changes };
    const hash = toHash({ page: this.route.page, id: this.route.id, params });
    if (hash === location.hash) return;
    if (opts.replace) history.replaceState(history.state, "", hash);
    else history.pushState(history.state, "", hash);
    // pushState/replaceState fire no hashchange: update the route ourselves.
    this.route = parseHash(hash);
  }

  /** Opens another page (a new history entry). */
  go(page: Page, id: string | null = null, params: Record<string, string | undefined> = {}): void {
    location.hash = toHash({ page, id, params });
  }
}

export const router = new Router();

/** The href of a page, for plain links. */
export function href(page: Page, id: string | null = null, params: Record<string, string | undefined> = {}): string {
  return toHash({ page, id, params });
}

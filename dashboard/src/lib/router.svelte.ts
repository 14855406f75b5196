// Hash routing: #/fleet, #/machines/ID, #/activity, #/keys, #/users. The hash keeps every route a plain
// request for index.html, so the server needs no route list.
export type Route =
  | { page: "fleet" }
  | { page: "machine"; machineId: string }
  | { page: "activity" }
  | { page: "keys" }
  | { page: "users" };

function parse(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case "machines":
      return parts[1] ? { page: "machine", machineId: parts[1] } : { page: "fleet" };
    case "activity":
      return { page: "activity" };
    case "keys":
      return { page: "keys" };
    case "users":
      return { page: "users" };
    default:
      return { page: "fleet" };
  }
}

class Router {
  route = $state<Route>(parse(location.hash));
  constructor() {
    addEventListener("hashchange", () => (this.route = parse(location.hash)));
  }
}

export const router = new Router();

/** The href of a route, for plain links. */
export function href(route: Route): string {
  return route.page === "machine" ? `#/machines/${encodeURIComponent(route.machineId)}` : `#/${route.page}`;
}

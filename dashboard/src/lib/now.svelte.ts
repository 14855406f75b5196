// A shared clock for relative times ("5 s ago") that re-renders every few seconds.
class Now {
  value = $state(Date.now());
  constructor() {
    setInterval(() => (this.value = Date.now()), 5000);
  }
}

/** Read `now.value` in markup so relative times stay current. */
export const now = new Now();

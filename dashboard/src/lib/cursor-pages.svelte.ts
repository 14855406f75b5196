// Previous / next over a cursor-paged list (audit log, bulk jobs, a bulk job's machines): the server
// hands out the next page's cursor only, so the cursors of the pages behind are kept to step back.
export class CursorPages<C> {
  /** Which page is on screen (0: the first), for the Pager's "51–100". */
  pageIndex = $state(0);
  /** The cursor of the page on screen (null: the first page). */
  cursor: C | null = null;
  #behind: (C | null)[] = [];

  /** Back to the first page (the filters changed). */
  reset(): void {
    this.cursor = null;
    this.#behind = [];
    this.pageIndex = 0;
  }

  /** Moves one page forward (to `next`) or back; false when there is nowhere to go. */
  step(direction: 1 | -1, next: C | null | undefined): boolean {
    if (direction === 1 && next) {
      this.#behind.push(this.cursor);
      this.cursor = next;
      this.pageIndex++;
      return true;
    }
    if (direction === -1 && this.#behind.length) {
      this.cursor = this.#behind.pop() ?? null;
      this.pageIndex--;
      return true;
    }
    return false;
  }
}

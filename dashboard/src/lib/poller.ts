// Polling while the tab is visible: the console's live updates. Stops while hidden, refreshes at once
// when the tab comes back. Ticks run untracked: an effect that starts a poll does not re-run because
// the tick read some state.
import { untrack } from "svelte";

/**
 * Runs `tick` now (or, with `immediate: false`, first after one interval) and every `intervalMs` while
 * the page is visible; returns a stop function.
 */
export function poll(tick: () => Promise<void>, intervalMs = 2000, opts: { immediate?: boolean } = {}): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let running = false;

  const run = async () => {
    clearTimeout(timer);
    if (stopped || running) return;
    running = true;
    try {
      await untrack(tick);
    } finally {
      running = false;
      if (!stopped && document.visibilityState === "visible") timer = setTimeout(() => void run(), intervalMs);
    }
  };
  const onVisibility = () => {
    if (document.visibilityState === "visible") void run();
    else clearTimeout(timer);
  };
  document.addEventListener("visibilitychange", onVisibility);
  if (opts.immediate === false) timer = setTimeout(() => void run(), intervalMs);
  else void run();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisibility);
  };
}

// Push streams (agent.actionStream, server-sent events) held open per machine token and per process
// (hostile review, finding 7: 5,000 streams were accepted from one token). A machine may hold a few
// (2 by default: a reconnect may overlap the old stream); a new one closes the oldest. Past the process
// cap new streams are refused with 503, and the agent keeps polling.
import { unavailable } from "../domain/errors.ts";

export class StreamRegistry {
  readonly #byMachine = new Map<string, AbortController[]>();
  #total = 0;

  constructor(
    readonly perMachine: number,
    readonly perProcess: number,
  ) {}

  /**
   * Opens a stream for a machine: returns a signal that aborts when the stream must end (a newer stream
   * of the same machine replaced it, or the machine was retired) and a release function. Throws
   * SERVICE_UNAVAILABLE past the process cap.
   */
  open(machineRef: string): { signal: AbortSignal; release: () => void } {
    const list = this.#byMachine.get(machineRef) ?? [];
    if (list.length < this.perMachine && this.#total >= this.perProcess)
      throw unavailable(
        `This server holds its maximum of ${this.perProcess} push streams; poll instead and retry later`,
      );
    while (list.length >= this.perMachine) this.#drop(machineRef, list, list[0]!);
    const ctl = new AbortController();
    list.push(ctl);
    this.#byMachine.set(machineRef, list);
    this.#total += 1;
    return { signal: ctl.signal, release: () => this.#drop(machineRef, this.#byMachine.get(machineRef) ?? [], ctl) };
  }

  /** Ends every stream of a machine (retired, or its token replaced). */
  closeMachine(machineRef: string): void {
    const list = this.#byMachine.get(machineRef);
    if (!list) return;
    for (const ctl of [...list]) this.#drop(machineRef, list, ctl);
  }

  /** Open streams: of one machine, or of the whole process. */
  count(machineRef?: string): number {
    return machineRef === undefined ? this.#total : (this.#byMachine.get(machineRef)?.length ?? 0);
  }

  #drop(machineRef: string, list: AbortController[], ctl: AbortController): void {
    const i = list.indexOf(ctl);
    if (i < 0) return;
    list.splice(i, 1);
    this.#total -= 1;
    if (list.length === 0) this.#byMachine.delete(machineRef);
    ctl.abort();
  }
}

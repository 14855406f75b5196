// Bench-only preload for the push phase's server process (`node --expose-gc --import tsx --import
// ./bench/heapProbe.ts server/index.ts`): on SIGUSR2 it runs a full garbage collection and writes
// process.memoryUsage() as JSON to $DASHFLEET_HEAP_PROBE. The bench reads the memory the open streams
// hold from it, instead of RSS that also counts garbage not yet collected. Not loaded in production.
import fs from "node:fs";

const file = process.env.DASHFLEET_HEAP_PROBE;
const gc = (globalThis as { gc?: () => void }).gc;
if (file && gc) {
  process.on("SIGUSR2", () => {
    gc();
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ at: Date.now(), ...process.memoryUsage() }));
    fs.renameSync(tmp, file); // whole or absent: the bench never reads half a file
  });
}

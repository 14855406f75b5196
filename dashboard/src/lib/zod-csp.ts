// Zod probes `new Function` to decide whether it may compile fast parsers; under our CSP
// (script-src 'self', no 'unsafe-eval') that probe is reported as a violation. Run zod without JIT.
import { z } from "zod";

z.config({ jitless: true });

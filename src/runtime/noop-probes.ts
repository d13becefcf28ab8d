// Probes that record nothing: what instrumented code calls on a thread that is not (or no
// longer) recorded. One table for every such place — the recorder's shared no-op and the
// ES module hooks thread's — differing only in what registering a module does there. It
// imports nothing at run time, so the hooks thread can load it without the recorder.

import type { Probes } from './recorder.js';

/** No-op probes whose module registration is `register`. */
export function noopProbesWith(register: Probes['m']): Probes {
  return {
    m: register,
    en: () => -1,
    ex: () => 0,
    xa: () => 0,
    dv: () => {},
    ca: () => 0,
    th: (value) => value,
    de: () => {},
    mk: () => {},
    note: () => 0,
    ea: () => 0,
    sp: (_id, _frame, value) => value,
    rs: (_id, _frame, value) => value,
    rr: () => {},
    ext: () => {},
    eu: () => {},
    extNote: () => {},
    describe: () => undefined,
  };
}

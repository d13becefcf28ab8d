// Names shared between the code the instrumenter emits and the runtime that serves it.

/** The global the probes live on (one Recorder per thread). */
export const PROBES_GLOBAL = '__recall';
/** Field recall sets to true in every source map it writes, to tell its maps from the program's. */
export const RECALL_MAP_MARKER = 'x_recall';
/** Every instrumented module starts its code with this (after directives): it is never instrumented twice. */
export const ALREADY_INSTRUMENTED = `${PROBES_GLOBAL}$B=${PROBES_GLOBAL}.m(`;

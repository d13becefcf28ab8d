// Names shared between the code the instrumenter emits and the runtime that serves it.

/** The global the probes live on (one Recorder per thread). */
export const PROBES_GLOBAL = '__recall';
/** Field recall sets to true in every source map it writes, to tell its maps from the program's. */
export const RECALL_MAP_MARKER = 'x_recall';
/**
 * RECALL_MAP_MARKER's value in an out-of-line map with a segment only where each piece of
 * original text begins and at line starts: a column inside a segment is the segment's original
 * column plus the offset from its start.
 */
export const RECALL_MAP_SPARSE = 'pieces';
/** Every instrumented module registers itself with this (its function-id base `=` the call, after directives): it is never instrumented twice. */
export const ALREADY_INSTRUMENTED = `=${PROBES_GLOBAL}.m(`;

// recall's public entry for programs and tools: `import { mark } from 'recall'`.
// mark() is what a traced program calls to flag a moment; it is a no-op when the program runs
// untraced (no recorder installed), so it can stay in production code.

interface MarkProbe {
  mk(label: string, data?: unknown): void;
}

/**
 * Record a marker: `label` (and a bounded, redacted snapshot of `data`) lands in the trace at
 * this point of this thread; with `recall run --trigger mark` it also persists a window of
 * values around it. Never throws, never changes what the program does.
 */
export function mark(label: string, data?: unknown): void {
  const probes = (globalThis as { __recall?: MarkProbe }).__recall;
  if (probes !== undefined) probes.mk(label, data);
}

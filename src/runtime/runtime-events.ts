// Runtime events: what the program's runtime does around its calls, recorded in the index lane
// as EXT_* events (docs/FORMAT.md section 3) — scheduling links (scheduling.ts), worker
// messages (message-flows.ts), HTTP/fetch spans, sockets, child processes and garbage
// collections (diagnostics.ts). Installed once per traced thread by the preload; worker
// start/exit are recorded by the preload's Worker wrapper through worker-events.ts.

import type { RecordConfig } from './config.js';
import { installDiagnostics } from './diagnostics.js';
import { installMessageFlows } from './message-flows.js';
import { installScheduling } from './scheduling.js';
import { enableWorkerEvents } from './worker-events.js';

/** Off with `recall run --no-runtime-events`: then the index lane holds calls only. */
export function installRuntimeEvents(config: RecordConfig): void {
  if (config.runtimeEvents === false) return;
  enableWorkerEvents();
  // Diagnostics first: perf_hooks captures setImmediate when it loads, and its own dispatch
  // immediates are not the program's scheduling.
  installDiagnostics(config);
  installMessageFlows();
  installScheduling();
}

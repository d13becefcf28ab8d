// --snapshot: SIGUSR2 asks the recording process for a snapshot (as `recall ctl snapshot` does):
// the main thread counts the request in the control block and wakes the drain, which writes the
// snapshot between its passes (Drain.snapshotsDue). Only in snapshot mode, where the signal is
// documented as recall's; otherwise SIGUSR2 keeps the program's own meaning.

import { H_DRAIN_WAKE, H_SNAPSHOT_REQUEST } from './control.js';

export function installSnapshotSignal(sab: SharedArrayBuffer): void {
  const ctl = new Int32Array(sab);
  process.on('SIGUSR2', () => {
    Atomics.add(ctl, H_SNAPSHOT_REQUEST, 1);
    Atomics.notify(ctl, H_DRAIN_WAKE);
  });
}

// Stable call ids: a call is named `c<thread>.<position>`, where <thread> is the thread's index
// in the engine's thread list (the trace's thread files in manifest order; 0 is usually the
// main thread) and <position> the ordinal of the record that began the call among the thread's
// records (the event number `recall stack --at e<position>` takes). Both are fixed once the
// trace is written, so an id means the same call in every answer, in every process, and after
// the index is rebuilt. Cursors for paged answers are `k<thread>.<position>`: where the next
// page starts. The viewer, which shows every process of a trace at once, qualifies the ids of
// processes other than its first by pid: `c0.123@4567` (src/viewer/ids.ts). No Node-only imports.

import { RecallError } from '../format/errors.js';

export interface CallRef {
  thread: number;
  position: number;
}

export function callId(thread: number, position: number): string {
  return `c${thread}.${position}`;
}

export function parseCallId(id: string): CallRef {
  const match = /^c(\d+)\.(\d+)$/.exec(id.trim());
  if (!match) throw new RecallError('E_USAGE', `'${id}' is not a call id: call ids look like c0.1234 (thread 0, the call that began at event 1234)`);
  return { thread: Number(match[1]), position: Number(match[2]) };
}

export function cursorOf(thread: number, position: number): string {
  return `k${thread}.${position}`;
}

export function parseCursor(cursor: string): CallRef {
  const match = /^k(\d+)\.(\d+)$/.exec(cursor.trim());
  if (!match) throw new RecallError('E_USAGE', `'${cursor}' is not a cursor from a previous answer (cursors look like k0.1234)`);
  return { thread: Number(match[1]), position: Number(match[2]) };
}


// Worker lifecycle events, recorded on the thread that creates a worker: EXT_WORKER_START
// (aux = the new thread's threadId) when the Worker is constructed, EXT_WORKER_EXIT (aux = the
// same threadId) when its 'exit' event reaches the creating thread. Called by the preload's
// Worker wrapper (preload.ts wrapWorker), which also names the thread in the manifest; a
// worker's file and name are there, so these events carry no note. The new worker's public
// port is followed for message flows (message-flows.ts). Off with --no-runtime-events.

import { EXT_WORKER_EXIT, EXT_WORKER_START } from '../format/layout.js';
import { followWorkerPort } from './message-flows.js';
import type { Probes } from './recorder.js';

type Global = typeof globalThis & { __recall: Probes };

let enabled = false;

export function enableWorkerEvents(): void {
  enabled = true;
}

export function workerStarted(worker: object, threadId: number): void {
  if (!enabled) return;
  followWorkerPort(worker, threadId);
  (globalThis as Global).__recall.ext(EXT_WORKER_START, threadId);
}

export function workerExited(threadId: number): void {
  if (!enabled) return;
  (globalThis as Global).__recall.ext(EXT_WORKER_EXIT, threadId);
}

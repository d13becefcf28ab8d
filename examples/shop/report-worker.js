// Runs in a worker thread: totals the results it is given and posts the report back.
import { parentPort, workerData } from 'node:worker_threads';

function summarize(results) {
  let revenue = 0;
  let backordered = 0;
  for (const result of results) {
    if (result.status === 'ok') revenue += result.total;
    else backordered++;
  }
  return { revenue, backordered };
}

parentPort.postMessage(summarize(workerData));

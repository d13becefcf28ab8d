// `recall export --format otlp`: the trace's spans (otlp-spans.ts) as OTLP requests
// (otlp-encode.ts) under each process's resource — service.name (--service, default: the
// command's script or program), process.pid, process.parent_pid (a child process),
// process.command_line, host.name (of the machine exporting: the manifest does not name the
// recording's host) — delivered by otlp-send.ts to a collector or a file. With several
// processes (--process all) they share the root's trace id, each request holds one process's
// spans, and --from/--to (times since the root began) are moved onto each process's own axis. Bodies are cut at BATCH_BYTES of span data, far under the 64 MiB OTLP
// recommends; the walk is synchronous, so the bodies wait, gzipped, in a spool (memory, then a
// temporary file: otlp-spool.ts) until it ends, and then go out one request at a time.

import { hostname } from 'node:os';
import { basename } from 'node:path';
import type { QueryTrace } from '../query/open.js';
import { batchEncoder, type OtlpProtocol } from './otlp-encode.js';
import type { BodySink } from './otlp-send.js';
import { Spool } from './otlp-spool.js';
import { onAxisOf, shiftNs } from './common.js';
import { collectSpans, spanContext, traceIdOf, type AttributeValue, type SpanOptions, type SpanTotals } from './otlp-spans.js';

/** Span bytes per request body (before compression). */
export const BATCH_BYTES = 4 << 20;

export interface OtlpOptions extends SpanOptions {
  protocol?: OtlpProtocol;
  service?: string;
  batchBytes?: number;
  /** Bytes of gzipped bodies held in memory during the walk before the rest are spooled to a file. */
  spoolBytes?: number;
}

export interface OtlpTotals extends SpanTotals {
  requests: number;
}

/** The default service name: the script a runtime ran (node app.js → app.js), else the program. */
export function defaultService(command: string[]): string {
  const [program, ...rest] = command;
  if (program === undefined) return 'recall';
  const name = basename(program);
  if (/^(node|nodejs|bun|deno|tsx|ts-node)(\.exe)?$/.test(name)) {
    const script = rest.find((arg) => !arg.startsWith('-'));
    if (script !== undefined) return basename(script);
  }
  return name;
}

/** The spans of `processes` (the first is the root; one process or every one of the trace). */
export async function exportOtlp(processes: QueryTrace | readonly QueryTrace[], sink: BodySink, options: OtlpOptions = {}): Promise<OtlpTotals> {
  const list = Array.isArray(processes) ? (processes as readonly QueryTrace[]) : [processes as QueryTrace];
  const root = list[0]!;
  const traceId = traceIdOf(root.manifest.pid, root.manifest.startEpochMs);
  const limit = options.batchBytes ?? BATCH_BYTES;
  const pending = new Spool(options.spoolBytes);
  const totals: OtlpTotals = { calls: 0, runtime: 0, threads: 0, events: 0, requests: 0 };
  const shared = spanContext();
  try {
    list.forEach((q, ordinal) => {
      const m = q.manifest;
      const resource: [string, AttributeValue][] = [
        ['service.name', options.service ?? defaultService(m.command)],
        ['process.pid', m.pid],
        ...(m.parentPid == null ? [] : [['process.parent_pid', m.parentPid] as [string, AttributeValue]]),
        ['process.command_line', m.command.join(' ')],
        ['process.runtime.name', 'nodejs'],
        ['process.runtime.version', m.nodeVersion.replace(/^v/, '')],
        ['host.name', hostname()],
      ];
      const encoder = batchEncoder(options.protocol ?? 'http/protobuf', resource, traceId);
      const cut = (): void => {
        const body = encoder.take();
        if (body === null) return;
        totals.requests++;
        const left = sink.accept(body);
        if (left !== null) pending.push(left);
      };
      // The range is in the root's times; this process's are since its own start.
      const local = onAxisOf(options, shiftNs(root, q));
      const progress = options.progress;
      const earlier = totals.events;
      const done = collectSpans(q, { ...local, ...(progress ? { progress: (events: number) => progress(earlier + events) } : {}) }, (span) => {
        encoder.add(span);
        if (encoder.size >= limit) cut();
      }, spanContext(ordinal, shared));
      cut();
      totals.calls += done.calls;
      totals.runtime += done.runtime;
      totals.threads += done.threads;
      totals.events += done.events;
    });
    for (const body of pending.bodies()) await sink.deliver(body);
    return totals;
  } finally {
    pending.close();
  }
}

// `recall export --format otlp`: the trace's spans (otlp-spans.ts) as OTLP requests
// (otlp-encode.ts) under the recording's resource — service.name (--service, default: the
// command's script or program), process.pid, process.command_line, host.name (of the machine
// exporting: the manifest does not name the recording's host) — delivered by otlp-send.ts to a
// collector or a file. Bodies are cut at BATCH_BYTES of span data, far under the 64 MiB OTLP
// recommends; the walk is synchronous, so the bodies wait, gzipped, in a spool (memory, then a
// temporary file: otlp-spool.ts) until it ends, and then go out one request at a time.

import { hostname } from 'node:os';
import { basename } from 'node:path';
import type { QueryTrace } from '../query/open.js';
import { batchEncoder, type OtlpProtocol } from './otlp-encode.js';
import type { BodySink } from './otlp-send.js';
import { Spool } from './otlp-spool.js';
import { collectSpans, traceIdOf, type AttributeValue, type SpanOptions, type SpanTotals } from './otlp-spans.js';

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

export async function exportOtlp(q: QueryTrace, sink: BodySink, options: OtlpOptions = {}): Promise<OtlpTotals> {
  const m = q.manifest;
  const resource: [string, AttributeValue][] = [
    ['service.name', options.service ?? defaultService(m.command)],
    ['process.pid', m.pid],
    ['process.command_line', m.command.join(' ')],
    ['process.runtime.name', 'nodejs'],
    ['process.runtime.version', m.nodeVersion.replace(/^v/, '')],
    ['host.name', hostname()],
  ];
  const encoder = batchEncoder(options.protocol ?? 'http/protobuf', resource, traceIdOf(m.pid, m.startEpochMs));
  const limit = options.batchBytes ?? BATCH_BYTES;
  const pending = new Spool(options.spoolBytes);
  let requests = 0;
  const cut = (): void => {
    const body = encoder.take();
    if (body === null) return;
    requests++;
    const left = sink.accept(body);
    if (left !== null) pending.push(left);
  };
  try {
    const totals = collectSpans(q, options, (span) => {
      encoder.add(span);
      if (encoder.size >= limit) cut();
    });
    cut();
    for (const body of pending.bodies()) await sink.deliver(body);
    return { ...totals, requests };
  } finally {
    pending.close();
  }
}

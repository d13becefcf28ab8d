// Delivering OTLP request bodies: POSTed gzip-compressed to a collector's /v1/traces as
// OTLP/HTTP says (Content-Type application/x-protobuf or application/json, Content-Encoding
// gzip), retrying 429, 502, 503 and 504 — after Retry-After seconds when the collector gives
// them, else with exponential backoff — a few times; any other failure is one RecallError
// line. Spans a collector accepts the request but rejects (OTLP partial success) are counted.
// Or, with --out, the bodies as they are (not gzipped) in a file: protobuf requests one after
// another (which decode as one request, repeated fields concatenating), JSON requests one per
// line.

import { gzipSync } from 'node:zlib';
import { RecallError } from '../format/errors.js';
import type { OtlpProtocol } from './otlp-encode.js';
import type { ExportWriter } from './writer.js';

/** The OTLP/HTTP default when neither --endpoint nor the OTEL_EXPORTER_OTLP_* variables say. */
export const DEFAULT_ENDPOINT = 'http://localhost:4318';
/** Attempts per request, the first included. */
export const ATTEMPTS = 5;
const RETRYABLE = new Set([429, 502, 503, 504]);
/** Retry-After longer than this is not waited for (seconds). */
const MAX_RETRY_AFTER_S = 60;

export interface BodySink {
  /** Take a body as the walk makes it (synchronously): what is left to deliver, or null when done (written). */
  accept(body: Uint8Array): Uint8Array | null;
  /** Deliver what accept left, one request at a time. */
  deliver(prepared: Uint8Array): Promise<void>;
  /** Requests sent (or written) and their bytes as sent. */
  requests: number;
  bytes: number;
  /** Retries after a 429/5xx. */
  retries: number;
  /** Spans the collector said it rejected (OTLP partial success), and its last message about them. */
  rejected: number;
  rejectedMessage: string;
}

/**
 * A 200's ExportTraceServiceResponse: partial_success = 1 { int64 rejected_spans = 1; string
 * error_message = 2 } (collector/trace/v1/trace_service.proto), as protobuf or OTLP/JSON. An
 * empty or unreadable body is a full success.
 */
export function partialSuccess(body: Uint8Array, json: boolean): { rejected: number; message: string } {
  const none = { rejected: 0, message: '' };
  if (body.length === 0) return none;
  if (json) {
    try {
      const parsed = JSON.parse(new TextDecoder().decode(body)) as { partialSuccess?: { rejectedSpans?: unknown; errorMessage?: unknown } };
      const partial = parsed.partialSuccess;
      if (!partial) return none;
      return { rejected: Number(partial.rejectedSpans ?? 0) || 0, message: typeof partial.errorMessage === 'string' ? partial.errorMessage : '' };
    } catch {
      return none;
    }
  }
  let rejected = 0;
  let message = '';
  const read = (bytes: Uint8Array, at: number): [number, number] => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (at >= bytes.length) throw new Error('truncated');
      const b = bytes[at++] as number;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return [value, at];
      scale *= 128;
    }
  };
  // Walk a message, handing each field (number, wire type, varint value or bytes) to `field`.
  const walk = (bytes: Uint8Array, field: (n: number, value: number, data: Uint8Array | null) => void): void => {
    let at = 0;
    while (at < bytes.length) {
      let tag: number;
      [tag, at] = read(bytes, at);
      const wire = tag % 8;
      const n = Math.floor(tag / 8);
      if (wire === 0) {
        let value: number;
        [value, at] = read(bytes, at);
        field(n, value, null);
      } else if (wire === 2) {
        let size: number;
        [size, at] = read(bytes, at);
        if (at + size > bytes.length) throw new Error('truncated');
        field(n, 0, bytes.subarray(at, at + size));
        at += size;
      } else if (wire === 1) at += 8;
      else if (wire === 5) at += 4;
      else throw new Error(`wire type ${wire}`);
    }
  };
  try {
    walk(body, (n, _value, data) => {
      if (n !== 1 || data === null) return;
      walk(data, (m, value, text) => {
        if (m === 1 && text === null) rejected = value;
        else if (m === 2 && text !== null) message = new TextDecoder().decode(text);
      });
    });
  } catch {
    return none;
  }
  return { rejected, message };
}

/** The traces URL: `<endpoint>/v1/traces`, or the endpoint as is when it already ends so. */
export function tracesUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new RecallError('E_USAGE', `export: --endpoint takes a URL such as ${DEFAULT_ENDPOINT}, not '${endpoint}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RecallError('E_USAGE', `export: --endpoint takes an http or https URL, not '${endpoint}'`);
  if (/\/v1\/traces\/?$/.test(url.pathname)) return url.href;
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.href;
}

/** --endpoint, else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is), else OTEL_EXPORTER_OTLP_ENDPOINT, else the default. */
export function endpointFrom(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (option !== undefined) return tracesUrl(option);
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (traces) return tracesUrl(traces);
  return tracesUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT || DEFAULT_ENDPOINT);
}

/**
 * Extra request headers from OTEL_EXPORTER_OTLP_TRACES_HEADERS, else OTEL_EXPORTER_OTLP_HEADERS:
 * `key=value` pairs separated by commas, values percent-decoded (the OpenTelemetry SDK
 * configuration's format), for collectors that want an API key.
 */
export function headersFrom(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const name = env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ? 'OTEL_EXPORTER_OTLP_TRACES_HEADERS' : 'OTEL_EXPORTER_OTLP_HEADERS';
  const text = env[name];
  const headers: Record<string, string> = {};
  if (!text) return headers;
  for (const pair of text.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq).trim() : '';
    if (key === '') throw new RecallError('E_USAGE', `export: ${name} takes key=value pairs separated by commas, not '${pair.trim()}'`);
    let value = pair.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // kept as written
    }
    headers[key] = value;
  }
  return headers;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** How long to wait before attempt `attempt` + 1 (ms). */
function retryDelay(response: Response, attempt: number): number {
  const after = response.headers.get('retry-after');
  if (after !== null && /^\s*\d+(\.\d+)?\s*$/.test(after)) return Math.min(Number(after), MAX_RETRY_AFTER_S) * 1000;
  if (after !== null) {
    const date = Date.parse(after);
    if (!Number.isNaN(date)) return Math.min(Math.max(0, date - Date.now()), MAX_RETRY_AFTER_S * 1000);
  }
  return 500 * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5);
}

export function httpSink(url: string, protocol: OtlpProtocol, extraHeaders: Record<string, string> = {}): BodySink {
  const contentType = protocol === 'http/json' ? 'application/json' : 'application/x-protobuf';
  const headers = { ...extraHeaders, 'Content-Type': contentType, 'Content-Encoding': 'gzip' };
  const sink: BodySink = {
    requests: 0,
    bytes: 0,
    retries: 0,
    rejected: 0,
    rejectedMessage: '',
    accept: (body) => gzipSync(body),
    async deliver(compressed) {
      for (let attempt = 1; ; attempt++) {
        let response: Response;
        try {
          response = await fetch(url, { method: 'POST', headers, body: compressed });
        } catch (error) {
          const cause = (error as { cause?: { code?: string; message?: string } }).cause;
          throw new RecallError('E_SEND', `export: cannot reach the OTLP collector at ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
        }
        if (response.ok) {
          const answer = new Uint8Array(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
          const partial = partialSuccess(answer, (response.headers.get('content-type') ?? '').includes('json'));
          if (partial.rejected > 0 || partial.message !== '') {
            sink.rejected += partial.rejected;
            if (partial.message !== '') sink.rejectedMessage = oneLine(partial.message);
          }
          sink.requests++;
          sink.bytes += compressed.length;
          return;
        }
        const text = await response.text().catch(() => '');
        if (RETRYABLE.has(response.status) && attempt < ATTEMPTS) {
          sink.retries++;
          await sleep(retryDelay(response, attempt));
          continue;
        }
        const tries = RETRYABLE.has(response.status) ? ` after ${attempt} attempts` : '';
        const detail = oneLine(text);
        throw new RecallError('E_SEND', `export: the OTLP collector at ${url} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${tries}${detail ? `: ${detail}` : ''}`);
      }
    },
  };
  return sink;
}

export function fileSink(out: ExportWriter, protocol: OtlpProtocol): BodySink {
  const newline = new Uint8Array([0x0a]);
  const sink: BodySink = {
    requests: 0,
    bytes: 0,
    retries: 0,
    rejected: 0,
    rejectedMessage: '',
    accept(body) {
      out.writeBytes(body);
      if (protocol === 'http/json') out.writeBytes(newline);
      sink.requests++;
      sink.bytes = out.bytes;
      return null;
    },
    deliver: () => Promise.resolve(),
  };
  return sink;
}

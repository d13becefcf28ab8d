// OTLP request bodies: an ExportTraceServiceRequest holding one ResourceSpans (the recording's
// resource) with one ScopeSpans (scope "recall"), in the two encodings OTLP/HTTP takes —
// binary protobuf (http/protobuf) and OTLP/JSON (http/json: lowerCamelCase names, trace and
// span ids as hex, 64-bit integers as decimal strings, enums as numbers). Spans (with their
// events: an exception) are added one
// at a time and a body is taken when it grows past a size, so batches stay bounded. Field
// numbers are opentelemetry-proto's (collector/trace/v1/trace_service.proto, trace/v1/
// trace.proto, resource/v1/resource.proto, common/v1/common.proto); the tests decode the
// output with those protos.

import { RECALL_VERSION } from '../format/version.js';
import { ProtoWriter } from './protobuf.js';
import { hex, type AttributeValue, type OtlpSpan } from './otlp-spans.js';

// ExportTraceServiceRequest
const REQ_RESOURCE_SPANS = 1;
// ResourceSpans
const RS_RESOURCE = 1;
const RS_SCOPE_SPANS = 2;
// Resource
const RES_ATTRIBUTES = 1;
// ScopeSpans
const SS_SCOPE = 1;
const SS_SPANS = 2;
// InstrumentationScope
const SCOPE_NAME = 1;
const SCOPE_VERSION = 2;
// Span
const SPAN_TRACE_ID = 1;
const SPAN_SPAN_ID = 2;
const SPAN_PARENT_SPAN_ID = 4;
const SPAN_NAME = 5;
const SPAN_KIND = 6;
const SPAN_START = 7; // fixed64
const SPAN_END = 8; // fixed64
const SPAN_ATTRIBUTES = 9;
const SPAN_EVENTS = 11;
const SPAN_STATUS = 15;
// Span.Event
const EVENT_TIME = 1; // fixed64
const EVENT_NAME = 2;
const EVENT_ATTRIBUTES = 3;
// Status
const STATUS_MESSAGE = 2;
const STATUS_CODE = 3;
// KeyValue
const KV_KEY = 1;
const KV_VALUE = 2;
const WIRE_LENGTH = 2;
// AnyValue
const AV_STRING = 1;
const AV_BOOL = 2;
const AV_INT = 3;
const AV_DOUBLE = 4;

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export const SCOPE_NAME_RECALL = 'recall';

/** Collects spans into request bodies of one encoding. */
export interface BatchEncoder {
  add(span: OtlpSpan): void;
  /** Spans added since the last take. */
  readonly spans: number;
  /** Bytes of span data added since the last take (about the body's size). */
  readonly size: number;
  /** The request body of the spans added since the last take (null: none). */
  take(): Uint8Array | null;
}

export function batchEncoder(protocol: OtlpProtocol, resource: [string, AttributeValue][], traceId: Uint8Array): BatchEncoder {
  return protocol === 'http/json' ? new JsonEncoder(resource, traceId) : new ProtobufEncoder(resource, traceId);
}

class ProtobufEncoder implements BatchEncoder {
  private readonly w = new ProtoWriter();
  spans = 0;

  constructor(
    private readonly resource: [string, AttributeValue][],
    private readonly traceId: Uint8Array,
  ) {}

  get size(): number {
    return this.w.length;
  }

  /** Encoded attribute lists, by the list's identity (see OtlpSpan.attributes). */
  private readonly encoded = new WeakMap<object, Uint8Array>();
  private readonly scratch = new ProtoWriter();

  private attributes(list: readonly [string, AttributeValue][]): Uint8Array {
    let bytes = this.encoded.get(list);
    if (bytes === undefined) {
      for (const [key, value] of list) writeKeyValue(this.scratch, SPAN_ATTRIBUTES, key, value);
      bytes = this.scratch.take().slice();
      this.encoded.set(list, bytes);
    }
    return bytes;
  }

  add(span: OtlpSpan): void {
    const w = this.w;
    const attributes = this.attributes(span.attributes);
    w.message(SS_SPANS, () => {
      w.raw(SPAN_TRACE_ID, this.traceId);
      w.raw(SPAN_SPAN_ID, span.spanId);
      if (span.parentSpanId !== null) w.raw(SPAN_PARENT_SPAN_ID, span.parentSpanId);
      w.string(SPAN_NAME, span.name);
      w.uint(SPAN_KIND, span.kind);
      w.fixed64(SPAN_START, span.startUnixNs);
      w.fixed64(SPAN_END, span.endUnixNs);
      w.appendBytes(attributes);
      for (const event of span.events ?? []) {
        w.message(SPAN_EVENTS, () => {
          w.fixed64(EVENT_TIME, event.timeUnixNs);
          w.string(EVENT_NAME, event.name);
          for (const [key, value] of event.attributes) writeKeyValue(w, EVENT_ATTRIBUTES, key, value);
        });
      }
      if (span.status !== 0 || span.statusMessage !== '') {
        w.message(SPAN_STATUS, () => {
          if (span.statusMessage !== '') w.string(STATUS_MESSAGE, span.statusMessage);
          w.uint(STATUS_CODE, span.status);
        });
      }
    });
    this.spans++;
  }

  take(): Uint8Array | null {
    if (this.spans === 0) return null;
    const spans = this.w.take();
    this.spans = 0;
    // The envelope around the spans (written as ScopeSpans.spans fields already), lengths
    // first, so the spans are copied once, into the body.
    const h = new ProtoWriter();
    h.message(SS_SCOPE, () => {
      h.string(SCOPE_NAME, SCOPE_NAME_RECALL);
      h.string(SCOPE_VERSION, RECALL_VERSION);
    });
    const scope = h.take().slice();
    h.message(RS_RESOURCE, () => {
      for (const [key, value] of this.resource) writeKeyValue(h, RES_ATTRIBUTES, key, value);
    });
    const resource = h.take().slice();
    const scopeSpansSize = scope.length + spans.length;
    h.tag(RS_SCOPE_SPANS, WIRE_LENGTH);
    h.varint(scopeSpansSize);
    const scopeSpansHead = h.take().slice();
    const resourceSpansSize = resource.length + scopeSpansHead.length + scopeSpansSize;
    h.tag(REQ_RESOURCE_SPANS, WIRE_LENGTH);
    h.varint(resourceSpansSize);
    const requestHead = h.take().slice();
    const body = new Uint8Array(requestHead.length + resourceSpansSize);
    let at = 0;
    for (const part of [requestHead, resource, scopeSpansHead, scope, spans]) {
      body.set(part, at);
      at += part.length;
    }
    return body;
  }
}

function writeKeyValue(w: ProtoWriter, field: number, key: string, value: AttributeValue): void {
  w.message(field, () => {
    w.string(KV_KEY, key);
    w.message(KV_VALUE, () => {
      if (typeof value === 'string') w.string(AV_STRING, value);
      else if (typeof value === 'boolean') w.bool(AV_BOOL, value);
      else if (Number.isInteger(value) && value >= 0) w.uint(AV_INT, value);
      else w.double(AV_DOUBLE, value);
    });
  });
}

function jsonValue(value: AttributeValue): Record<string, unknown> {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Number.isInteger(value)) return { intValue: String(value) };
  return { doubleValue: value };
}

function jsonAttributes(attributes: readonly [string, AttributeValue][]): { key: string; value: Record<string, unknown> }[] {
  return attributes.map(([key, value]) => ({ key, value: jsonValue(value) }));
}

class JsonEncoder implements BatchEncoder {
  private parts: string[] = [];
  private readonly encoded = new WeakMap<object, string>();
  spans = 0;
  size = 0;
  private readonly traceId: string;

  constructor(
    private readonly resource: [string, AttributeValue][],
    traceId: Uint8Array,
  ) {
    this.traceId = hex(traceId);
  }

  add(span: OtlpSpan): void {
    const json: Record<string, unknown> = {
      traceId: this.traceId,
      spanId: hex(span.spanId),
      ...(span.parentSpanId !== null ? { parentSpanId: hex(span.parentSpanId) } : {}),
      name: span.name,
      kind: span.kind,
      startTimeUnixNano: span.startUnixNs.toString(),
      endTimeUnixNano: span.endUnixNs.toString(),
      attributes: null,
    };
    if (span.events !== undefined && span.events.length > 0) {
      json.events = span.events.map((event) => ({ timeUnixNano: event.timeUnixNs.toString(), name: event.name, attributes: jsonAttributes(event.attributes) }));
    }
    if (span.status !== 0 || span.statusMessage !== '') json.status = { ...(span.statusMessage !== '' ? { message: span.statusMessage } : {}), code: span.status };
    let attributes = this.encoded.get(span.attributes);
    if (attributes === undefined) this.encoded.set(span.attributes, (attributes = JSON.stringify(jsonAttributes(span.attributes))));
    // (A function, so `$` in a value is not a replacement pattern; the name before it is
    // escaped, so its text cannot hold the placeholder.)
    const text = JSON.stringify(json).replace('"attributes":null', () => `"attributes":${attributes}`);
    this.parts.push(text);
    this.size += text.length + 1;
    this.spans++;
  }

  take(): Uint8Array | null {
    if (this.spans === 0) return null;
    const body =
      `{"resourceSpans":[{"resource":{"attributes":${JSON.stringify(jsonAttributes(this.resource))}},` +
      `"scopeSpans":[{"scope":${JSON.stringify({ name: SCOPE_NAME_RECALL, version: RECALL_VERSION })},"spans":[${this.parts.join(',')}]}]}]}`;
    this.parts = [];
    this.spans = 0;
    this.size = 0;
    return new TextEncoder().encode(body);
  }
}

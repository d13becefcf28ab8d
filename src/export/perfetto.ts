// `recall export --format perfetto`: native Perfetto protobuf (a Trace: repeated TracePacket),
// which Perfetto's UI and trace processor load far larger than JSON. A process track, one
// thread track under it per thread, and a TYPE_SLICE_BEGIN/END pair per activation (a call, or
// its run after an await, which carries the debug annotation resumed=true), with event names
// interned per thread sequence. Field numbers are Perfetto's (protos/perfetto/trace/
// trace_packet.proto, track_event/track_event.proto, track_descriptor.proto,
// process_descriptor.proto, thread_descriptor.proto, interned_data/interned_data.proto,
// track_event/debug_annotation.proto); the tests decode the output with perfetto_trace.proto.
//
// Around the calls, on the same tracks and in time order: async causality as flows (from each
// run of a call that ends at an await to the call's next run), messages between threads as
// flows (an instant at the send with flow_ids, one at the delivery with terminating_flow_ids),
// an instant where each exception began (✗ name threw: error),
// worker starts and exits, GC, marks and catch clauses as instant events, the ends of calls
// that threw carry threw=true, and values recorded in detail windows (args, this, return,
// error) are debug annotations of their calls. HTTP and fetch spans get tracks of their own under the
// thread's ("http 1", "http 2", ...: as many lanes as were open at once, since slices on one
// track must nest).
//
// Perfetto's trace processor drops slices nested deeper than 512. Frames deeper than
// MAX_SLICE_DEPTH are not written as slices; when the stack comes back up to that depth an
// instant event on the thread's track says how many calls ran below it (name "… N calls
// deeper than 500 levels"), so deep recursion is stated, never lost silently.

import type { QueryTrace } from '../query/open.js';
import { runtimeEvents, spanLabel, type RuntimeEvent } from '../analysis/runtime-events.js';
import { indexedRuntimeRecords } from '../query/runtime-source.js';
import { describe } from '../text/events.js';
import { errorLine } from '../text/values.js';
import { threadDetailLookup } from '../analysis/detail.js';
import { renderArgs, renderValue, type ValueDesc } from '../format/values.js';
import type { DetailValue } from '../query/answers.js';
import { ProtoWriter } from './protobuf.js';
import type { ExportWriter } from './writer.js';
import { AwaitFlows, exportedThreads, inRange, onAxisOf, shiftNs, walkForExport, type ExportOptions, type ExportTotals } from './common.js';

/** A snapshot's values as debug annotations: arguments (by parameter name), this, the return
 *  value, the error; each rendered as text (recorded values are descriptions, not objects). */
function valueAnnotations(q: QueryTrace, fn: number, value: DetailValue, annotate: (name: string, value: string) => void): void {
  const body = value.body;
  const params = q.engine.functions.get(fn)?.params ?? [];
  if (Array.isArray(body.args) && body.args.length > 0) annotate('args', renderArgs(params, body.args as ValueDesc[], 400));
  if (body.this !== undefined) annotate('this', renderValue(body.this as ValueDesc, 200));
  if (body.ret !== undefined) annotate('return', renderValue(body.ret as ValueDesc, 400));
  if (body.error !== undefined) annotate('error', errorLine(body.error as ValueDesc, 400));
}

/** Runtime events written (scheduling links and detail pointers are not). */
const INSTANT_KINDS = new Set(['message-send', 'message-receive', 'worker-start', 'worker-exit', 'span-begin', 'span-end', 'gc', 'spawn', 'mark', 'note', 'catch']);

/** Slice depth written at most (Perfetto keeps 512). */
export const MAX_SLICE_DEPTH = 500;

// Field numbers.
const TRACE_PACKET = 1; // Trace.packet
const P_TIMESTAMP = 8;
const P_SEQUENCE_ID = 10; // trusted_packet_sequence_id
const P_TRACK_EVENT = 11;
const P_INTERNED_DATA = 12;
const P_SEQUENCE_FLAGS = 13;
const P_TRACK_DESCRIPTOR = 60;
const SEQ_INCREMENTAL_STATE_CLEARED = 1;
const SEQ_NEEDS_INCREMENTAL_STATE = 2;
const TD_UUID = 1;
const TD_NAME = 2;
const TD_PROCESS = 3;
const TD_THREAD = 4;
const TD_PARENT_UUID = 5;
const PD_PID = 1;
const PD_PROCESS_NAME = 6;
const THD_PID = 1;
const THD_TID = 2;
const THD_THREAD_NAME = 5;
const TE_DEBUG_ANNOTATIONS = 4;
const TE_TYPE = 9;
const TE_NAME_IID = 10;
const TE_TRACK_UUID = 11;
const TE_NAME = 23;
const TE_FLOW_IDS = 47;
const TE_TERMINATING_FLOW_IDS = 48;
const TYPE_SLICE_BEGIN = 1;
const TYPE_SLICE_END = 2;
const TYPE_INSTANT = 3;
const DA_BOOL_VALUE = 2;
const DA_UINT_VALUE = 3;
const DA_STRING_VALUE = 6;
const DA_NAME = 10;
const ID_EVENT_NAMES = 2;
const EN_IID = 1;
const EN_NAME = 2;

export function exportPerfetto(processes: readonly QueryTrace[], out: ExportWriter, wanted: ExportOptions = {}): ExportTotals {
  const root = processes[0]!;
  const timed = root.manifest.clock.mode !== 'none';
  const totals: ExportTotals = { calls: 0, events: 0, threads: 0 };
  const w = new ProtoWriter();
  const flush = (): void => {
    if (w.length >= 1 << 20) out.writeBytes(w.take());
  };
  // Track uuids and packet sequences are unique over the file; so are flow ids.
  let uuids = 0;
  const newUuid = (): number => ++uuids;
  let sequence = 0;
  let flowBase = 0;
  const awaits = new AwaitFlows();
  for (const q of processes) {
    const pid = q.manifest.pid;
    const shift = shiftNs(root, q);
    // The range on this process's own axis.
    const options = onAxisOf(wanted, shift);
    const processUuid = newUuid();
    w.message(TRACE_PACKET, () => {
      w.message(P_TRACK_DESCRIPTOR, () => {
        w.uint(TD_UUID, processUuid);
        w.message(TD_PROCESS, () => {
          w.uint(PD_PID, pid);
          w.string(PD_PROCESS_NAME, q.manifest.command.join(' ') || `pid ${pid}`);
        });
      });
    });
    // Runtime events, per thread id, in time order; message flows numbered from 1.
    const runtime = runtimeEvents(q.trace, indexedRuntimeRecords(q.engine));
    const threadNames = new Map(q.threads.map((t) => [t.id, t.name]));
    const flowOf = new Map<object, number>();
    runtime.messages.forEach((flow, i) => flowOf.set(flow, flowBase + i + 1));
    flowBase += runtime.messages.length;
    const eventsOf = new Map<number, RuntimeEvent[]>(runtime.threads.map((t) => [t.id, t.events.filter((e) => INSTANT_KINDS.has(e.kind) && inRange(e.ns, options)).sort((a, b) => a.ns - b.ns)]));
    for (const { index, info } of exportedThreads(q, options)) {
      totals.threads++;
      const sequenceId = ++sequence;
      const trackUuid = newUuid();
      const tid = info.id === 0 ? pid : pid + info.id;
      w.message(TRACE_PACKET, () => {
        w.message(P_TRACK_DESCRIPTOR, () => {
          w.uint(TD_UUID, trackUuid);
          w.uint(TD_PARENT_UUID, processUuid);
          w.string(TD_NAME, info.name || `thread ${info.id}`);
          w.message(TD_THREAD, () => {
            w.uint(THD_PID, pid);
            w.uint(THD_TID, tid);
            w.string(THD_THREAD_NAME, info.name || `thread ${info.id}`);
          });
        });
      });
      // Names are interned per sequence: iid = 1 + the order first used.
      const iids = new Map<number, number>();
      let first = true;
      let order = 0;
      let depth = 0;
      let hidden = 0;
      let hiddenCalls = 0;
      const packet = (ns: number, fill: (newName: number, iid: number) => void, fn: number): void => {
        let iid = fn < 0 ? 0 : (iids.get(fn) ?? 0);
        const fresh = fn >= 0 && iid === 0;
        if (fresh) iids.set(fn, (iid = iids.size + 1));
        w.message(TRACE_PACKET, () => {
          w.uint(P_TIMESTAMP, timed ? Math.max(0, ns + shift) : order++);
          w.uint(P_SEQUENCE_ID, sequenceId);
          w.uint(P_SEQUENCE_FLAGS, first ? SEQ_INCREMENTAL_STATE_CLEARED | SEQ_NEEDS_INCREMENTAL_STATE : SEQ_NEEDS_INCREMENTAL_STATE);
          first = false;
          if (fresh) {
            w.message(P_INTERNED_DATA, () => {
              w.message(ID_EVENT_NAMES, () => {
                w.uint(EN_IID, iid);
                w.string(EN_NAME, q.engine.nameOf(fn));
              });
            });
          }
          w.message(P_TRACK_EVENT, () => fill(fresh ? 1 : 0, iid));
        });
        totals.events++;
        flush();
      };
      // Spans on lane tracks under the thread's; instants (and flows) on the thread's track.
      const lanes: { uuid: number; freeAt: number }[] = [];
      const laneOf = new Map<number, number>(); // span serial -> lane track uuid
      const openSpans = new Set<number>();
      let lastNs = 0;
      const pending = eventsOf.get(info.id) ?? [];
      let next = 0;
      const runtimeUpTo = (ns: number): void => {
        while (next < pending.length && (pending[next] as RuntimeEvent).ns <= ns) runtimeEvent(pending[next++] as RuntimeEvent);
      };
      const runtimeEvent = (e: RuntimeEvent): void => {
        if (e.ns > lastNs) lastNs = e.ns;
        if ((e.kind === 'span-begin' || e.kind === 'span-end') && e.span) {
          const span = e.span;
          if (e.kind === 'span-begin') {
            let lane = lanes.find((l) => l.freeAt <= e.ns);
            if (!lane) {
              lane = { uuid: newUuid(), freeAt: 0 };
              lanes.push(lane);
              const laneUuid = lane.uuid;
              const name = `${span.kind} ${lanes.length}`;
              w.message(TRACE_PACKET, () => {
                w.message(P_TRACK_DESCRIPTOR, () => {
                  w.uint(TD_UUID, laneUuid);
                  w.uint(TD_PARENT_UUID, trackUuid);
                  w.string(TD_NAME, name);
                });
              });
            }
            lane.freeAt = span.endNs ?? Number.POSITIVE_INFINITY;
            laneOf.set(span.serial, lane.uuid);
            openSpans.add(span.serial);
            const uuid = lane.uuid;
            packet(e.ns, () => {
              w.uint(TE_TYPE, TYPE_SLICE_BEGIN);
              w.uint(TE_TRACK_UUID, uuid);
              w.string(TE_NAME, spanLabel({ kind: span.kind, method: span.method ?? undefined, url: span.url ?? undefined, host: span.host ?? undefined }));
            }, -1);
          } else {
            const uuid = laneOf.get(span.serial);
            if (uuid === undefined) return;
            openSpans.delete(span.serial);
            lastNs = e.ns;
            packet(e.ns, () => {
              w.uint(TE_TYPE, TYPE_SLICE_END);
              w.uint(TE_TRACK_UUID, uuid);
              if (span.status !== null) annotate('status', span.status);
              if (span.error !== null) annotate('error', span.error);
            }, -1);
          }
          return;
        }
        const flow = e.message ? flowOf.get(e.message) : undefined;
        packet(e.ns, () => {
          w.uint(TE_TYPE, TYPE_INSTANT);
          w.uint(TE_TRACK_UUID, trackUuid);
          w.string(TE_NAME, `${e.kind} ${describe(e, threadNames, timed)}`.trim());
          if (flow !== undefined) w.fixed64(e.kind === 'message-send' ? TE_FLOW_IDS : TE_TERMINATING_FLOW_IDS, flow);
        }, -1);
      };
      const annotate = (name: string, value: string | number | boolean): void => {
        w.message(TE_DEBUG_ANNOTATIONS, () => {
          w.string(DA_NAME, name);
          if (typeof value === 'boolean') w.bool(DA_BOOL_VALUE, value);
          else if (typeof value === 'number') w.uint(DA_UINT_VALUE, value);
          else w.string(DA_STRING_VALUE, value);
        });
      };
      // Values recorded in detail windows become debug annotations of the call's END (Perfetto
      // merges a slice's BEGIN and END arguments). A snapshot taken while a call is on top
      // (its arguments at entry, a catch) belongs to it; one taken at a call's end (its
      // return value, the error it threw) comes right after its close, so the last END waits
      // for the next event before it is written.
      const detail = threadDetailLookup(q.trace, q.trace.threads[index]!);
      const valuesOpen: DetailValue[][] = [];
      interface End {
        ns: number;
        how: string;
        values: DetailValue[];
        fn: number;
        /** The flow from this run's await to the call's next run. */
        flow: number;
        /** The innermost frame of a throw: where the exception began (an instant says so). */
        origin: boolean;
      }
      let pendingEnd: End | null = null;
      let lastClose = '';
      const writeEnd = (end: End): void => {
        if (end.origin) {
          const error = end.values.find((v) => v.body.error !== undefined)?.body.error;
          const name = `✗ ${q.engine.nameOf(end.fn)} threw${error !== undefined ? `: ${errorLine(error as ValueDesc, 200)}` : ''}`;
          packet(end.ns, () => {
            w.uint(TE_TYPE, TYPE_INSTANT);
            w.uint(TE_TRACK_UUID, trackUuid);
            w.string(TE_NAME, name);
          }, -1);
        }
        packet(end.ns, () => {
          w.uint(TE_TYPE, TYPE_SLICE_END);
          w.uint(TE_TRACK_UUID, trackUuid);
          if (end.how === 'throw') annotate('threw', true);
          else if (end.how !== 'return' && end.how !== 'await') annotate('end', end.how);
          for (const v of end.values) valueAnnotations(q, end.fn, v, annotate);
          if (end.flow > 0) w.fixed64(TE_FLOW_IDS, end.flow);
        }, -1);
      };
      // Async causality: a flow from each run that ends at an await to the call's next run.
      awaits.thread();
      const settle = (): void => {
        if (pendingEnd) writeEnd(pendingEnd);
        pendingEnd = null;
      };
      walkForExport(q, index, {
        detail(serial) {
          const value = detail.get(serial);
          if (!value || depth > MAX_SLICE_DEPTH) return;
          const fn = Number(value.body.fn ?? -1);
          if (pendingEnd && pendingEnd.fn === fn && (value.body.k === 'call' || value.body.k === 'slow' || value.body.k === 'throw')) pendingEnd.values.push(value);
          else valuesOpen[valuesOpen.length - 1]?.push(value);
        },
        open(fn, call, ns, how) {
          settle();
          lastClose = '';
          const resumedFlow = awaits.resumed(call, how);
          runtimeUpTo(ns);
          if (ns > lastNs) lastNs = ns;
          if (how === 'enter') totals.calls++;
          depth++;
          if (depth > MAX_SLICE_DEPTH) {
            hidden++;
            if (how === 'enter') hiddenCalls++;
            return;
          }
          valuesOpen.push([]);
          packet(ns, (_fresh, iid) => {
            w.uint(TE_TYPE, TYPE_SLICE_BEGIN);
            w.uint(TE_TRACK_UUID, trackUuid);
            w.uint(TE_NAME_IID, iid);
            if (how === 'resume') {
              w.message(TE_DEBUG_ANNOTATIONS, () => {
                w.string(DA_NAME, 'resumed');
                w.bool(DA_BOOL_VALUE, true);
              });
            }
            if (resumedFlow) w.fixed64(TE_TERMINATING_FLOW_IDS, resumedFlow);
          }, fn);
        },
        close(fn, call, ns, how) {
          settle();
          runtimeUpTo(ns);
          if (ns > lastNs) lastNs = ns;
          depth--;
          if (depth >= MAX_SLICE_DEPTH) {
            if (depth === MAX_SLICE_DEPTH && hidden > 0) {
              const calls = hiddenCalls;
              packet(ns, () => {
                w.uint(TE_TYPE, TYPE_INSTANT);
                w.uint(TE_TRACK_UUID, trackUuid);
                w.string(TE_NAME, `… ${calls} calls deeper than ${MAX_SLICE_DEPTH} levels (not written as slices: Perfetto keeps 512)`);
                w.message(TE_DEBUG_ANNOTATIONS, () => {
                  w.string(DA_NAME, 'calls');
                  w.uint(DA_UINT_VALUE, calls);
                });
              }, -1);
              hidden = 0;
              hiddenCalls = 0;
            }
            return;
          }
          let flow = 0;
          if (how === 'await') flow = awaits.suspended(call);
          pendingEnd = { ns, how, values: valuesOpen.pop() ?? [], fn, flow, origin: how === 'throw' && lastClose !== 'throw' };
          lastClose = how;
        },
      }, options, totals);
      settle();
      runtimeUpTo(Number.POSITIVE_INFINITY);
      // Spans still open at the end (of the trace, or of the range asked for) end there.
      for (const serial of openSpans) {
        const uuid = laneOf.get(serial)!;
        packet(Math.min(options.toNs ?? lastNs, Math.max(lastNs, 0)), () => {
          w.uint(TE_TYPE, TYPE_SLICE_END);
          w.uint(TE_TRACK_UUID, uuid);
          annotate('end', 'unfinished');
        }, -1);
      }
    }
  }
  out.writeBytes(w.take());
  return totals;
}

// The query index file (index.recall-idx beside the trace's files): its binary form, encoded
// and decoded from bytes. Layout: a 16-byte preamble (magic "RCQI", version, JSON length,
// checksum of the JSON header), a JSON header padded to 8 bytes, then the threads' typed arrays,
// each 8-aligned, named in the header by offset, length and checksum. Every thread's small
// arrays come first (the eager part, read and verified when the index is opened); then, per
// thread, two lazy groups: its per-segment function rows (LAZY_GROUPS.fn) and its folded
// callees of long calls (LAZY_GROUPS.k), most of the file, read and verified on first use (a
// view that never asks about a function's calls or a call's callees never reads them; on this
// machine reading and verifying 36 MB cost ~0.2 s of every CLI view on the tsc trace). The
// header names the files the index was built from with their sizes and modification times: a
// change to any of them makes the index stale. Decoding never throws: bad bytes give null (the
// caller rebuilds); a lazy group that turns out damaged throws E_INDEX_DAMAGED when it is used.
// No Node-only imports.

import { checksumInit, checksumWords4 } from '../format/checksum.js';
import { isRecallError, RecallError } from '../format/errors.js';
import type { ThreadFileFindings } from '../analysis/trace.js';
import type { ThreadIndex } from './thread-index.js';

export const INDEX_MAGIC = 0x49514352; // "RCQI" little-endian
/** Bumped whenever the index's content or layout changes: an older index is rebuilt. */
export const INDEX_VERSION = 6;
const PREAMBLE = 16;

/** A file the index was built from, as it was then. */
export interface IndexSource {
  file: string;
  /** -1: the file could not be read. */
  size: number;
  mtimeMs: number;
}

/** What reading a thread file found, kept for openTrace-style problem lines. */
export interface StoredFindings extends ThreadFileFindings {
  /** The file could not be read at all: this error code. */
  unreadable?: string;
}

export interface StoredThread {
  findings: StoredFindings;
  /** Null when the file held no index-lane records to index. */
  index: ThreadIndex | null;
}

export interface IndexContents {
  segmentRecords: number;
  sources: IndexSource[];
  threads: StoredThread[];
}

type ArrayName = Exclude<
  { [K in keyof ThreadIndex]: ThreadIndex[K] extends Float64Array | Uint32Array | Uint8Array ? K : never }[keyof ThreadIndex],
  undefined
>;

const ARRAYS: readonly ArrayName[] = [
  'chunkPayload',
  'chunkCount',
  'chunkFirst',
  'segTime',
  'cpStart',
  'cpDepth',
  'cpRows',
  'cpFn',
  'fnStart',
  'fnId',
  'fnEnters',
  'fnThrows',
  'fnMax',
  'xCall',
  'xFn',
  'xSerial',
  'xEnterTime',
  'xExitPos',
  'xExitTime',
  'xTotal',
  'xSelf',
  'xOutcome',
  'xFlags',
  'xHops',
  'kStart',
  'kParent',
  'kFn',
  'kCalls',
  'kTotal',
  'kSelf',
  'kThrows',
  'evPos',
  'evType',
  'evAux',
  'evTime',
];
const TOTALS = ['fn', 'calls', 'total', 'self', 'throws', 'unfinished', 'estimated', 'estimate'] as const;

/** The arrays read on first use, by group (a group is contiguous in the file and read at once). */
export const LAZY_GROUPS = {
  fn: ['fnId', 'fnEnters', 'fnThrows', 'fnMax'],
  k: ['kParent', 'kFn', 'kCalls', 'kTotal', 'kSelf', 'kThrows'],
} as const satisfies Record<string, readonly ArrayName[]>;
type GroupName = keyof typeof LAZY_GROUPS;
const GROUP_NAMES = Object.keys(LAZY_GROUPS) as GroupName[];
const LAZY = new Set<string>(GROUP_NAMES.flatMap((g) => LAZY_GROUPS[g]));
const EAGER = ARRAYS.filter((name) => !LAZY.has(name));

/** Reads bytes [at, at + length) of the index file (8-aligned); null when they cannot be read as they were. */
export type RangeReader = (at: number, length: number) => Uint8Array | null;

type Kind = 'f64' | 'u32' | 'u8';
type Typed = Float64Array | Uint32Array | Uint8Array;

function kindOf(array: Typed): Kind {
  return array instanceof Float64Array ? 'f64' : array instanceof Uint32Array ? 'u32' : 'u8';
}

const BYTES: Record<Kind, number> = { f64: 8, u32: 4, u8: 1 };

/** An array in the file: its kind, byte offset from the body's start, length and checksum. */
type ArraySpec = [Kind, number, number, number];

interface HeaderThread {
  findings: StoredFindings;
  index: (Omit<ThreadIndex, ArrayName | 'totals'> & { arrays: Record<string, ArraySpec> }) | null;
}

interface Header {
  version: number;
  segmentRecords: number;
  sources: IndexSource[];
  threads: HeaderThread[];
  /** Bytes of the body: the eager part, then everything. */
  eagerBytes: number;
  bodyBytes: number;
}

const align8 = (n: number): number => (n + 7) & ~7;

export function encodeIndex(contents: IndexContents): Uint8Array {
  const pieces: { array: Typed; offset: number }[] = [];
  let body = 0;
  const place = (array: Typed): ArraySpec => {
    const offset = body;
    pieces.push({ array, offset });
    body = align8(body + array.byteLength);
    return [kindOf(array), offset, array.length, checksumOf(array)];
  };
  const specs = contents.threads.map(() => ({}) as Record<string, ArraySpec>);
  // Every thread's eager arrays, then each thread's lazy groups.
  contents.threads.forEach(({ index }, t) => {
    if (index === null) return;
    for (const name of EAGER) (specs[t] as Record<string, ArraySpec>)[name] = place(index[name]);
    for (const name of TOTALS) (specs[t] as Record<string, ArraySpec>)[`totals.${name}`] = place(index.totals[name]);
  });
  const eagerBytes = body;
  contents.threads.forEach(({ index }, t) => {
    if (index === null) return;
    for (const group of GROUP_NAMES) for (const name of LAZY_GROUPS[group]) (specs[t] as Record<string, ArraySpec>)[name] = place(index[name]);
  });
  const threads: HeaderThread[] = contents.threads.map(({ findings, index }, t) => {
    if (index === null) return { findings, index: null };
    const { file, threadId, name, timeOriginMs, records, firstTime, lastTime, maxDepth, droppedFromMarkers, problems, folds, scheduling } = index;
    return { findings, index: { file, threadId, name, timeOriginMs, records, firstTime, lastTime, maxDepth, droppedFromMarkers, problems, folds, scheduling, arrays: specs[t] as Record<string, ArraySpec> } };
  });
  const header: Header = { version: INDEX_VERSION, segmentRecords: contents.segmentRecords, sources: contents.sources, threads, eagerBytes, bodyBytes: body };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const jsonPadded = align8(json.length);
  const out = new Uint8Array(PREAMBLE + jsonPadded + body);
  out.fill(0x20, PREAMBLE + json.length, PREAMBLE + jsonPadded);
  out.set(json, PREAMBLE);
  const bodyAt = PREAMBLE + jsonPadded;
  for (const { array, offset } of pieces) out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), bodyAt + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, INDEX_MAGIC, true);
  view.setUint32(4, INDEX_VERSION, true);
  view.setUint32(8, jsonPadded, true);
  view.setUint32(12, checksumWords4(checksumInit(), new Uint32Array(out.buffer, PREAMBLE, jsonPadded >> 2)), true);
  return out;
}

/** An array's checksum: over its bytes as 32-bit words (zero-padded to a whole word). */
function checksumOf(array: Typed): number {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  if ((array.byteOffset & 3) === 0 && (array.byteLength & 3) === 0) return checksumWords4(checksumInit(), new Uint32Array(array.buffer, array.byteOffset, array.byteLength >> 2));
  const padded = new Uint8Array((array.byteLength + 3) & ~3);
  padded.set(bytes);
  return checksumWords4(checksumInit(), new Uint32Array(padded.buffer));
}

/** Bytes of the preamble and JSON header, from the preamble (null: not an index of this version). */
export function indexHeaderBytes(preamble: Uint8Array): number | null {
  if (preamble.byteLength < PREAMBLE) return null;
  const view = new DataView(preamble.buffer, preamble.byteOffset, PREAMBLE);
  if (view.getUint32(0, true) !== INDEX_MAGIC || view.getUint32(4, true) !== INDEX_VERSION) return null;
  const jsonBytes = view.getUint32(8, true);
  return (jsonBytes & 7) === 0 ? PREAMBLE + jsonBytes : null;
}

/** Where the eager part ends and the whole file ends (bytes from the file's start), from its header. */
export function indexExtent(bytes: Uint8Array): { eagerEnd: number; end: number } | null {
  const header = readHeader(bytes);
  if (header === null) return null;
  const bodyAt = PREAMBLE + new DataView(bytes.buffer, bytes.byteOffset, PREAMBLE).getUint32(8, true);
  return { eagerEnd: bodyAt + header.eagerBytes, end: bodyAt + header.bodyBytes };
}

/**
 * Whether a question that failed with `error` on its `attempt`-th try (0 first) is asked again
 * with its traces opened anew: after E_INDEX_DAMAGED (a lazy group found damaged, its file
 * deleted by then, so the open rebuilds it), at most twice (a file changed since it was opened
 * is deleted only at the second try). The MCP tools and the viewer's API both follow it.
 */
export function reopenAfterIndexDamage(error: unknown, attempt: number): boolean {
  return isRecallError(error) && error.code === 'E_INDEX_DAMAGED' && attempt < 2;
}

/** The preamble and header only (to judge staleness before reading the arrays); null if unreadable. */
export function decodeIndexHeader(bytes: Uint8Array): { segmentRecords: number; sources: IndexSource[] } | null {
  const header = readHeader(bytes);
  return header === null ? null : { segmentRecords: header.segmentRecords, sources: header.sources };
}

function readHeader(bytes: Uint8Array): Header | null {
  if (bytes.byteLength < PREAMBLE || (bytes.byteOffset & 7) !== 0) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== INDEX_MAGIC || view.getUint32(4, true) !== INDEX_VERSION) return null;
  const jsonBytes = view.getUint32(8, true);
  if ((jsonBytes & 7) !== 0 || PREAMBLE + jsonBytes > bytes.byteLength) return null;
  if (checksumWords4(checksumInit(), new Uint32Array(bytes.buffer, bytes.byteOffset + PREAMBLE, jsonBytes >> 2)) !== view.getUint32(12, true)) return null;
  try {
    const header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREAMBLE, PREAMBLE + jsonBytes))) as Header;
    if (typeof header !== 'object' || header === null || header.version !== INDEX_VERSION) return null;
    if (!Number.isInteger(header.segmentRecords) || header.segmentRecords <= 0 || !Array.isArray(header.sources) || !Array.isArray(header.threads)) return null;
    if (!Number.isInteger(header.eagerBytes) || !Number.isInteger(header.bodyBytes) || header.eagerBytes < 0 || header.bodyBytes < header.eagerBytes) return null;
    return header;
  } catch {
    return null;
  }
}

/**
 * The index from `bytes`, which hold at least its eager part (indexExtent): the header and the
 * eager arrays verified and bounds-checked, null if anything is off. Its arrays view `bytes`.
 * The lazy groups are views of `bytes` too when it holds them; else they are read through
 * `readRange` on first use. A lazy group is verified when it is first used: if it is damaged
 * (or cannot be read), that use throws E_INDEX_DAMAGED, after `onDamage` (which can delete the
 * file, so the next open rebuilds it).
 */
export function decodeIndex(bytes: Uint8Array, readRange: RangeReader | null = null, onDamage: () => void = () => {}): IndexContents | null {
  const header = readHeader(bytes);
  if (header === null) return null;
  const bodyAt = PREAMBLE + new DataView(bytes.buffer, bytes.byteOffset, PREAMBLE).getUint32(8, true);
  if (bytes.byteLength < bodyAt + header.eagerBytes) return null;
  const whole = bytes.byteLength >= bodyAt + header.bodyBytes;
  if (!whole && readRange === null) return null;
  /** The array a spec names, viewing `from` (whose byte 0 is the file's byte `base`); null if the spec is off. */
  const arrayOf = (spec: ArraySpec | undefined, from: Uint8Array, base: number, verify: boolean): Typed | null => {
    if (!Array.isArray(spec)) return null;
    const [kind, offset, length, checksum] = spec;
    if (!(kind in BYTES) || !Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || (offset & 7) !== 0) return null;
    const at = bodyAt + offset - base;
    if (at < 0 || at + length * BYTES[kind] > from.byteLength) return null;
    const start = from.byteOffset + at;
    // Views of the file's bytes (8-aligned), not copies: the arrays are nearly all of the file.
    const array = kind === 'f64' ? new Float64Array(from.buffer, start, length) : kind === 'u32' ? new Uint32Array(from.buffer, start, length) : new Uint8Array(from.buffer, start, length);
    if (verify && checksumOf(array) !== checksum) return null;
    return array;
  };
  /** A lazy array's length from its spec alone (-1 if the spec is off): the eager checks use it. */
  const lengthOf = (spec: ArraySpec | undefined, name: ArrayName): number => {
    if (!Array.isArray(spec) || spec[0] !== expectedKind(name) || !Number.isInteger(spec[1]) || !Number.isInteger(spec[2]) || spec[1] < header.eagerBytes || (spec[1] & 7) !== 0) return -1;
    return spec[1] + spec[2] * BYTES[spec[0]] <= header.bodyBytes ? spec[2] : -1;
  };
  const threads: StoredThread[] = [];
  for (const thread of header.threads) {
    if (typeof thread !== 'object' || thread === null || typeof thread.findings !== 'object') return null;
    if (thread.index === null) {
      threads.push({ findings: thread.findings, index: null });
      continue;
    }
    const { arrays, ...rest } = thread.index;
    if (typeof arrays !== 'object' || arrays === null) return null;
    const partial: Record<string, Typed> = {};
    for (const name of EAGER) {
      const array = arrayOf(arrays[name], bytes, 0, true);
      if (array === null || kindOf(array) !== expectedKind(name)) return null;
      partial[name] = array;
    }
    const totals: Record<string, Typed> = {};
    for (const name of TOTALS) {
      const array = arrayOf(arrays[`totals.${name}`], bytes, 0, true);
      if (array === null || kindOf(array) !== (name === 'fn' ? 'u32' : 'f64')) return null;
      totals[name] = array;
    }
    const lengths: Record<string, number> = {};
    for (const name of LAZY) {
      const length = lengthOf(arrays[name], name as ArrayName);
      if (length < 0) return null;
      lengths[name] = length;
    }
    const index = { ...rest, ...partial, totals } as unknown as ThreadIndex;
    if (!consistent(index, lengths, header.segmentRecords)) return null;
    for (const group of GROUP_NAMES) {
      const names = LAZY_GROUPS[group];
      const load = (): void => {
        // The group's bytes: from `bytes` when it holds them, else one read of its range.
        const first = Math.min(...names.map((name) => (arrays[name] as ArraySpec)[1]));
        const last = Math.max(...names.map((name) => (arrays[name] as ArraySpec)[1] + (arrays[name] as ArraySpec)[2] * BYTES[(arrays[name] as ArraySpec)[0]]));
        const from = whole ? bytes : readRange?.(bodyAt + first, last - first) ?? null;
        const base = whole ? 0 : bodyAt + first;
        const loaded: Record<string, Typed> = {};
        let ok = from !== null;
        for (const name of names) {
          const array = from === null ? null : arrayOf(arrays[name], from, base, true);
          if (array === null) ok = false;
          else loaded[name] = array;
        }
        if (ok && !groupConsistent(group, index, loaded)) ok = false;
        if (!ok) {
          onDamage();
          throw new RecallError('E_INDEX_DAMAGED', `the query index of this trace is damaged or changed since it was opened (its ${group === 'fn' ? 'function rows' : 'folded callees'}): open the trace again, and the index is rebuilt`);
        }
        for (const name of names) Object.defineProperty(index, name, { value: loaded[name], writable: true, enumerable: true, configurable: true });
      };
      for (const name of names) {
        Object.defineProperty(index, name, {
          get() {
            load();
            return (index as unknown as Record<string, Typed>)[name];
          },
          set(value: Typed) {
            Object.defineProperty(index, name, { value, writable: true, enumerable: true, configurable: true });
          },
          enumerable: true,
          configurable: true,
        });
      }
    }
    threads.push({ findings: thread.findings, index });
  }
  return { segmentRecords: header.segmentRecords, sources: header.sources, threads };
}

function expectedKind(name: ArrayName): Kind {
  switch (name) {
    case 'chunkPayload':
    case 'chunkFirst':
    case 'segTime':
    case 'fnMax':
    case 'xCall':
    case 'xEnterTime':
    case 'xExitPos':
    case 'xExitTime':
    case 'xTotal':
    case 'xSelf':
    case 'kTotal':
    case 'kSelf':
    case 'evPos':
    case 'evTime':
      return 'f64';
    case 'xOutcome':
    case 'xFlags':
    case 'evType':
      return 'u8';
    default:
      return 'u32';
  }
}

/** The eager arrays agree with each other and with the lazy ones' lengths, so lookups stay in bounds. */
function consistent(index: ThreadIndex, lazy: Record<string, number>, segmentRecords: number): boolean {
  const segments = index.segTime.length;
  if (typeof index.records !== 'number' || typeof index.file !== 'string' || !Array.isArray(index.problems)) return false;
  if (segments !== Math.ceil(index.records / segmentRecords)) return false;
  if (index.cpStart.length !== segments + 1 || index.cpDepth.length !== segments || index.fnStart.length !== segments + 1) return false;
  if (index.chunkCount.length !== index.chunkPayload.length || index.chunkFirst.length !== index.chunkPayload.length) return false;
  const rows = index.xCall.length;
  for (const column of [index.xFn, index.xSerial, index.xEnterTime, index.xExitPos, index.xExitTime, index.xTotal, index.xSelf, index.xOutcome, index.xFlags, index.xHops]) {
    if (column.length !== rows) return false;
  }
  const folded = lazy.kFn as number;
  if (index.kStart.length !== rows + 1 || index.kStart[rows] !== folded) return false;
  for (let r = 0; r < rows; r++) if ((index.kStart[r] as number) > (index.kStart[r + 1] as number)) return false;
  if (typeof index.folds !== 'boolean') return false;
  for (const name of LAZY_GROUPS.k) if (lazy[name] !== folded) return false;
  const fnRows = lazy.fnId as number;
  for (const name of LAZY_GROUPS.fn) if (lazy[name] !== fnRows) return false;
  if (index.cpStart[segments] !== index.cpRows.length || index.fnStart[segments] !== fnRows) return false;
  for (let s = 0; s < segments; s++) {
    if ((index.cpStart[s] as number) > (index.cpStart[s + 1] as number) || (index.fnStart[s] as number) > (index.fnStart[s + 1] as number)) return false;
    if ((index.cpDepth[s] as number) > (index.cpStart[s + 1] as number) - (index.cpStart[s] as number)) return false;
  }
  if (index.cpFn.length !== index.cpRows.length) return false;
  const events = index.evPos.length;
  if (index.evType.length !== events || index.evAux.length !== events || index.evTime.length !== events) return false;
  const tally = index.scheduling as unknown as Record<string, unknown> | undefined;
  if (typeof tally !== 'object' || tally === null || !['scheduled', 'runs', 'neverRan', 'unmatched', 'unfinished'].every((k) => typeof tally[k] === 'number')) return false;
  for (let i = 0; i < index.cpRows.length; i++) if ((index.cpRows[i] as number) >= rows) return false;
  const totals = index.totals;
  const n = totals.fn.length;
  return totals.calls.length === n && totals.total.length === n && totals.self.length === n && totals.throws.length === n && totals.unfinished.length === n && totals.estimated.length === n && totals.estimate.length === n;
}

/** A lazy group's arrays agree with the eager ones (their lengths were checked from the header). */
function groupConsistent(group: GroupName, index: ThreadIndex, loaded: Record<string, Typed>): boolean {
  if (group !== 'k') return true;
  const kParent = loaded.kParent as Uint32Array;
  const rows = index.xCall.length;
  for (let r = 0; r < rows; r++) {
    for (let k = index.kStart[r] as number; k < (index.kStart[r + 1] as number); k++) {
      const parent = kParent[k] as number;
      if (parent !== 0xffffffff && (parent < (index.kStart[r] as number) || parent >= k)) return false;
    }
  }
  return true;
}

// The query index file (index.recall-idx beside the trace's files): its binary form, encoded
// and decoded from bytes. Layout: a 16-byte preamble (magic "RCQI", version, JSON length,
// checksum of everything after the preamble), a JSON header padded to 8 bytes, then the
// threads' typed arrays, each 8-aligned, named in the header by offset and length. The header
// names the files the index was built from with their sizes and modification times: a change
// to any of them makes the index stale. Decoding never throws: bad bytes give null (the caller
// rebuilds). No Node-only imports.

import { checksumInit, checksumWords4 } from '../format/checksum.js';
import type { ThreadFileFindings } from '../analysis/trace.js';
import type { ThreadIndex } from './thread-index.js';

export const INDEX_MAGIC = 0x49514352; // "RCQI" little-endian
/** Bumped whenever the index's content or layout changes: an older index is rebuilt. */
export const INDEX_VERSION = 5;
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

type Kind = 'f64' | 'u32' | 'u8';
type Typed = Float64Array | Uint32Array | Uint8Array;

function kindOf(array: Typed): Kind {
  return array instanceof Float64Array ? 'f64' : array instanceof Uint32Array ? 'u32' : 'u8';
}

const BYTES: Record<Kind, number> = { f64: 8, u32: 4, u8: 1 };

interface HeaderThread {
  findings: StoredFindings;
  index: (Omit<ThreadIndex, ArrayName | 'totals'> & { arrays: Record<string, [Kind, number, number]> }) | null;
}

interface Header {
  version: number;
  segmentRecords: number;
  sources: IndexSource[];
  threads: HeaderThread[];
}

const align8 = (n: number): number => (n + 7) & ~7;

export function encodeIndex(contents: IndexContents): Uint8Array {
  const pieces: { array: Typed; offset: number }[] = [];
  let body = 0;
  const place = (array: Typed): [Kind, number, number] => {
    const offset = body;
    pieces.push({ array, offset });
    body = align8(body + array.byteLength);
    return [kindOf(array), offset, array.length];
  };
  const threads: HeaderThread[] = contents.threads.map(({ findings, index }) => {
    if (index === null) return { findings, index: null };
    const arrays: Record<string, [Kind, number, number]> = {};
    for (const name of ARRAYS) arrays[name] = place(index[name]);
    for (const name of TOTALS) arrays[`totals.${name}`] = place(index.totals[name]);
    const { file, threadId, name, timeOriginMs, records, firstTime, lastTime, maxDepth, droppedFromMarkers, problems, folds, scheduling } = index;
    return { findings, index: { file, threadId, name, timeOriginMs, records, firstTime, lastTime, maxDepth, droppedFromMarkers, problems, folds, scheduling, arrays } };
  });
  const header: Header = { version: INDEX_VERSION, segmentRecords: contents.segmentRecords, sources: contents.sources, threads };
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
  view.setUint32(12, checksumWords4(checksumInit(), new Uint32Array(out.buffer, PREAMBLE, (out.byteLength - PREAMBLE) >> 2)), true);
  return out;
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
  try {
    const header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREAMBLE, PREAMBLE + jsonBytes))) as Header;
    if (typeof header !== 'object' || header === null || header.version !== INDEX_VERSION) return null;
    if (!Number.isInteger(header.segmentRecords) || header.segmentRecords <= 0 || !Array.isArray(header.sources) || !Array.isArray(header.threads)) return null;
    return header;
  } catch {
    return null;
  }
}

/** The whole index, checksum verified and every array bounds-checked; null if anything is off. Its arrays view `bytes`. */
export function decodeIndex(bytes: Uint8Array): IndexContents | null {
  const header = readHeader(bytes);
  if (header === null || (bytes.byteLength & 3) !== 0) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset + PREAMBLE, (bytes.byteLength - PREAMBLE) >> 2);
  if (checksumWords4(checksumInit(), words) !== view.getUint32(12, true)) return null;
  const bodyAt = PREAMBLE + view.getUint32(8, true);
  const arrayOf = (spec: [Kind, number, number] | undefined): Typed | null => {
    if (!Array.isArray(spec)) return null;
    const [kind, offset, length] = spec;
    if (!(kind in BYTES) || !Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || (offset & 7) !== 0) return null;
    const at = bodyAt + offset;
    if (at + length * BYTES[kind] > bytes.byteLength) return null;
    const start = bytes.byteOffset + at;
    // Views of the file's bytes (8-aligned: decodeIndex is given 8-aligned bytes), not copies:
    // the arrays are nearly all of the file.
    if (kind === 'f64') return new Float64Array(bytes.buffer, start, length);
    if (kind === 'u32') return new Uint32Array(bytes.buffer, start, length);
    return new Uint8Array(bytes.buffer, start, length);
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
    for (const name of ARRAYS) {
      const array = arrayOf(arrays[name]);
      if (array === null || kindOf(array) !== expectedKind(name)) return null;
      partial[name] = array;
    }
    const totals: Record<string, Typed> = {};
    for (const name of TOTALS) {
      const array = arrayOf(arrays[`totals.${name}`]);
      if (array === null || kindOf(array) !== (name === 'fn' ? 'u32' : 'f64')) return null;
      totals[name] = array;
    }
    const index = { ...rest, ...partial, totals } as unknown as ThreadIndex;
    if (!consistent(index, header.segmentRecords)) return null;
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

/** The arrays agree with each other, so lookups stay in bounds. */
function consistent(index: ThreadIndex, segmentRecords: number): boolean {
  const segments = index.segTime.length;
  if (typeof index.records !== 'number' || typeof index.file !== 'string' || !Array.isArray(index.problems)) return false;
  if (segments !== Math.ceil(index.records / segmentRecords)) return false;
  if (index.cpStart.length !== segments + 1 || index.cpDepth.length !== segments || index.fnStart.length !== segments + 1) return false;
  if (index.chunkCount.length !== index.chunkPayload.length || index.chunkFirst.length !== index.chunkPayload.length) return false;
  const rows = index.xCall.length;
  for (const column of [index.xFn, index.xSerial, index.xEnterTime, index.xExitPos, index.xExitTime, index.xTotal, index.xSelf, index.xOutcome, index.xFlags, index.xHops]) {
    if (column.length !== rows) return false;
  }
  if (index.kStart.length !== rows + 1 || index.kStart[rows] !== index.kFn.length) return false;
  for (let r = 0; r < rows; r++) if ((index.kStart[r] as number) > (index.kStart[r + 1] as number)) return false;
  const folded = index.kFn.length;
  if (typeof index.folds !== 'boolean' || index.kParent.length !== folded) return false;
  for (let r = 0; r < rows; r++) {
    for (let k = index.kStart[r] as number; k < (index.kStart[r + 1] as number); k++) {
      const parent = index.kParent[k] as number;
      if (parent !== 0xffffffff && (parent < (index.kStart[r] as number) || parent >= k)) return false;
    }
  }
  if (index.kCalls.length !== folded || index.kTotal.length !== folded || index.kSelf.length !== folded || index.kThrows.length !== folded) return false;
  const fnRows = index.fnId.length;
  if (index.fnEnters.length !== fnRows || index.fnThrows.length !== fnRows || index.fnMax.length !== fnRows) return false;
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

// Keeps Error.stack in instrumented code identical to an untraced run. The probes shift columns
// on lines where they are inserted; this maps each stack frame of an instrumented file back
// through the inline source map recall wrote (module.findSourceMap, which --enable-source-maps
// provides) and otherwise formats exactly like Node's default: Error.prototype.toString of the
// error, then "\n    at " + each V8 CallSite's own toString(). Frames of other files, and
// programs that install their own Error.prepareStackTrace, are left as they are.

import { findSourceMap, type SourceMap } from 'node:module';
import { RECALL_MAP_MARKER } from '../instrument/markers.js';

const maps = new Map<string, SourceMap | null>();

function recallMapFor(file: string): SourceMap | null {
  let map = maps.get(file);
  if (map !== undefined) return map;
  map = null;
  try {
    const found = findSourceMap(file);
    if (found && (found.payload as unknown as Record<string, unknown>)[RECALL_MAP_MARKER] === true) map = found;
  } catch {
    // no map: leave the frame as V8 wrote it
  }
  maps.set(file, map);
  return map;
}

function formatCallSite(site: NodeJS.CallSite): string {
  const text = String(site);
  const file = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (!file || line === null || column === null) return text;
  const map = recallMapFor(file);
  if (!map) return text;
  const entry = map.findEntry(line - 1, column - 1) as { originalLine?: number; originalColumn?: number };
  if (entry.originalLine === undefined || entry.originalColumn === undefined) return text;
  const position = `${file}:${line}:${column}`;
  const at = text.lastIndexOf(position);
  if (at < 0) return text;
  return `${text.slice(0, at)}${file}:${entry.originalLine + 1}:${entry.originalColumn + 1}${text.slice(at + position.length)}`;
}

function errorHeader(error: unknown): string {
  try {
    return Error.prototype.toString.call(error);
  } catch {
    return '<error>';
  }
}

export function installStackTraceMapping(): void {
  // Node 20.x exposes its own default as Error.prepareStackTrace; anything else was put there
  // by a --require'd module of the program's, and stays in charge.
  const current = Error.prepareStackTrace;
  if (current !== undefined && current.name !== 'ErrorPrepareStackTrace') return;
  Error.prepareStackTrace = function prepareStackTrace(error: Error, sites: NodeJS.CallSite[]): string {
    const header = errorHeader(error);
    if (sites.length === 0) return header;
    return `${header}\n    at ${sites.map(formatCallSite).join('\n    at ')}`;
  };
}

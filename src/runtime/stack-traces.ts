// Keeps Error.stack in instrumented code identical to an untraced run. The probes shift columns
// on lines where they are inserted; this maps each stack frame of an instrumented file back
// through the source map recall wrote — inline (module.findSourceMap, which --enable-source-maps
// provides), or, for large modules, out of line in the transform cache, decoded only when a
// frame of that module is first formatted — and otherwise formats exactly like Node's default:
// Error.prototype.toString of the error, then "\n    at " + each V8 CallSite's own toString().
// Frames of other files, and programs that install their own Error.prepareStackTrace, are left
// as they are, except the frames of recall's runtime wrappers (hideFramesOf: the scheduling
// wrapper around a timer callback, ...), which are left out, and the frame a hidden wrapper
// called, which is named as it would have been had Node called it (`Timeout._onTimeout`).

import { createRequire, findSourceMap } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mapPath } from '../instrument/cache.js';
import { RECALL_MAP_MARKER, RECALL_MAP_SPARSE } from '../instrument/markers.js';
import { loadingOwn } from '../instrument/own-files.js';

/** Original 1-based line and column for a generated one, or null. */
type Mapper = (line: number, column: number) => { line: number; column: number } | null;

const mappers = new Map<string, Mapper | null>();
/** Modules whose map is out of line: file (path and URL) → transform-cache key. */
const externalMaps = new Map<string, string>();
let cacheDir: string | null = null;

/** Called when an instrumented module registers with an out-of-line map. */
export function noteExternalMap(path: string, key: string): void {
  externalMaps.set(path, key);
  externalMaps.set(pathToFileURL(path).href, key);
}

function inlineMapper(file: string): Mapper | null {
  const found = findSourceMap(file);
  if (!found || (found.payload as unknown as Record<string, unknown>)[RECALL_MAP_MARKER] !== true) return null;
  return (line, column) => {
    const entry = found.findEntry(line - 1, column - 1) as { originalLine?: number; originalColumn?: number };
    if (entry.originalLine === undefined || entry.originalColumn === undefined) return null;
    return { line: entry.originalLine + 1, column: entry.originalColumn + 1 };
  };
}

function externalMapper(file: string): Mapper | null {
  const key = externalMaps.get(file);
  if (key === undefined || cacheDir === null) return null;
  const traceMapping = loadingOwn(() => createRequire(import.meta.url)('@jridgewell/trace-mapping') as typeof import('@jridgewell/trace-mapping'));
  const text = readFileSync(mapPath(cacheDir, key), 'utf8');
  const map = new traceMapping.TraceMap(text);
  if (text.includes(`"${RECALL_MAP_MARKER}":"${RECALL_MAP_SPARSE}"`)) {
    return (line, column) => {
      const segment = traceMapping.traceSegment(map, line - 1, column - 1);
      if (segment === null || segment.length < 4) return null;
      const [generatedColumn, , originalLine, originalColumn] = segment as [number, number, number, number];
      return { line: originalLine + 1, column: originalColumn + (column - 1 - generatedColumn) + 1 };
    };
  }
  return (line, column) => {
    const original = traceMapping.originalPositionFor(map, { line, column: column - 1 });
    if (original.line === null || original.column === null) return null;
    return { line: original.line, column: original.column + 1 };
  };
}

function mapperFor(file: string): Mapper | null {
  let mapper = mappers.get(file);
  if (mapper !== undefined) return mapper;
  try {
    mapper = inlineMapper(file) ?? externalMapper(file);
  } catch {
    mapper = null; // no usable map: leave the frame as V8 wrote it
  }
  mappers.set(file, mapper);
  return mapper;
}

/** Files (URLs or paths) whose frames Error.stack does not show: recall's runtime wrappers. */
const hiddenFiles = new Set<string>();

/**
 * Hide the frames of `file` (a module's import.meta.url). V8 names an ES module's frames by URL
 * and a CommonJS module's by path (the preload runs from a CommonJS bundle): both are kept.
 */
export function hideFramesOf(file: string): void {
  hiddenFiles.add(file);
  if (file.startsWith('file:')) hiddenFiles.add(fileURLToPath(file));
}

function hidden(site: NodeJS.CallSite): boolean {
  const file = site.getFileName();
  return file !== null && file !== undefined && hiddenFiles.has(file);
}

/**
 * The text V8 gives a method call's frame (messages.cc AppendMethodCall), for a frame that a
 * hidden wrapper called in place of Node: named by the property Node called (the wrapper's).
 */
function asCalledBy(site: NodeJS.CallSite, wrapper: NodeJS.CallSite): string | null {
  const method = wrapper.getMethodName();
  const type = site.getTypeName();
  if (!method || !type || site.getMethodName() || site.isConstructor() || site.isToplevel() || site.isAsync() || type !== wrapper.getTypeName()) return null;
  const file = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (!file || line === null || column === null) return null;
  const name = site.getFunctionName();
  let text: string;
  if (name) {
    text = (name.startsWith(type) ? '' : `${type}.`) + name;
    if (name !== method && !name.endsWith(`.${method}`)) text += ` [as ${method}]`;
  } else text = `${type}.${method}`;
  return `${text} (${file}:${line}:${column})`;
}

function formatCallSite(site: NodeJS.CallSite, asText?: string): string {
  const text = asText ?? String(site);
  const file = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (!file || line === null || column === null) return text;
  const original = mapperFor(file)?.(line, column);
  if (!original) return text;
  const position = `${file}:${line}:${column}`;
  const at = text.lastIndexOf(position);
  if (at < 0) return text;
  return `${text.slice(0, at)}${file}:${original.line}:${original.column}${text.slice(at + position.length)}`;
}

function errorHeader(error: unknown): string {
  try {
    return Error.prototype.toString.call(error);
  } catch {
    return '<error>';
  }
}

export function installStackTraceMapping(transformCacheDir: string | null): void {
  cacheDir = transformCacheDir;
  // Node 20.x exposes its own default as Error.prepareStackTrace; anything else was put there
  // by a --require'd module of the program's, and stays in charge.
  const current = Error.prepareStackTrace;
  if (current !== undefined && current.name !== 'ErrorPrepareStackTrace') return;
  Error.prepareStackTrace = function prepareStackTrace(error: Error, sites: NodeJS.CallSite[]): string {
    const header = errorHeader(error);
    if (sites.length === 0) return header;
    if (hiddenFiles.size === 0) return `${header}\n    at ${sites.map((site) => formatCallSite(site)).join('\n    at ')}`;
    const lines: string[] = [];
    for (let i = 0; i < sites.length; i++) {
      const site = sites[i] as NodeJS.CallSite;
      if (hidden(site)) continue;
      const next = sites[i + 1];
      lines.push(formatCallSite(site, next !== undefined && hidden(next) ? (asCalledBy(site, next) ?? undefined) : undefined));
    }
    return lines.length === 0 ? header : `${header}\n    at ${lines.join('\n    at ')}`;
  };
}

// The viewer's source excerpt: a few lines around a line of a source file, for the details pane.
// Only the files the trace's function table names can be read (compared as the table spells
// them, so no path the request makes up, no `..`, no link outside, reaches anything else), and
// only a bounded excerpt of one; a file that is gone or changed since says so.

import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecallError } from '../format/errors.js';
import type { QueryTrace } from '../query/open.js';

/** Lines shown before and after the line asked for. */
const AROUND = 4;
/** Bytes of a file read at most (an excerpt beyond them is refused). */
const MAX_BYTES = 8 * 1024 * 1024;
/** Characters of a line shown at most. */
const LINE_CHARS = 240;

const namedFiles = new WeakMap<QueryTrace, Set<string>>();

function filesOf(q: QueryTrace): Set<string> {
  let files = namedFiles.get(q);
  if (!files) {
    files = new Set();
    for (const entry of q.engine.functions.values()) if (entry.file) files.add(entry.file);
    namedFiles.set(q, files);
  }
  return files;
}

export interface SourceExcerpt {
  file: string;
  line: number;
  /** The first line shown (1-based) and the lines from it. */
  from: number;
  lines: string[];
}

/** Lines around `line` of `file`, which must be a file the trace's function table names. */
export function sourceExcerpt(q: QueryTrace, file: string, line: number): SourceExcerpt {
  if (!filesOf(q).has(file)) throw new RecallError('E_OUTSIDE_ROOT', `source: ${file} is not a file of this trace's functions; only those are served`);
  if (!Number.isInteger(line) || line < 1) throw new RecallError('E_USAGE', `source: 'line' must be a line number from 1, not ${line}`);
  // As the table names it: a file: URL, an absolute path, or a path relative to where the program ran.
  const named = file.startsWith('file:') ? fileURLToPath(file) : file;
  const path = isAbsolute(named) ? named : resolve(q.manifest.cwd, named);
  let text: string;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    throw new RecallError('E_TRACE_UNREADABLE', `source: ${file} cannot be read now (moved or deleted since the recording?)`);
  }
  try {
    const size = Math.min(fstatSync(fd).size, MAX_BYTES);
    const buffer = Buffer.alloc(size);
    const read = readSync(fd, buffer, 0, size, 0);
    text = buffer.toString('utf8', 0, read);
  } finally {
    closeSync(fd);
  }
  const all = text.split(/\r?\n/);
  if (line > all.length) throw new RecallError('E_TRACE_UNREADABLE', `source: ${file} has ${all.length} lines now, not ${line} (changed since the recording?)`);
  const from = Math.max(1, line - AROUND);
  const to = Math.min(all.length, line + AROUND);
  const lines = all.slice(from - 1, to).map((l) => (l.length > LINE_CHARS ? l.slice(0, LINE_CHARS) + '…' : l));
  return { file, line, from, lines };
}

// The viewer's ids across the processes of a trace. A call of the viewer's first process (the
// root, or the one `--process` picked) keeps the engine's id, `c<thread>.<position>` (query/
// ids.ts), so a link from an MCP answer about that process opens the same call; a call of any
// other process is qualified by its pid after `@`: `c0.123@4567` (thread 0 of process 4567, the
// call that began at its event 123). Exceptions the same way: `x3` or `x3@4567`. No Node-only
// imports: the web app's URLs hold these ids.

import { RecallError } from '../format/errors.js';

export interface QualifiedId {
  /** The engine's id within its process. */
  id: string;
  /** The process (null: the viewer's first process). */
  pid: number | null;
}

/** The viewer's id of an engine id of process `pid` (null: the first process: unqualified). */
export function qualify(id: string, pid: number | null): string {
  return pid === null ? id : `${id}@${pid}`;
}

export function unqualify(id: string): QualifiedId {
  const at = id.lastIndexOf('@');
  if (at < 0) return { id: id.trim(), pid: null };
  const pid = Number(id.slice(at + 1));
  if (!Number.isInteger(pid) || pid <= 0) throw new RecallError('E_USAGE', `'${id}' is not a call id: after '@' comes a process's pid (c0.123@4567)`);
  return { id: id.slice(0, at).trim(), pid };
}
